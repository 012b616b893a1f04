#!/usr/bin/env bash
# Runs tests/c/test_behaviour.c's program under two emulators, one inside the
# other, in two passes:
#
#   plain: outer emulator (plain http, TEAMSOP_OTHER_URL) around an inner plain
#          emulator (TEAMSOP_EMULATOR_URL, the client's Graph host) loaded with
#          tests/c/behaviour-scenarios.json
#   TLS:   the same outer plain emulator around an inner --tls one, loaded with
#          tests/c/behaviour-scenarios-tls.json, in which @TEAMSOP_OTHER_URL@ is
#          replaced by the outer emulator's URL (the target of the https -> http
#          redirect, only known once the outer one listens)
#
#   tests/c/run-behaviour.sh [--plain-only | --tls-only] [--wrap 'CMD ARGS'] BIN [NAME...]
#
# NAME... are test names (BIN --list lists them), passed on to each pass: a pass
# runs those of them it has (and test_warm_up).
# --wrap runs the program under a command, e.g.
#   --wrap 'valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99'
# Run from anywhere; BIN is taken relative to the current directory. Exits 0
# when every pass ran and passed, non-zero otherwise (all passes run).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
self="$root/tests/c/run-behaviour.sh"

# Internal: the part that runs under the outer emulator.
if [ "${1:-}" = "--stage" ]; then
  pass=$2
  shift 2
  : "${TEAMSOP_EMULATOR_URL:?--stage runs under scripts/with-emulator.sh}"
  export TEAMSOP_OTHER_URL="$TEAMSOP_EMULATOR_URL"
  unset TEAMSOP_CA_FILE
  cd "$root"
  if [ "$pass" = tls ]; then
    scenarios=$(mktemp)
    trap 'rm -f "$scenarios"' EXIT
    sed "s|@TEAMSOP_OTHER_URL@|$TEAMSOP_OTHER_URL|g" tests/c/behaviour-scenarios-tls.json >"$scenarios"
    scripts/with-emulator.sh --tls --scenarios "$scenarios" -- "$@"
  else
    scripts/with-emulator.sh --scenarios tests/c/behaviour-scenarios.json -- "$@"
  fi
  exit
fi

passes=(plain tls)
wrap=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --plain-only) passes=(plain); shift ;;
    --tls-only) passes=(tls); shift ;;
    --wrap) read -r -a wrap <<<"$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "run-behaviour.sh: unknown option $1" >&2; exit 64 ;;
    *) break ;;
  esac
done
[ "$#" -ge 1 ] || { echo "usage: run-behaviour.sh [--plain-only|--tls-only] [--wrap 'CMD'] BIN [NAME...]" >&2; exit 64; }
bin=$1
shift
names=("$@")
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "run-behaviour.sh: $bin is not built" >&2; exit 1; }

unset TEAMSOP_CA_FILE TEAMSOP_OTHER_URL
cd "$root"
failed=()
for pass in "${passes[@]}"; do
  echo "run-behaviour.sh: $pass pass"
  if ! scripts/with-emulator.sh -- "$self" --stage "$pass" "${wrap[@]}" "$bin" "${names[@]}"; then
    failed+=("$pass")
  fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "run-behaviour.sh: FAILED: ${failed[*]} pass" >&2
  exit 1
fi
echo "run-behaviour.sh: all passes passed (${passes[*]})"
