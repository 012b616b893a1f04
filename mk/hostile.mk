# Hostile servers, processes and proxies, from C (tests/c/test_hostile.c): fork()
# with a client in use (parent and child each get their own answers, the
# parent's connection survives, no child deadlocks on a lock held at fork time),
# and the C side of the fixes tests/hostile_*.rs check from Rust.
#
#   make hostile-test       builds out/test_hostile and runs it against the emulator
#   make hostile-memcheck   the same under valgrind (memcheck.mk's settings); the
#                           children forked by the test run under it too

.PHONY: hostile-test hostile-memcheck

$(BUILD)/test_hostile: tests/c/test_hostile.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

hostile-test: $(BUILD)/test_hostile
	scripts/with-emulator.sh -- $(BUILD)/test_hostile

hostile-memcheck: memcheck-deps $(BUILD)/test_hostile
	scripts/with-emulator.sh -- $(VALGRIND) $(BUILD)/test_hostile

TEST_TARGETS += hostile-test hostile-memcheck
