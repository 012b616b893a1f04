#!/usr/bin/env bash
# Runs a command while a fresh teamsop-emulator listens on loopback, then stops it.
#
#   scripts/with-emulator.sh [--tls] [--scenarios FILE] [--no-record] [--workers N] -- COMMAND [ARGS...]
#
# The command sees:
#   TEAMSOP_EMULATOR_URL  http(s)://127.0.0.1:PORT
#   TEAMSOP_BASE_URL      $TEAMSOP_EMULATOR_URL/beta
#   TEAMSOP_TOKEN         the token the emulator accepts
#   TEAMSOP_CA_FILE       the emulator's CA certificate (with --tls)
# The emulator binary is $TEAMSOP_EMULATOR, or teamsop-emulator in the debug
# directory of cargo's target directory (target/, or CARGO_TARGET_DIR, as cargo
# says), or in its release directory when only that one is built (`make release`).
set -euo pipefail

# cargo's target directory for this repository (see TARGET_DIR in the Makefile).
cargo_target_dir() {
  local root dir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  dir=$("${CARGO:-cargo}" metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" 2>/dev/null |
    sed -n 's/.*"target_directory":"\([^"\\]*\)".*/\1/p') || true
  if [ -z "$dir" ]; then
    dir=${CARGO_TARGET_DIR:-$root/target}
  fi
  printf '%s\n' "$dir"
}

emulator=${TEAMSOP_EMULATOR:-}
if [ -z "$emulator" ]; then
  target_dir=$(cargo_target_dir)
  emulator=$target_dir/debug/teamsop-emulator
  if [ ! -x "$emulator" ] && [ -x "$target_dir/release/teamsop-emulator" ]; then
    emulator=$target_dir/release/teamsop-emulator
  fi
fi
token=${TEAMSOP_EMULATOR_TOKEN:-emulator-token}
args=()
tls=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tls) tls=1; shift ;;
    --scenarios) args+=(--scenarios "$2"); shift 2 ;;
    --no-record) args+=(--no-record); shift ;;
    --progress-polls) args+=(--progress-polls "$2"); shift 2 ;;
    --workers) args+=(--workers "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "with-emulator.sh: unknown option $1" >&2; exit 64 ;;
  esac
done
[ "$#" -gt 0 ] || { echo "with-emulator.sh: no command given" >&2; exit 64; }
[ -x "$emulator" ] || { echo "with-emulator.sh: $emulator is not built (make build)" >&2; exit 1; }

work=$(mktemp -d)
if [ "$tls" = 1 ]; then
  args+=(--tls --ca-out "$work/ca.pem")
fi
"$emulator" --port 0 --port-file "$work/port" --token "$token" "${args[@]}" >"$work/emulator.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 200); do
  [ -s "$work/port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
  sleep 0.05
done
[ -s "$work/port" ] || { echo "with-emulator.sh: the emulator did not start" >&2; cat "$work/emulator.log" >&2; exit 1; }

port=$(tr -d '[:space:]' <"$work/port")
scheme=http
[ "$tls" = 1 ] && scheme=https
export TEAMSOP_EMULATOR_URL="$scheme://127.0.0.1:$port"
export TEAMSOP_BASE_URL="$TEAMSOP_EMULATOR_URL/beta"
export TEAMSOP_TOKEN="$token"
[ "$tls" = 1 ] && export TEAMSOP_CA_FILE="$work/ca.pem"

set +e
"$@"
status=$?
set -e
exit "$status"
