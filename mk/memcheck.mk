# Memory and load checks of the C ABI (issue "Hardening: no leaks or crashes").
#
#   make memcheck            valgrind memcheck over test_abi (plain HTTP), a short
#                            soak and a small load run: no error, no definite or
#                            indirect leak
#   make asan-test           test_abi, soak and load built with AddressSanitizer and
#                            UBSan, run against the emulator; any report is fatal
#   make soak-test           100,000 x teamsop_get + teamsop_free on one client; RSS
#                            at the end within 10% of RSS after the first 1,000
#   make load-test           8 threads x 10,000 calls on one client against an
#                            emulator that faults 10% of requests (429 / 503 / reset)
#                            with max retries 0, then 8 x 2,000 with the default
#                            retries; counts checked exactly against the emulator's stats
#   make stderr-token-check  test_abi, test_long and the CLI's failing paths (with
#                            its log lines too) with a distinctive token: the
#                            token is in none of their output
#
# Valgrind stays on plain HTTP: over HTTPS, ring's hand-written assembly gives
# memcheck false positives.

MEM_CFLAGS   := $(CWARN) $(CFLAGS_LIB)
MEM_EMU      := scripts/with-emulator.sh
MEM_SCEN     := tests/c/scenarios.json
LOAD_SCEN    := tests/c/load-scenarios.json
ASAN_DIR     := $(BUILD)/asan

# The full runs (make soak-test, make load-test).
SOAK_N            ?= 100000
LOAD_THREADS      ?= 8
LOAD_CALLS        ?= 10000
# The run with retries sleeps 125-500 ms before each retry of a reset (the
# library's backoff; a reset carries no Retry-After), about 12 s per 2,000 calls
# of a thread: fewer calls keep it short. The exact identities hold at any count.
LOAD_RETRY_CALLS  ?= 2000

# Under valgrind and ASan: small counts. A call takes about 25 ms under valgrind
# (the debug library), so the soak's 400 calls take some 12 s; valgrind of
# test_abi alone takes 30-45 s.
MEMCHECK_SOAK_N       ?= 400
MEMCHECK_LOAD_THREADS ?= 4
MEMCHECK_LOAD_CALLS   ?= 60
ASAN_SOAK_N           ?= 2000
ASAN_LOAD_THREADS     ?= 8
ASAN_LOAD_CALLS       ?= 500
ASAN_LOAD_RETRY_CALLS ?= 250

VALGRIND := valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40

# gcc's ASan and UBSan; the Rust library itself is not instrumented, but its
# malloc/free go through ASan's allocator, so its heap misuse, leaks (LeakSanitizer)
# and the C side's are all seen. (ASAN_CC=clang works too.)
ASAN_CC      ?= $(CC)
ASAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g
ASAN_ENV     := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=98 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=97 \
                LSAN_OPTIONS=exitcode=96

.PHONY: memcheck asan-test soak-test load-test stderr-token-check memcheck-deps

# curl reads the emulator's stats; `make deps` installs valgrind but not curl.
memcheck-deps:
	@.ci/install-deps.sh curl valgrind

$(BUILD)/soak: tests/c/soak.c tests/c/test_support.h tests/c/check.h include/teamsop.h build | $(BUILD)
	$(CC) $(MEM_CFLAGS) -o $@ $< $(LDLIBS_SO)

$(BUILD)/load: tests/c/load.c tests/c/test_support.h tests/c/check.h include/teamsop.h build | $(BUILD)
	$(CC) $(MEM_CFLAGS) -o $@ $< $(LDLIBS_SO) -lpthread

$(ASAN_DIR)/test_abi: $(C_ABI_SRCS) $(C_TEST_HDRS) build
	@mkdir -p $(@D)
	$(ASAN_CC) $(MEM_CFLAGS) $(ASAN_FLAGS) -o $@ $(C_ABI_SRCS) $(LDLIBS_SO) -lpthread

$(ASAN_DIR)/soak: tests/c/soak.c tests/c/test_support.h tests/c/check.h include/teamsop.h build
	@mkdir -p $(@D)
	$(ASAN_CC) $(MEM_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(LDLIBS_SO)

$(ASAN_DIR)/load: tests/c/load.c tests/c/test_support.h tests/c/check.h include/teamsop.h build
	@mkdir -p $(@D)
	$(ASAN_CC) $(MEM_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(LDLIBS_SO) -lpthread

# ------------------------------------------------------------ load: the checks
#
# bash -c "$$LOAD_CHECK_SH" load-check RETRIES THREADS CALLS -- COMMAND...
# runs COMMAND --threads THREADS --calls CALLS [--max-retries RETRIES]
# --counts-file F under scripts/with-emulator.sh (RETRIES "default": the
# client's default, 3), then compares the counts with GET /_emulator/stats.
# Why these identities are exact: see the top of tests/c/load.c.
define LOAD_CHECK_SH
set -eu
retries=$$1 threads=$$2 calls=$$3
shift 4
: "$${TEAMSOP_EMULATOR_URL:?run under scripts/with-emulator.sh}"
dir=$$(mktemp -d)
trap 'rm -rf "$$dir"' EXIT
args=(--threads "$$threads" --calls "$$calls" --counts-file "$$dir/counts")
k=3
if [ "$$retries" != default ]; then args+=(--max-retries "$$retries"); k=$$retries; fi
start=$$(date +%s%N)
"$$@" "$${args[@]}"
end=$$(date +%s%N)
. "$$dir/counts"
stats=$$(curl -fsS "$$TEAMSOP_EMULATOR_URL/_emulator/stats")
field() { printf '%s' "$$stats" | sed -n "s/.*\"$$1\": *\([0-9][0-9]*\).*/\1/p"; }
requests=$$(field requests) scripted=$$(field scripted)
total=$$((threads * calls)) failed=$$((THROTTLED + HTTP + TRANSPORT))
echo "load-check: retries $$retries, $$threads x $$calls calls in $$(( (end - start) / 1000000 )) ms"
echo "load-check: results OK=$$OK THROTTLED=$$THROTTLED HTTP=$$HTTP TRANSPORT=$$TRANSPORT other=$$OTHER"
echo "load-check: emulator $$stats; retries made: $$((requests - total))"
bad=0
must() { if ! [ "$$1" -eq "$$2" ]; then echo "load-check: FAIL: $$3: $$1 != $$2" >&2; bad=1; fi; }
[ -n "$$requests" ] && [ -n "$$scripted" ] || { echo "load-check: FAIL: cannot read $$stats" >&2; exit 1; }
must "$$TOTAL" "$$total" "results sum to threads x calls"
must "$$OTHER" 0 "results other than OK, THROTTLED, HTTP, TRANSPORT"
must "$$((requests - scripted))" "$$OK" "requests not scripted == OK results"
if [ "$$k" -eq 0 ]; then
  must "$$requests" "$$total" "requests == threads x calls (no retries)"
  must "$$scripted" "$$failed" "scripted == THROTTLED + HTTP + TRANSPORT (no retries)"
else
  [ "$$requests" -ge "$$total" ] || { echo "load-check: FAIL: requests $$requests < $$total" >&2; bad=1; }
  [ "$$scripted" -ge "$$((failed * (k + 1)))" ] || {
    echo "load-check: FAIL: scripted $$scripted < $$failed failed calls x $$((k + 1)) tries" >&2; bad=1; }
  # A call fails only when all its K+1 tries draw a fault (about 10^-(K+1)); 1% is
  # far above that, and far below what a library that does not retry gives (10%).
  [ "$$((failed * 100))" -le "$$total" ] || {
    echo "load-check: FAIL: $$failed of $$total calls failed despite retries" >&2; bad=1; }
fi
[ "$$bad" -eq 0 ] && echo "load-check: passed"
exit "$$bad"
endef
export LOAD_CHECK_SH

LOAD_CHECK := bash -c "$$LOAD_CHECK_SH" load-check

# --------------------------------------------------- stderr-token-check: script
#
# Under scripts/with-emulator.sh, whose accepted token ($TEAMSOP_TOKEN) is a fresh
# random canary: runs test_abi whole, then the CLI on failing paths (and with a
# second, wrong canary token; with its -vv log lines and TEAMSOP_LOG), then
# test_long whole, capturing stdout and stderr of each, and asserts that no
# canary, and none of test_abi's own test tokens (its g_secrets), is in any of
# it. Any prefix of 12 characters of a canary counts as a leak too.
define TOKEN_CHECK_SH
set -u
abi=$$1 cli=$$2 long=$$3
: "$${TEAMSOP_TOKEN:?run under scripts/with-emulator.sh}"
case "$$TEAMSOP_TOKEN" in tsopcanary*) ;; *) echo "token-check: TEAMSOP_TOKEN is not a canary" >&2; exit 2 ;; esac
dir=$$(mktemp -d)
trap 'rm -rf "$$dir"' EXIT
wrong="tsopcanarywrong$$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
bad=0 runs=0
# case NAME WANT_STATUS COMMAND...: runs it, keeps its output, checks its status.
case_() {
  local name=$$1 want=$$2; shift 2
  runs=$$((runs + 1))
  "$$@" >"$$dir/$$runs.out" 2>"$$dir/$$runs.err" </dev/null
  local got=$$?
  if [ "$$got" -ne "$$want" ]; then
    echo "token-check: FAIL [$$name]: exit status $$got, expected $$want" >&2
    sed 's/^/    | /' "$$dir/$$runs.err" | tail -20 >&2
    bad=1
  fi
  printf '%s\n' "$$name" >"$$dir/$$runs.name"
}
case_ "test_abi" 0 "$$abi"
target=(--base-url "$$TEAMSOP_BASE_URL")
chat() { case_ "cli $$1" "$$2" "$$cli" "$${target[@]}" --chat "$$1" --operation o "$${@:3}"; }
chat c-404 6
chat c-500 8
chat c-418 8
chat c-429 7
chat c-503-always 8
chat c-reset 2
chat c-badjson 9
chat c-html 9
chat c-slow 3 --timeout 300
chat forbidden 5 --json
case_ "cli wait 403" 5 "$$cli" "$${target[@]}" --location "/teams('t-wait-403')/operations('o')" --wait 10 --poll-ms 10
case_ "cli refused" 2 "$$cli" --base-url http://127.0.0.1:1/beta --chat c --operation o
case_ "cli https refused" 2 "$$cli" --base-url https://127.0.0.1:1/beta --chat c --operation o
case_ "cli not loopback" 1 "$$cli" --base-url http://graph.example/beta --chat c --operation o
case_ "cli bad location" 1 "$$cli" "$${target[@]}" --location "/nope('x')"
case_ "cli wrong token" 4 env TEAMSOP_TOKEN="$$wrong" "$$cli" "$${target[@]}" --chat c --operation o
case_ "cli token with a newline" 1 env TEAMSOP_TOKEN="$$wrong
x" "$$cli" "$${target[@]}" --chat c --operation o
case_ "cli token with a tab" 1 env TEAMSOP_TOKEN="$$wrong	x" "$$cli" "$${target[@]}" --chat c --operation o
chat c-429 7 -vv
chat c-reset 2 -vv
case_ "cli wrong token -vv" 4 env TEAMSOP_TOKEN="$$wrong" "$$cli" "$${target[@]}" -vv --chat c --operation o
case_ "cli TEAMSOP_LOG=debug" 6 env TEAMSOP_LOG=debug "$$cli" "$${target[@]}" --chat c-404 --operation o
case_ "cli --token-command" 4 env -u TEAMSOP_TOKEN "$$cli" "$${target[@]}" -vv \
  --token-command "echo $$wrong" --chat c --operation o
case_ "test_long" 0 "$$long"
needles=("$$TEAMSOP_TOKEN" "$${TEAMSOP_TOKEN:0:12}" "$$wrong" "$${wrong:0:12}")
while IFS= read -r s; do [ -n "$$s" ] && needles+=("$$s"); done < <(
  sed -n '/g_secrets\[\] = {/,/};/p' tests/c/test_abi.c | grep -o '"[^"]*"' | tr -d '"')
for i in $$(seq 1 "$$runs"); do
  for f in "$$dir/$$i.out" "$$dir/$$i.err"; do
    for n in "$${needles[@]}"; do
      if grep -qF -- "$$n" "$$f"; then
        echo "token-check: FAIL [$$(cat "$$dir/$$i.name")]: a token is in its $${f##*.}" >&2
        bad=1
      fi
    done
  done
done
echo "token-check: $$runs program runs, $${#needles[@]} token strings looked for in stdout and stderr"
[ "$$bad" -eq 0 ] && echo "token-check: passed"
exit "$$bad"
endef
export TOKEN_CHECK_SH

# ------------------------------------------------------------------- targets

# The emulator must have seen exactly SOAK_N requests (nothing retried, nothing lost).
soak-test: memcheck-deps $(BUILD)/soak
	$(MEM_EMU) --no-record -- bash -c '$(BUILD)/soak $(SOAK_N) || exit; \
	  stats=$$(curl -fsS "$$TEAMSOP_EMULATOR_URL/_emulator/stats") || exit; echo "soak: emulator $$stats"; \
	  [ "$$(printf %s "$$stats" | sed -n "s/.*\"requests\": *\([0-9]*\).*/\1/p")" = $(SOAK_N) ] || \
	  { echo "soak: FAIL: the emulator did not see exactly $(SOAK_N) requests" >&2; exit 1; }'

load-test: memcheck-deps $(BUILD)/load
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) 0 $(LOAD_THREADS) $(LOAD_CALLS) -- $(BUILD)/load
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) default $(LOAD_THREADS) $(LOAD_RETRY_CALLS) -- $(BUILD)/load

memcheck: memcheck-deps $(BUILD)/test_abi $(BUILD)/soak $(BUILD)/load
	$(MEM_EMU) --scenarios $(MEM_SCEN) -- $(VALGRIND) $(BUILD)/test_abi
	$(MEM_EMU) --no-record -- $(VALGRIND) $(BUILD)/soak $(MEMCHECK_SOAK_N) --no-rss-check
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) 0 $(MEMCHECK_LOAD_THREADS) $(MEMCHECK_LOAD_CALLS) -- $(VALGRIND) $(BUILD)/load
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) default $(MEMCHECK_LOAD_THREADS) $(MEMCHECK_LOAD_CALLS) -- $(VALGRIND) $(BUILD)/load

asan-test: memcheck-deps $(ASAN_DIR)/test_abi $(ASAN_DIR)/soak $(ASAN_DIR)/load
	$(MEM_EMU) --scenarios $(MEM_SCEN) -- env $(ASAN_ENV) $(ASAN_DIR)/test_abi
	$(MEM_EMU) --tls --scenarios $(MEM_SCEN) -- env $(ASAN_ENV) $(ASAN_DIR)/test_abi
	$(MEM_EMU) --no-record -- env $(ASAN_ENV) $(ASAN_DIR)/soak $(ASAN_SOAK_N) --no-rss-check
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) 0 $(ASAN_LOAD_THREADS) $(ASAN_LOAD_CALLS) -- env $(ASAN_ENV) $(ASAN_DIR)/load
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) default $(ASAN_LOAD_THREADS) $(ASAN_LOAD_RETRY_CALLS) -- env $(ASAN_ENV) $(ASAN_DIR)/load

stderr-token-check: $(BUILD)/test_abi $(BUILD)/teamsop-get $(BUILD)/test_long
	TEAMSOP_EMULATOR_TOKEN="tsopcanary$$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
	  $(MEM_EMU) --scenarios $(MEM_SCEN) -- \
	  bash -c "$$TOKEN_CHECK_SH" token-check $(BUILD)/test_abi $(BUILD)/teamsop-get $(BUILD)/test_long

TEST_TARGETS += memcheck asan-test soak-test load-test stderr-token-check

# ------------------------------------------------------------ memcheck-release
#
#   make memcheck-release    the memcheck runs above (test_abi, soak, load with
#                            and without retries) on the release library: the
#                            optimiser produces code, and reports, that the
#                            debug build does not. Zero errors, no definite,
#                            indirect or possible leak.
#
# Same valgrind command, plus tests/valgrind.supp: each entry there is a report
# shown not to be a bug, with the evidence next to it (an http 1.5.0 header
# lookup unswitched by LLVM on a frozen undefined value; std's handle of the
# host's main thread, freed only at thread exit). With that one explained,
# "possibly lost" counts as an error here too. The C programs are built against
# the release .so into $(BUILD)/release/; the emulator is the debug one of
# `make build`.

REL_TARGET     := $(patsubst %/debug,%/release,$(TARGET))
REL_BUILD      := $(BUILD)/release
REL_LDLIBS_SO  := -L$(REL_TARGET) -lteamsop -Wl,-rpath,$(abspath $(REL_TARGET))
VALGRIND_REL   := $(VALGRIND) --suppressions=tests/valgrind.supp \
                  --show-leak-kinds=definite,indirect,possible \
                  --errors-for-leak-kinds=definite,indirect,possible

.PHONY: memcheck-release release-lib

# Only the library, as a C user builds it (`cargo build --release`): building it
# together with the emulator unifies other hyper/tokio features into it.
release-lib:
	$(CARGO) build --release --lib
	@ln -sf libteamsop.so $(REL_TARGET)/libteamsop.so.0

$(REL_BUILD)/test_abi: $(C_ABI_SRCS) $(C_TEST_HDRS) release-lib
	@mkdir -p $(@D)
	$(CC) $(MEM_CFLAGS) -o $@ $(C_ABI_SRCS) $(REL_LDLIBS_SO) -lpthread

# Cancel, token providers and logs: the 0.2 code with the most threads and callbacks.
$(REL_BUILD)/test_long: tests/c/test_long.c $(C_TEST_HDRS) release-lib
	@mkdir -p $(@D)
	$(CC) $(MEM_CFLAGS) -o $@ $< $(REL_LDLIBS_SO) -lpthread

$(REL_BUILD)/soak: tests/c/soak.c tests/c/test_support.h tests/c/check.h include/teamsop.h release-lib
	@mkdir -p $(@D)
	$(CC) $(MEM_CFLAGS) -o $@ $< $(REL_LDLIBS_SO)

$(REL_BUILD)/load: tests/c/load.c tests/c/test_support.h tests/c/check.h include/teamsop.h release-lib
	@mkdir -p $(@D)
	$(CC) $(MEM_CFLAGS) -o $@ $< $(REL_LDLIBS_SO) -lpthread

memcheck-release: memcheck-deps build $(REL_BUILD)/test_abi $(REL_BUILD)/test_long $(REL_BUILD)/soak $(REL_BUILD)/load
	$(MEM_EMU) --scenarios $(MEM_SCEN) -- $(VALGRIND_REL) $(REL_BUILD)/test_abi
	$(MEM_EMU) -- env TEAMSOP_TEST_TIME_FACTOR=$(LONG_SLOW_FACTOR) $(VALGRIND_REL) $(REL_BUILD)/test_long
	$(MEM_EMU) --no-record -- $(VALGRIND_REL) $(REL_BUILD)/soak $(MEMCHECK_SOAK_N) --no-rss-check
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) 0 $(MEMCHECK_LOAD_THREADS) $(MEMCHECK_LOAD_CALLS) -- $(VALGRIND_REL) $(REL_BUILD)/load
	$(MEM_EMU) --no-record --scenarios $(LOAD_SCEN) -- \
	  $(LOAD_CHECK) default $(MEMCHECK_LOAD_THREADS) $(MEMCHECK_LOAD_CALLS) -- $(VALGRIND_REL) $(REL_BUILD)/load

TEST_TARGETS += memcheck-release
