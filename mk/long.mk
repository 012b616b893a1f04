# Unattended long runs from C (tests/c/test_long.c): cancelling from another
# thread (in a GET, in a retry's pause, between polls; the latency of 100 tries),
# tokens that renew themselves (expiry, CAE claims after a 401, one provider call
# at a time, bad answers, a provider that blocks or calls back), and the log
# (levels, request ids, TEAMSOP_LOG, never the token).
#
#   make long-test       builds out/test_long and runs it against the emulator
#   make long-memcheck   the same under valgrind (memcheck.mk's settings), time
#                        limits stretched (TEAMSOP_TEST_TIME_FACTOR)
#   make long-asan       built with AddressSanitizer + UBSan, run the same way

.PHONY: long-test long-memcheck long-asan

# Under valgrind the debug library runs some 30 times slower: the time limits
# (a cancel within 100 ms, say) are stretched by this much there.
LONG_SLOW_FACTOR ?= 10

$(BUILD)/test_long: tests/c/test_long.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

# memcheck.mk (ASAN_DIR, the flags) comes after this file: its variables are
# read in recipes only.
LONG_ASAN := $(BUILD)/asan/test_long

$(LONG_ASAN): tests/c/test_long.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build
	@mkdir -p $(@D)
	$(ASAN_CC) $(MEM_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(LDLIBS_SO) -lpthread

long-test: $(BUILD)/test_long
	scripts/with-emulator.sh -- $(BUILD)/test_long

long-memcheck: memcheck-deps $(BUILD)/test_long
	scripts/with-emulator.sh -- env TEAMSOP_TEST_TIME_FACTOR=$(LONG_SLOW_FACTOR) $(VALGRIND) $(BUILD)/test_long

long-asan: memcheck-deps $(LONG_ASAN)
	scripts/with-emulator.sh -- env $(ASAN_ENV) TEAMSOP_TEST_TIME_FACTOR=2 $(LONG_ASAN)

TEST_TARGETS += long-test long-memcheck long-asan
