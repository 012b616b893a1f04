#!/usr/bin/env bash
# How the .NET binding finds libteamsop, with the example TeamsOpGet.exe copied
# into a directory of its own with TeamsOp.dll and TeamsOp.dll.config, as an
# application ships, and no LD_LIBRARY_PATH:
#
#   1. libteamsop.so (what a build produces) copied next to the exe: it loads
#      (the dllmap asks for libteamsop.so.0; the binding preloads the file), and
#      a GET against the emulator works;
#   2. no library anywhere: exit status 69 and one line on stderr saying where
#      the library was looked for, no stack trace, nothing on stdout.
#
#   bindings/dotnet/tests/loading.sh OUT_DIR LIBTEAMSOP_SO
#
# OUT_DIR holds the built TeamsOp.dll, TeamsOp.dll.config and TeamsOpGet.exe
# (make dotnet). Run from the repository root; needs mono and the emulator
# (scripts/with-emulator.sh). Exits 1 on any failure.
set -euo pipefail

[ "$#" -eq 2 ] || { echo "usage: $0 OUT_DIR LIBTEAMSOP_SO" >&2; exit 64; }
out=$1 lib=$2
mono=${MONO:-mono}
app=$out/alone
rm -rf "$app"
mkdir -p "$app"
cp "$out/TeamsOp.dll" "$out/TeamsOp.dll.config" "$out/TeamsOpGet.exe" "$app/"
app=$(cd "$app" && pwd)
failures=0
fail() { echo "dotnet loading: FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. The library next to the application.
cp "$lib" "$app/libteamsop.so"
if result=$(scripts/with-emulator.sh -- env -u LD_LIBRARY_PATH "$mono" "$app/TeamsOpGet.exe" \
  --chat '19:c253a29b5f694b55a6baad8e83510af7@thread.v2' \
  --operation '2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4' 2>&1); then
  if printf '%s\n' "$result" | grep -qx 'status                   succeeded'; then
    echo "dotnet loading: libteamsop.so next to TeamsOpGet.exe, no LD_LIBRARY_PATH: loaded, GET ok"
  else
    fail "libteamsop.so next to the exe: unexpected output:"; printf '  | %s\n' "$result" >&2
  fi
else
  fail "libteamsop.so next to the exe: TeamsOpGet.exe failed:"; printf '  | %s\n' "$result" >&2
fi
rm "$app/libteamsop.so"

# 2. No library anywhere (unless this machine has one installed for the loader).
if grep -q 'libteamsop\.so' <<<"$(/sbin/ldconfig -p 2>/dev/null)"; then
  echo "dotnet loading: a libteamsop is in the ldconfig cache: the no-library case is skipped"
else
  status=0
  env -u LD_LIBRARY_PATH TEAMSOP_TOKEN=t "$mono" "$app/TeamsOpGet.exe" --version \
    >"$app/stdout" 2>"$app/stderr" || status=$?
  want="TeamsOpGet: libteamsop was not found: looked for libteamsop.so.0 and libteamsop.so in $app and through the dynamic loader (LD_LIBRARY_PATH, the ldconfig cache); copy libteamsop.so next to the application, or set LD_LIBRARY_PATH to the directory that holds it"
  [ "$status" -eq 69 ] || fail "no library: exit status $status, expected 69"
  [ ! -s "$app/stdout" ] || fail "no library: something on stdout"
  [ "$(cat "$app/stderr")" = "$want" ] || {
    fail "no library: stderr is not the one line expected:"; sed 's/^/  | /' "$app/stderr" >&2; }
  [ "$failures" -ne 0 ] || echo "dotnet loading: no library: exit 69 and one line: $(head -c 80 "$app/stderr")..."
fi

[ "$failures" -eq 0 ] || exit 1
echo "dotnet loading: passed"
