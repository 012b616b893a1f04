#!/usr/bin/env bash
# Tests the teamsop-get command line tool against the Graph emulator: its output,
# its exit statuses (the table of --help), its usage errors, --json (the body, and
# the error object of a failed call, checked with python3's json module), --help,
# --wait-all (its JSON lines, checked the same way).
#
#   scripts/with-emulator.sh --scenarios tests/c/teamsop-get-scenarios.json -- \
#     tests/c/teamsop-get.sh out/teamsop-get
#
# Needs TEAMSOP_BASE_URL and TEAMSOP_TOKEN (and TEAMSOP_CA_FILE with --tls), as
# exported by scripts/with-emulator.sh, and the scenarios above. Prints a
# summary; exits 1 on any failure.
set -uo pipefail

cli=${1:-}
if [ -z "$cli" ] || [ ! -x "$cli" ]; then
  echo "usage: $0 PATH/TO/teamsop-get (run under scripts/with-emulator.sh)" >&2
  exit 2
fi
: "${TEAMSOP_BASE_URL:?run under scripts/with-emulator.sh}"
: "${TEAMSOP_TOKEN:?run under scripts/with-emulator.sh}"
: "${TEAMSOP_EMULATOR_URL:?run under scripts/with-emulator.sh}"

root=$(cd "$(dirname "$0")/../.." && pwd)
fixture="$root/tests/fixtures/seed-operation.json"
[ -r "$fixture" ] || { echo "$0: cannot read $fixture" >&2; exit 2; }

SEED_CHAT='19:c253a29b5f694b55a6baad8e83510af7@thread.v2'
SEED_OP='2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4'
TEAM='8b081ef6-4792-4def-b2c9-c363a1bf41d5'
WRONG_TOKEN='sekret-wrong-token-123'

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/out"
err="$work/err"
: >"$work/all-output"

# The emulator's base URL, and its CA over https.
target=(--base-url "$TEAMSOP_BASE_URL")
if [ -n "${TEAMSOP_CA_FILE:-}" ]; then
  target+=(--ca-file "$TEAMSOP_CA_FILE")
fi

checks=0
failures=0
current=""

pass() { checks=$((checks + 1)); }
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL [$current]: $*" >&2
  echo "  stdout:" >&2; sed 's/^/    | /' "$out" | head -20 >&2
  echo "  stderr:" >&2; sed 's/^/    | /' "$err" | head -20 >&2
}

# run NAME EXPECTED_STATUS COMMAND... : runs it, stdout to $out, stderr to $err.
run() {
  current=$1
  local want=$2
  shift 2
  "$@" >"$out" 2>"$err" </dev/null
  local status=$?
  cat "$out" "$err" >>"$work/all-output"
  if [ "$status" -eq "$want" ]; then pass; else fail "exit status $status, expected $want"; fi
}

# A line of the table: label padded to 24 columns, a space, the value.
row() { printf '%-24s %s' "$1" "$2"; }
expect_row() {
  local line
  line=$(row "$1" "$2")
  if grep -Fxq -- "$line" "$out"; then pass; else fail "no stdout line '$line'"; fi
}
expect_stdout_has() { if grep -Fq -- "$1" "$out"; then pass; else fail "stdout lacks '$1'"; fi; }
expect_stdout_line() { if grep -Fxq -- "$1" "$out"; then pass; else fail "no stdout line '$1'"; fi; }
expect_stderr_is() {
  if [ "$(cat "$err")" = "$1" ]; then pass; else fail "stderr is not exactly: $1"; fi
}
expect_stderr_has() { if grep -Fq -- "$1" "$err"; then pass; else fail "stderr lacks '$1'"; fi; }
expect_stdout_empty() { if [ ! -s "$out" ]; then pass; else fail "stdout is not empty"; fi; }
expect_stderr_empty() { if [ ! -s "$err" ]; then pass; else fail "stderr is not empty"; fi; }
expect_stdout_empty() { if [ ! -s "$out" ]; then pass; else fail "stdout is not empty"; fi; }

# ---------------------------------------------------------------- the seed, as a table
run "table" 0 "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row id "$SEED_OP"
expect_row status succeeded
expect_row operationType createChat
expect_row createdDateTime '2021-05-27T21:23:41.9085453Z (unix ms 1622150621908)'
expect_row lastActionDateTime '2021-05-27T21:23:45.1899277Z (unix ms 1622150625189)'
expect_row attemptsCount 1
expect_row targetResourceId "$SEED_CHAT"
expect_row targetResourceLocation "/chats('$SEED_CHAT')"
expect_row values '{"appIds":["1542629c-01b3-4a6d-8f76-1938b779e48d"]}'
expect_row error -
expect_stderr_empty
cp "$out" "$work/table"

# ---------------------------------------------------------------- --json: the body as received
run "json" 0 "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP" --json
{ cat "$fixture"; echo; } >"$work/fixture-nl"
if cmp -s "$out" "$fixture" || cmp -s "$out" "$work/fixture-nl"; then
  pass
else
  fail "stdout is not the fixture's bytes"
  diff <(cat "$fixture") "$out" | head -10 >&2
fi

# ---------------------------------------------------------------- --location
run "location quoted" 0 "$cli" "${target[@]}" --location "/chats('$SEED_CHAT')/operations('$SEED_OP')"
if cmp -s "$out" "$work/table"; then pass; else fail "not the same table as --chat/--operation"; fi
run "location path form" 0 "$cli" "${target[@]}" --location "/beta/chats/$SEED_CHAT/operations/$SEED_OP"
expect_row status succeeded
run "location absolute" 0 "$cli" "${target[@]}" \
  --location "$TEAMSOP_EMULATOR_URL/beta/teams('$TEAM')/operations('create-succeeded')"
expect_row id create-succeeded
expect_row operationType createTeam
expect_row targetResourceId "$TEAM"
run "location refused" 1 "$cli" "${target[@]}" --location "/users/x/operations/y"
expect_stderr_has TEAMSOP_ERR_INVALID_ARGUMENT
expect_stdout_empty
run "location on another host" 1 "$cli" "${target[@]}" \
  --location "http://evil.example/beta/chats/a/operations/b"
expect_stderr_has TEAMSOP_ERR_INVALID_ARGUMENT

# ---------------------------------------------------------------- team operations
# A failed operation exits 20 whether it was read by one GET or waited for.
run "team failed" 20 "$cli" "${target[@]}" --team "$TEAM" --operation archive-failed
expect_row status failed
expect_row operationType archiveTeam
expect_row error 'Conflict: The team is already archived.'
run "team failed, json" 20 "$cli" "${target[@]}" --team "$TEAM" --operation archive-failed --json
expect_stdout_has '"status":"failed"'
run "location failed" 20 "$cli" "${target[@]}" --location "/teams('$TEAM')/operations('archive-failed')"
expect_row status failed
# An invalid operation ended without succeeding too.
run "team invalid" 20 "$cli" "${target[@]}" --team cli-team --operation ended-invalid
expect_row status invalid
run "wait invalid" 20 "$cli" "${target[@]}" --location "/teams('cli-team')/operations('ended-invalid')" \
  --wait 10 --poll-ms 10
expect_row status invalid
run "team in progress" 0 "$cli" "${target[@]}" --team "$TEAM" --operation clone-in-progress
expect_row status inProgress
expect_row targetResourceId -
run "team succeeded" 0 "$cli" "${target[@]}" --team "$TEAM" --operation create-succeeded
expect_row status succeeded

# ---------------------------------------------------------------- --select
run "select" 0 "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP" --select status,error
expect_row id -
expect_row status succeeded
expect_row operationType -
expect_row attemptsCount -
run "select refused" 1 "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP" --select 'a b'
expect_stderr_has TEAMSOP_ERR_INVALID_ARGUMENT

# ---------------------------------------------------------------- --wait
run "wait failed" 20 "$cli" "${target[@]}" --location "/teams('$TEAM')/operations('archive-failed')" \
  --wait 10 --poll-ms 50
expect_row status failed
expect_stderr_has "poll 1: status=failed"
run "wait quiet" 20 "$cli" "${target[@]}" --location "/teams('$TEAM')/operations('archive-failed')" \
  --wait 10 --poll-ms 50 --quiet
expect_stderr_empty
if [[ "$TEAMSOP_EMULATOR_URL" == http://* ]]; then
  # A new operation from POST /beta/teams (bash's /dev/tcp: no other HTTP client needed).
  current="POST /beta/teams"
  hostport=${TEAMSOP_EMULATOR_URL#http://}
  location=""
  if exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"; then
    printf 'POST /beta/teams HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' \
      "$hostport" "$TEAMSOP_TOKEN" >&3
    location=$(tr -d '\r' <&3 | sed -n 's/^[Ll]ocation: //p')
    exec 3<&-
  fi
  if [ -n "$location" ]; then pass; else fail "no Location from POST /beta/teams"; fi
  run "wait created" 0 "$cli" "${target[@]}" --location "$location" --wait 10 --poll-ms 50
  expect_row status succeeded
  expect_row operationType createTeam
  expect_stderr_has "poll 1: status=notStarted"
  expect_stderr_has "poll 2: status=inProgress"
  expect_stderr_has "poll 3: status=succeeded"
  expect_stderr_has "done after 3 poll(s): succeeded"
fi
run "wait not found" 6 "$cli" "${target[@]}" --location "/teams('$TEAM')/operations('nope')" \
  --wait 1 --poll-ms 50 --quiet
expect_stderr_has TEAMSOP_ERR_NOT_FOUND

# ---------------------------------------------------------------- the base URL
# TEAMSOP_BASE_URL is the default; --base-url wins over it.
ca=()
if [ -n "${TEAMSOP_CA_FILE:-}" ]; then ca=(--ca-file "$TEAMSOP_CA_FILE"); fi
run "TEAMSOP_BASE_URL" 0 "$cli" "${ca[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded
run "--base-url wins over TEAMSOP_BASE_URL" 0 env TEAMSOP_BASE_URL=http://evil.example/beta \
  "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded
run "TEAMSOP_BASE_URL refused" 1 env TEAMSOP_BASE_URL=http://evil.example/beta \
  "$cli" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "TEAMSOP_BASE_URL failed: TEAMSOP_ERR_INVALID_ARGUMENT"
run "value after =" 0 "$cli" "--base-url=$TEAMSOP_BASE_URL" "${ca[@]}" "--chat=$SEED_CHAT" \
  --operation="$SEED_OP" --select=status
expect_row status succeeded
expect_row id -

# ---------------------------------------------------------------- failures
run "unknown operation" 6 "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation no-such-operation
expect_stdout_empty
expect_stderr_has TEAMSOP_ERR_NOT_FOUND
expect_stderr_has "graph code:        NotFound"
expect_stderr_has "http status:       404"
expect_stderr_has "request-id:"
expect_stderr_has "client-request-id:"
run "forbidden" 5 "$cli" "${target[@]}" --team forbidden --operation x
expect_stderr_has "graph code:        Forbidden"
run "wrong token" 4 env TEAMSOP_TOKEN="$WRONG_TOKEN" "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has TEAMSOP_ERR_UNAUTHORIZED
expect_stderr_has "graph code:        InvalidAuthenticationToken"
run "base URL refused" 1 "$cli" --base-url http://evil.example/beta --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has TEAMSOP_ERR_INVALID_ARGUMENT
run "token with a newline" 1 env TEAMSOP_TOKEN="$WRONG_TOKEN
x" "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stdout_empty

# ---------------------------------------------------------------- --json on failure
# json_check FILE PYTHON_EXPRESSION...: stdout must be one JSON object with exactly
# the error's keys; each expression (over `e`, the inner object) must hold.
json_check() {
  local file=$1
  shift
  local problem
  if problem=$(python3 - "$file" "$@" <<'PY'
import json, sys
text = open(sys.argv[1], "rb").read()
try:
    doc = json.loads(text.decode("utf-8"))
except Exception as exc:  # not UTF-8, or not JSON
    print("not JSON: %s: %r" % (exc, text[:200]))
    sys.exit(1)
if not isinstance(doc, dict) or list(doc) != ["error"]:
    print("not {\"error\": {...}}: %r" % doc)
    sys.exit(1)
e = doc["error"]
keys = ["result", "message", "httpStatus", "graphCode", "requestId", "clientRequestId"]
if list(e) != keys:
    print("keys %r, expected %r" % (list(e), keys))
    sys.exit(1)
for expr in sys.argv[2:]:
    if not eval(expr, {"e": e}):
        print("does not hold: %s (error %r)" % (expr, e))
        sys.exit(1)
PY
  ); then pass; else fail "--json: $problem"; fi
}
# The raw value of a "  label: value" line of stderr.
stderr_field() { sed -n "s/^  $1: *//p" "$err"; }

run "json: not found" 6 "$cli" "${target[@]}" --chat no-such-chat --operation o --json
sed -n '1s/^teamsop-get: GET chat operation failed: TEAMSOP_ERR_NOT_FOUND: //p' "$err" | tr -d '\n' >"$work/message"
json_check "$out" 'e["result"] == "TEAMSOP_ERR_NOT_FOUND"' 'e["httpStatus"] == 404' \
  'e["graphCode"] == "NotFound"' "e['requestId'] == '$(stderr_field request-id)'" \
  "e['clientRequestId'] == '$(stderr_field client-request-id)'" \
  'len(e["requestId"]) == 36 and len(e["clientRequestId"]) == 36' \
  "e['message'] == open('$work/message', encoding='utf-8').read()"
expect_stderr_has "graph code:        NotFound"
run "json: no answer" 2 "$cli" --base-url http://127.0.0.1:1/beta --chat c --operation o --json
json_check "$out" 'e["result"] == "TEAMSOP_ERR_TRANSPORT"' 'e["httpStatus"] is None' \
  'e["graphCode"] is None' 'e["requestId"] is None'
run "json: 500 without a Graph body" 8 "$cli" "${target[@]}" --chat cli-500-no-code --operation o --json
json_check "$out" 'e["result"] == "TEAMSOP_ERR_HTTP"' 'e["httpStatus"] == 500' 'e["graphCode"] is None'
run "json: refused setting" 1 "$cli" --base-url http://evil.example/beta --chat c --operation o --json
json_check "$out" 'e["result"] == "TEAMSOP_ERR_INVALID_ARGUMENT"' 'e["httpStatus"] is None'
# Quotes, a backslash, control characters, DEL, non-ASCII: the JSON string must
# decode to exactly the bytes the library reported (stderr's raw line).
run "json: escaping" 6 "$cli" "${target[@]}" --chat cli-odd-error --operation o --json
raw_code=$(stderr_field "graph code")
case "$raw_code" in
  *'"'*'\'*$'\001'*$'\t'*é*) pass ;;
  *) fail "the library no longer reports the scenario's odd graph code ($raw_code): update this test" ;;
esac
printf '%s' "$raw_code" >"$work/raw-code"
json_check "$out" "e['graphCode'].encode('utf-8') == open('$work/raw-code', 'rb').read()" \
  'e["requestId"] == "0c0c0c0c-1111-2222-3333-444444444444"' \
  'e["clientRequestId"] is not None'
if grep -q $'\001\|\t\|\x7f' "$out"; then fail "a control character is raw in the JSON"; else pass; fi
run "json: usage error prints no JSON" 64 "$cli" --chat c --operation o --json --bogus
expect_stdout_empty

# ---------------------------------------------------------------- --wait-all
# Many operations at once, from a file or stdin: one JSON line per operation as it
# ends; 0 when all succeeded, 20 when one did not, the run's result (3) when time
# ran out, every line that is not blank or a comment answered exactly once.

# wait_all_check FILE EXPECTED_LINES PYTHON_EXPRESSION...: stdout must be one JSON
# object per line with the documented keys in order, each line number once; the
# expressions (over `by_line`, a dict from line number to object) must hold.
wait_all_check() {
  local file=$1 want=$2
  shift 2
  local problem
  if problem=$(python3 - "$file" "$want" "$@" <<'PY'
import json, sys
keys = ["line", "location", "result", "status", "id", "operationType", "targetResourceId",
        "targetResourceLocation", "operationError", "error", "pending", "elapsedMs"]
error_keys = ["result", "message", "httpStatus", "graphCode", "requestId", "clientRequestId"]
by_line = {}
for text in open(sys.argv[1], "rb").read().decode("utf-8").splitlines():
    doc = json.loads(text)
    if list(doc) != keys:
        print("keys %r, expected %r" % (list(doc), keys)); sys.exit(1)
    if doc["error"] is not None and list(doc["error"]) != error_keys:
        print("error keys %r" % list(doc["error"])); sys.exit(1)
    if (doc["result"] == "TEAMSOP_OK") != (doc["error"] is None):
        print("result and error disagree: %r" % doc); sys.exit(1)
    if doc["line"] in by_line:
        print("line %d answered twice" % doc["line"]); sys.exit(1)
    by_line[doc["line"]] = doc
if len(by_line) != int(sys.argv[2]):
    print("%d lines answered, expected %s: %r" % (len(by_line), sys.argv[2], sorted(by_line))); sys.exit(1)
for expr in sys.argv[3:]:
    if not eval(expr, {"by_line": by_line}):
        print("does not hold: %s (%r)" % (expr, by_line)); sys.exit(1)
PY
  ); then pass; else fail "--wait-all: $problem"; fi
}

printf '%s\r\n' "# operations of the emulator's team, CRLF lines" "" \
  "/teams('$TEAM')/operations('create-succeeded')" \
  "   /teams($TEAM)/operations(archive-failed)   " \
  "/teams('forbidden')/operations('o')" \
  "  # an indented comment" \
  "/nope('x')" \
  "/beta/teams/$TEAM/operations/create-succeeded" >"$work/locations"
run "wait-all" 20 "$cli" "${target[@]}" --wait-all "$work/locations" --rate 50 --poll-ms 50
wait_all_check "$out" 5 \
  'by_line[3]["result"] == "TEAMSOP_OK" and by_line[3]["status"] == "succeeded"' \
  'by_line[3]["location"] == "/teams('"'$TEAM'"')/operations('"'create-succeeded'"')"' \
  'by_line[3]["id"] == "create-succeeded" and by_line[3]["operationType"] == "createTeam"' \
  'by_line[3]["targetResourceId"] == "'"$TEAM"'" and by_line[3]["operationError"] is None' \
  'by_line[4]["location"] == "/teams('"$TEAM"')/operations(archive-failed)"' \
  'by_line[4]["status"] == "failed" and by_line[4]["operationError"]["code"] == "Conflict"' \
  'by_line[5]["result"] == "TEAMSOP_ERR_FORBIDDEN" and by_line[5]["error"]["httpStatus"] == 403' \
  'by_line[5]["error"]["graphCode"] == "Forbidden" and len(by_line[5]["error"]["requestId"]) == 36' \
  'by_line[7]["result"] == "TEAMSOP_ERR_INVALID_ARGUMENT" and by_line[7]["error"]["httpStatus"] is None' \
  'by_line[8]["status"] == "succeeded"' \
  'all(not d["pending"] and d["elapsedMs"] >= 0 for d in by_line.values())'
expect_stderr_has "4 operation(s) from $work/locations, at most 50 GETs/s"
expect_stderr_has "0 pending, 5 ended (2 succeeded, 3 did not), "
run "wait-all from stdin, all succeeded" 0 sh -c \
  "printf '%s\n' \"/teams('$TEAM')/operations('create-succeeded')\" \"/teams('$TEAM')/operations('create-succeeded')\" | \
   \"\$0\" \"\$@\"" "$cli" "${target[@]}" --wait-all - --quiet --no-batching
wait_all_check "$out" 2 'sorted(by_line) == [1, 2]' \
  'all(d["status"] == "succeeded" for d in by_line.values())'
expect_stderr_empty
printf '%s\n' "/teams('$TEAM')/operations('clone-in-progress')" \
  "/teams('$TEAM')/operations('create-succeeded')" >"$work/never-ends"
run "wait-all out of time" 3 "$cli" "${target[@]}" --wait-all "$work/never-ends" --wait 1 --poll-ms 100
wait_all_check "$out" 2 'by_line[2]["status"] == "succeeded" and not by_line[2]["pending"]' \
  'by_line[1]["pending"] and by_line[1]["result"] == "TEAMSOP_ERR_TIMEOUT"' \
  'by_line[1]["status"] is None and by_line[1]["error"]["result"] == "TEAMSOP_ERR_TIMEOUT"'
expect_stderr_has "the run stopped with 1 operation(s) pending: TEAMSOP_ERR_TIMEOUT"
printf '# nothing to follow\n\n' >"$work/empty"
run "wait-all, no Location" 0 "$cli" "${target[@]}" --wait-all "$work/empty" --quiet
expect_stdout_empty
run "wait-all, no such file" 64 "$cli" "${target[@]}" --wait-all "$work/no-such-file"
expect_stderr_has "cannot read $work/no-such-file"
expect_stdout_empty
run "wait-all with --chat" 64 "$cli" "${target[@]}" --wait-all "$work/empty" --chat a --operation b
run "wait-all with --json" 64 "$cli" "${target[@]}" --wait-all "$work/empty" --json
run "wait-all, empty name" 64 "$cli" "${target[@]}" --wait-all ""
run "rate without wait-all" 64 "$cli" "${target[@]}" --chat a --operation b --rate 5
expect_stderr_has "--rate and --no-batching go with --wait-all"
run "no-batching without wait-all" 64 "$cli" "${target[@]}" --location "/teams('a')/operations('b')" --no-batching
run "rate 0" 64 "$cli" "${target[@]}" --wait-all "$work/empty" --rate 0
run "rate 1001" 64 "$cli" "${target[@]}" --wait-all "$work/empty" --rate 1001
expect_stderr_has "--rate takes GETs per second, 1 to 1000"
run "help: wait-all" 0 "$cli" --help
for option in '--wait-all FILE' '--rate N' '--no-batching'; do
  expect_stdout_line "    $option"
done
expect_stdout_has "teamsop-get --wait-all FILE [--rate N] [--no-batching] [--wait SECONDS] [OPTION...]"
expect_stdout_has "Exit status: 0 when every operation succeeded; 20 when every one was"

# ---------------------------------------------------------------- the token's environment variable
run "no token" 64 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has TEAMSOP_TOKEN
expect_stdout_empty
run "empty token" 64 env TEAMSOP_TOKEN= "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
run "token-env unset" 64 "$cli" "${target[@]}" --token-env TEAMSOP_TEST_NO_SUCH_VARIABLE \
  --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has TEAMSOP_TEST_NO_SUCH_VARIABLE
run "token-env" 0 env -u TEAMSOP_TOKEN TEAMSOP_TEST_OTHER_TOKEN="$TEAMSOP_TOKEN" "$cli" "${target[@]}" \
  --token-env TEAMSOP_TEST_OTHER_TOKEN --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded

# ---------------------------------------------------------------- usage errors: 64
# One line saying what is wrong, then where help is; nothing on stdout.
run "no arguments" 64 "$cli"
expect_stderr_has "usage: teamsop-get"
expect_stderr_has "Try 'teamsop-get --help'."
run "chat without operation" 64 "$cli" "${target[@]}" --chat "$SEED_CHAT"
run "operation alone" 64 "$cli" "${target[@]}" --operation "$SEED_OP"
run "chat and team" 64 "$cli" "${target[@]}" --chat a --team b --operation c
run "location with ids" 64 "$cli" "${target[@]}" --location "/teams('a')/operations('b')" --chat a
run "unknown option" 64 "$cli" "${target[@]}" --chat a --operation b --bogus
expect_stderr_is "teamsop-get: unknown option --bogus
Try 'teamsop-get --help'."
expect_stdout_empty
run "unknown option with a value" 64 "$cli" --bogus=1 --chat a --operation b
expect_stderr_is "teamsop-get: unknown option --bogus
Try 'teamsop-get --help'."
run "unknown short option" 64 "$cli" -x --chat a --operation b
expect_stderr_is "teamsop-get: unknown option -x
Try 'teamsop-get --help'."
run "operand" 64 "$cli" --chat a --operation b extra
expect_stderr_has "unexpected argument 'extra'"
run "missing value" 64 "$cli" "${target[@]}" --chat a --operation
expect_stderr_is "teamsop-get: --operation needs a value
Try 'teamsop-get --help'."
run "flag with a value" 64 "$cli" --chat a --operation b --json=yes
expect_stderr_has "--json takes no value"
run "timeout not a number" 64 "$cli" "${target[@]}" --chat a --operation b --timeout soon
run "timeout 0" 64 "$cli" "${target[@]}" --chat a --operation b --timeout 0
run "wait without location" 64 "$cli" "${target[@]}" --chat a --operation b --wait 5
run "wait 0" 64 "$cli" "${target[@]}" --location "/teams('a')/operations('b')" --wait 0
run "unknown cloud" 64 "$cli" --cloud mars --chat a --operation b
run "token on the command line" 64 "$cli" "${target[@]}" --token "$TEAMSOP_TOKEN" --chat a --operation b
expect_stderr_is "teamsop-get: unknown option --token
Try 'teamsop-get --help'."

# ---------------------------------------------------------------- -v, -vv
run "verbose" 0 "$cli" "${target[@]}" -v --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded
current="verbose: one INFO line"
if [ "$(grep -c '^teamsop-get: INFO GET ' "$err")" -eq 1 ] && [ "$(wc -l <"$err")" -eq 1 ]; then pass; else fail "stderr is not one INFO line"; fi
if grep -Eq "^teamsop-get: INFO GET ${TEAMSOP_BASE_URL}/chats/$SEED_CHAT/operations/$SEED_OP -> 200 in [0-9]+ ms \(request-id [0-9a-f-]{36}, client-request-id [0-9a-f-]{36}\)\$" "$err"; then
  pass
else
  fail "the INFO line has not the method, URL, status, time and request ids"
fi
run "verbose twice" 0 "$cli" "${target[@]}" -vv --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "teamsop-get: INFO GET "
expect_stderr_has "teamsop-get: DEBUG http: opened a new"
run "verbose --verbose" 0 "$cli" "${target[@]}" --verbose --verbose --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "teamsop-get: DEBUG "
run "verbose failure" 6 "$cli" "${target[@]}" -v --location "/teams('$TEAM')/operations('nope')"
expect_stderr_has "teamsop-get: INFO GET "
expect_stderr_has " -> 404 in "
# The failure is reported once, by teamsop-get itself, not again as a log line.
current="verbose failure: no ERROR line"
if grep -q '^teamsop-get: ERROR' "$err"; then fail "an ERROR log line"; else pass; fi
run "verbose wait" 0 "$cli" "${target[@]}" -vv --location "/teams('$TEAM')/operations('create-succeeded')" --wait 5
expect_stderr_has "teamsop-get: INFO GET "
# TEAMSOP_LOG without -v: the library's own stderr lines.
run "TEAMSOP_LOG" 0 env TEAMSOP_LOG=info "$cli" "${target[@]}" --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "teamsop: GET "

# ---------------------------------------------------------------- --token-command
# A command that mints a token from the emulator (its expiry on a second line,
# in Unix seconds), handing over the claims it is given, and notes each run.
curl_tls=()
if [ -n "${TEAMSOP_CA_FILE:-}" ]; then curl_tls=(--cacert "$TEAMSOP_CA_FILE"); fi
mint="$work/mint.sh"
cat >"$mint" <<'MINT'
#!/usr/bin/env bash
set -eu
echo "run claims=${TEAMSOP_CLAIMS-unset}" >>"$MINT_LOG"
body=$(python3 -c 'import json, os; c = os.environ.get("TEAMSOP_CLAIMS"); print(json.dumps({"lifetime_ms": 3600000, **({"claims": c} if c else {})}))')
curl -fsS "$@" -X POST -H 'Content-Type: application/json' -d "$body" "$TEAMSOP_EMULATOR_URL/_emulator/tokens" |
  python3 -c 'import json, os, sys
d = json.load(sys.stdin)
with open(os.environ["MINT_LOG"] + ".tokens", "a") as f: print(d["token"], file=f)
print(" " + d["token"] + " "); print(d["expires_unix_ms"] // 1000)'
MINT
chmod +x "$mint"
export MINT_LOG="$work/mint.log"
: >"$MINT_LOG"
run "token-command" 0 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" --token-command "$mint ${curl_tls[*]}" \
  --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded
current="token-command: run once, no claims"
if [ "$(cat "$MINT_LOG")" = "run claims=unset" ]; then pass; else fail "runs: $(cat "$MINT_LOG")"; fi
# Continuous access evaluation: every token revoked, claims demanded. The set
# token is refused (401), the command runs with the claims, the GET is sent again.
claims='{"access_token":{"nbf":{"essential":true,"value":"1604106651"}}}'
current="revoke"
if curl -fsS "${curl_tls[@]}" -X POST -H 'Content-Type: application/json' \
     -d "{\"all\": true, \"claims\": $(printf '%s' "$claims" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" \
     "$TEAMSOP_EMULATOR_URL/_emulator/revoke" >/dev/null; then pass; else fail "the emulator did not revoke"; fi
: >"$MINT_LOG"
run "token-command after a CAE challenge" 0 "$cli" "${target[@]}" -v --token-command "$mint ${curl_tls[*]}" \
  --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_row status succeeded
expect_stderr_has " -> 401 in "
current="token-command: run once, with the claims"
if [ "$(cat "$MINT_LOG")" = "run claims=$claims" ]; then pass; else fail "runs: $(cat "$MINT_LOG")"; fi
# Back to the configured token for what follows.
current="forget the revocation"
if curl -fsS "${curl_tls[@]}" -X DELETE "$TEAMSOP_EMULATOR_URL/_emulator/tokens" >/dev/null; then pass; else fail "DELETE /_emulator/tokens"; fi
run "token-command failing" 4 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" \
  --token-command 'echo "no sign-in" >&2; exit 3' --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "no sign-in"
expect_stderr_has "teamsop-get: --token-command failed (exit status 3)"
expect_stderr_has "TEAMSOP_ERR_UNAUTHORIZED"
expect_stdout_empty
run "token-command printing nothing" 4 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" \
  --token-command 'true' --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "teamsop-get: --token-command printed no token"
run "token-command printing more" 4 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" \
  --token-command 'echo a b c' --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "printed more than a token and its expiry"
run "token-command killed" 4 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" \
  --token-command 'kill -9 $$' --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "teamsop-get: --token-command was killed by signal 9"
run "token-command a bad token" 4 env -u TEAMSOP_TOKEN "$cli" "${target[@]}" \
  --token-command 'printf "to\001ken\n"' --chat "$SEED_CHAT" --operation "$SEED_OP"
expect_stderr_has "outside visible ASCII"
run "token-command empty" 64 "$cli" "${target[@]}" --token-command '' --chat "$SEED_CHAT" --operation "$SEED_OP"

# ---------------------------------------------------------------- Ctrl-C during --wait
# A wait that would go on (inProgress, 30 s between polls) gets SIGINT, then
# SIGTERM, once its first poll is in: it ends at once, cleanly, with 130 / 143.
# Runs the tool with the given arguments in the background, waits for `ready` in
# its stderr (then `settle` seconds more), sends SIGNAME of `sig` (NAME:STATUS)
# and checks that it exits with STATUS within 1 s.
interrupt() {
  local sig=$1 ready=$2 settle=$3 pid start status elapsed_ms
  shift 3
  "$cli" "${target[@]}" "$@" >"$out" 2>"$err" </dev/null &
  pid=$!
  for _ in $(seq 1 200); do grep -q "$ready" "$err" && break; sleep 0.05; done
  sleep "$settle"
  start=$(date +%s%N)
  kill "-${sig%%:*}" "$pid"
  wait "$pid"
  status=$?
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  cat "$out" "$err" >>"$work/all-output"
  if [ "$status" -eq "${sig#*:}" ]; then pass; else fail "exit status $status, expected ${sig#*:}"; fi
  if [ "$elapsed_ms" -lt 1000 ]; then pass; else fail "it took $elapsed_ms ms to end"; fi
}

for sig in INT:130 TERM:143; do
  current="SIG${sig%%:*} during --wait"
  interrupt "$sig" "poll 1:" 0 \
    --location "/teams('cli-forever')/operations('o')" --wait 120 --poll-ms 30000
  expect_stderr_has "teamsop-get: interrupted by SIG${sig%%:*} after "
  expect_stderr_has "the wait was cancelled"
  expect_stdout_empty
done

# The same for --wait-all: the run is cancelled, each pending operation gets its
# line, and the exit status is 130 / 143.
printf '%s\n' "/teams('cli-forever')/operations('o')" >"$work/forever"
for sig in INT:130 TERM:143; do
  current="SIG${sig%%:*} during --wait-all"
  interrupt "$sig" "GETs/s" 0.3 --wait-all "$work/forever" --poll-ms 30000
  expect_stderr_has "teamsop-get: interrupted by SIG${sig%%:*}: the run was cancelled"
  expect_stdout_has '"result":"TEAMSOP_ERR_CANCELLED"'
  expect_stdout_has '"pending":true'
done

# ---------------------------------------------------------------- --version, --help
run "version" 0 "$cli" --version
if grep -Eq '^teamsop-get \(libteamsop [0-9]+\.[0-9]+\.[0-9]+\)$' "$out"; then pass; else fail "version line"; fi
run "help" 0 "$cli" --help
expect_stderr_empty
for section in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT 'EXIT STATUS' EXAMPLES; do
  expect_stdout_line "$section"
done
for option in --chat --team --operation --location --wait --poll-ms --quiet --json --select \
  --base-url --cloud --timeout --ca-file --token-env --token-command '-v, --verbose' --version '-h, --help'; do
  if grep -Eq -- "^    $option( [A-Z]+)?\$" "$out"; then pass; else fail "--help does not list $option"; fi
done
for var in TEAMSOP_TOKEN TEAMSOP_BASE_URL TEAMSOP_CLAIMS TEAMSOP_LOG; do expect_stdout_line "    $var"; done
# The exit statuses: 0, every result 1-12 by name, 20, 64.
if grep -Eq '^    0    the operation was read and has not failed' "$out"; then pass; else fail "no exit status 0"; fi
for r in 1:INVALID_ARGUMENT 2:TRANSPORT 3:TIMEOUT 4:UNAUTHORIZED 5:FORBIDDEN 6:NOT_FOUND \
  7:THROTTLED 8:HTTP 9:PARSE 10:TOO_LARGE 11:CANCELLED 12:INTERNAL; do
  if grep -Eq " ${r%%:*} TEAMSOP_ERR_${r#*:}( |\$)" "$out"; then pass; else fail "exit status ${r%%:*} not listed"; fi
done
expect_stdout_has "    20   the operation was read and it ended without succeeding (status failed"
expect_stdout_has "    64   usage error"
expect_stdout_has "    130, 143"
run "-h" 0 "$cli" -h
expect_stdout_line "SYNOPSIS"

# ---------------------------------------------------------------- the token is never printed
current="token never printed"
if grep -Fq -- "$TEAMSOP_TOKEN" "$work/all-output"; then
  fail "TEAMSOP_TOKEN appears in the output of a command"
  grep -Fn -- "$TEAMSOP_TOKEN" "$work/all-output" | head -5 >&2
else
  pass
fi
if grep -Fq -- "$WRONG_TOKEN" "$work/all-output"; then
  fail "a token given in the environment appears in the output"
else
  pass
fi
if [ -s "$MINT_LOG.tokens" ] && ! grep -Fqf "$MINT_LOG.tokens" "$work/all-output"; then
  pass
else
  fail "a token of --token-command appears in the output (or none was minted)"
fi

echo "teamsop-get.sh: $checks check(s), $failures failed"
if [ "$failures" -ne 0 ]; then
  echo "FAILED"
  exit 1
fi
echo "ALL PASSED"
