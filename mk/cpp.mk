# C++: the header-only wrapper include/teamsop.hpp, its test program and its
# example, built with $(CXX) against the .so, and run against the emulator.
#
#   make cpp-test   builds out/test_wrapper and out/teamsop-get-cpp, runs the test
#                   under scripts/with-emulator.sh, then runs the example once
#                   (by ids, and with --wait) and compares its output, then once
#                   more interrupted by SIGINT during --wait (exit 130).

CPP_FLAGS   := -Wall -Wextra -Werror -std=c++17
CPP_HEADERS := include/teamsop.hpp include/teamsop.h
CPP_SEED_CHAT := 19:c253a29b5f694b55a6baad8e83510af7@thread.v2
CPP_SEED_OP   := 2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4
CPP_TEAM      := 8b081ef6-4792-4def-b2c9-c363a1bf41d5
CPP_EXAMPLE_OUT := $(BUILD)/cpp-example

.PHONY: cpp-test

$(BUILD)/test_wrapper: tests/cpp/test_wrapper.cpp $(CPP_HEADERS) build | $(BUILD)
	$(CXX) $(CPP_FLAGS) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

$(BUILD)/teamsop-get-cpp: examples-cpp/teamsop-get.cpp $(CPP_HEADERS) build | $(BUILD)
	$(CXX) $(CPP_FLAGS) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO)

cpp-test: $(BUILD)/test_wrapper $(BUILD)/teamsop-get-cpp
	scripts/with-emulator.sh --scenarios tests/cpp/scenarios.json -- $(BUILD)/test_wrapper
	@rm -rf $(CPP_EXAMPLE_OUT) && mkdir -p $(CPP_EXAMPLE_OUT)
	scripts/with-emulator.sh -- sh -c '\
	  $(BUILD)/teamsop-get-cpp --base-url "$$TEAMSOP_BASE_URL" --chat "$(CPP_SEED_CHAT)" --operation "$(CPP_SEED_OP)" \
	    >$(CPP_EXAMPLE_OUT)/get.out 2>$(CPP_EXAMPLE_OUT)/get.err; echo $$? >$(CPP_EXAMPLE_OUT)/get.status; \
	  $(BUILD)/teamsop-get-cpp --base-url "$$TEAMSOP_BASE_URL" --location "/teams/$(CPP_TEAM)/operations/archive-failed" \
	    --wait 10 --poll-ms 50 >$(CPP_EXAMPLE_OUT)/wait.out 2>$(CPP_EXAMPLE_OUT)/wait.err; echo $$? >$(CPP_EXAMPLE_OUT)/wait.status'
	@printf '%-24s %s\n' id "$(CPP_SEED_OP)" status succeeded operationType createChat \
	  createdDateTime 2021-05-27T21:23:41.9085453Z createdUnixMs 1622150621908 \
	  lastActionDateTime 2021-05-27T21:23:45.1899277Z attemptsCount 1 \
	  targetResourceId "$(CPP_SEED_CHAT)" targetResourceLocation "/chats('$(CPP_SEED_CHAT)')" error - \
	  >$(CPP_EXAMPLE_OUT)/get.out.expected
	@printf '%-24s %s\n' id archive-failed status failed operationType archiveTeam \
	  createdDateTime 2024-01-15T10:00:00.0000000Z createdUnixMs 1705312800000 \
	  lastActionDateTime 2024-01-15T10:00:05.0000000Z attemptsCount 1 \
	  targetResourceId - targetResourceLocation - error Conflict \
	  >$(CPP_EXAMPLE_OUT)/wait.out.expected
	@echo 'poll 1: status=failed' >$(CPP_EXAMPLE_OUT)/wait.err.expected
	@echo 0 >$(CPP_EXAMPLE_OUT)/get.status.expected
	@echo 20 >$(CPP_EXAMPLE_OUT)/wait.status.expected
	@: >$(CPP_EXAMPLE_OUT)/get.err.expected
	@for f in get.status get.out get.err wait.status wait.out wait.err; do \
	  diff -u $(CPP_EXAMPLE_OUT)/$$f.expected $(CPP_EXAMPLE_OUT)/$$f || \
	    { echo "cpp-test: teamsop-get-cpp: unexpected $$f (above)" >&2; exit 1; }; \
	done
	@echo "cpp-test: teamsop-get-cpp printed what was expected (by ids, and --wait)"
	scripts/with-emulator.sh --scenarios tests/cpp/scenarios.json -- bash -c '\
	  err=$(CPP_EXAMPLE_OUT)/interrupted.err; \
	  $(BUILD)/teamsop-get-cpp --base-url "$$TEAMSOP_BASE_URL" --location "/teams/cpp-cancel-progress/operations/o" \
	    --wait 60 --poll-ms 30000 --log info >/dev/null 2>$$err & pid=$$!; \
	  for _ in $$(seq 1 200); do grep -q "poll 1:" $$err && break; sleep 0.05; done; \
	  kill -INT $$pid; status=0; wait $$pid || status=$$?; \
	  [ $$status -eq 130 ] && grep -q "interrupted: the wait was cancelled" $$err && grep -q "teamsop-get-cpp: GET " $$err || \
	    { echo "cpp-test: teamsop-get-cpp: Ctrl-C during --wait: exit $$status" >&2; cat $$err >&2; exit 1; }'
	@echo "cpp-test: teamsop-get-cpp: Ctrl-C ended --wait (exit 130), --log info printed the requests"

TEST_TARGETS += cpp-test
