# Many operations at once (tests/c/test_batch.c): teamsop_batch_* through the C
# ABI against the emulator, every rule of docs/API.md's "Many operations at once".
#
#   make batch-test       builds out/test_batch and runs it (about a minute and a half)
#   make batch-memcheck   the same but the tests about time (BATCH_TIMING_TESTS)
#                         under valgrind: zero errors, no definite or indirect
#                         leak (smaller counts, longer time limits)
#   make batch-asan       built with AddressSanitizer and UBSan, run the same way
#
# One test, or a few, by name: scripts/with-emulator.sh -- out/test_batch 'cancel_*'

.PHONY: batch-test batch-memcheck batch-asan

# Under valgrind and ASan: the memory test adds fewer operations and does not
# bound RSS (theirs is in it), and every upper time limit (cancel within 100 ms,
# a deadline kept) is scaled.
BATCH_SLOW_ENV := TEAMSOP_TEST_MANY=10000 TEAMSOP_TEST_RSS_CHECK=0 TEAMSOP_TEST_TIME_FACTOR=10

$(BUILD)/test_batch: tests/c/test_batch.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

# (memcheck.mk, read after this file, sets ASAN_DIR to this same directory.)
$(BUILD)/asan/test_batch: tests/c/test_batch.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build
	@mkdir -p $(@D)
	$(ASAN_CC) $(MEM_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(LDLIBS_SO) -lpthread

batch-test: $(BUILD)/test_batch
	scripts/with-emulator.sh -- $(BUILD)/test_batch

# Under valgrind and ASan, every test but those about time itself (pacing,
# graces, rates over many seconds): they run the same code paths as the others,
# which the memory checks cover, and cost most of the time.
BATCH_TIMING_TESTS := test_404_grace_counts_from_the_first_poll test_server_limiting_at_half_the_rate \
                      test_soonest_due_first test_busiest_second_never_above_the_rate
batch_memory_tests = $$($(1) --list | grep -vxF $(foreach t,$(BATCH_TIMING_TESTS),-e $(t)))

batch-memcheck: memcheck-deps $(BUILD)/test_batch
	scripts/with-emulator.sh -- env $(BATCH_SLOW_ENV) $(VALGRIND) $(BUILD)/test_batch \
	  $(call batch_memory_tests,$(BUILD)/test_batch)

batch-asan: memcheck-deps $(BUILD)/asan/test_batch
	scripts/with-emulator.sh -- env $(BATCH_SLOW_ENV) $(ASAN_ENV) $(BUILD)/asan/test_batch \
	  $(call batch_memory_tests,$(BUILD)/asan/test_batch)

TEST_TARGETS += batch-test batch-memcheck batch-asan
