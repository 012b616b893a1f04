# Benchmarks (bench/, BENCHMARKS.md): teamsop through the C ABI against a
# hand-written libcurl + cJSON peer, on the bundled emulator over loopback.
#
#   make bench            the full run on a release build; prints the table
#                         (BENCH_N calls x BENCH_ROUNDS paired rounds; results in out/bench/)
#   make bench-callgrind  instructions per call (valgrind), teamsop vs the peer
#   make bench-smoke      builds it all against the debug library and runs each
#                         program once with a tiny N: part of `make test`; no timing checked

BENCH_N        ?= 20000
BENCH_ROUNDS   ?= 7
BENCH_ARGS     ?=
BENCH_OUT      := $(BUILD)/bench
BENCH_CFLAGS   := -O2 -g -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude
BENCH_HEADERS  := bench/bench_common.h bench/loop_harness.h bench/teamsop_fields.h \
                  bench/cjson_fields.h include/teamsop.h
BENCH_PROGS    := teamsop_loop peer_loop parse_bench first_result
BENCH_RELEASE  := $(RELEASE)
BENCH_DRIVER   := python3 bench/driver.py

.PHONY: bench bench-callgrind bench-smoke bench-release bench-programs-debug \
        bench-programs-release

# The release library and emulator (the emulator's release build is the one
# whose ceiling must stay above the per-call figure). Two cargo runs: built with
# the emulator, the library would get the features the emulator asks of shared
# dependencies (tokio, hyper) and not be the library a user's build makes.
bench-release:
	$(CARGO) build --release -p teamsop
	$(CARGO) build --release -p teamsop-emulator
	@ln -sf libteamsop.so $(BENCH_RELEASE)/libteamsop.so.0

# $(call bench_programs,PROFILE,LIBDIR,PREREQ): the four programs in out/bench/PROFILE.
define bench_programs
$(BENCH_OUT)/$(1)/teamsop_loop: bench/teamsop_loop.c $(BENCH_HEADERS) $(3)
	@mkdir -p $$(@D)
	$(CC) $(BENCH_CFLAGS) -o $$@ $$< -L$(2) -lteamsop -Wl,-rpath,$(abspath $(2)) -lpthread

$(BENCH_OUT)/$(1)/peer_loop: bench/peer_loop.c $(BENCH_HEADERS)
	@mkdir -p $$(@D)
	$(CC) $(BENCH_CFLAGS) -o $$@ $$< -lcurl -lcjson -lpthread

$(BENCH_OUT)/$(1)/parse_bench: bench/parse_bench.c $(BENCH_HEADERS) $(3)
	@mkdir -p $$(@D)
	$(CC) $(BENCH_CFLAGS) -o $$@ $$< -L$(2) -lteamsop -Wl,-rpath,$(abspath $(2)) -lcjson

$(BENCH_OUT)/$(1)/first_result: bench/first_result.c bench/bench_common.h
	@mkdir -p $$(@D)
	$(CC) $(BENCH_CFLAGS) -o $$@ $$<

bench-programs-$(1): $(addprefix $(BENCH_OUT)/$(1)/,$(BENCH_PROGS))
endef

$(eval $(call bench_programs,release,$(BENCH_RELEASE),bench-release))
$(eval $(call bench_programs,debug,$(TARGET),build))

bench: deps bench-programs-release
	TEAMSOP_EMULATOR=$(BENCH_RELEASE)/teamsop-emulator scripts/with-emulator.sh --no-record -- \
	  $(BENCH_DRIVER) --bin-dir $(BENCH_OUT)/release --lib $(BENCH_RELEASE)/libteamsop.so \
	  --out $(BENCH_OUT) --n $(BENCH_N) --rounds $(BENCH_ROUNDS) $(BENCH_ARGS)

bench-callgrind: deps bench-programs-release
	TEAMSOP_EMULATOR=$(BENCH_RELEASE)/teamsop-emulator scripts/with-emulator.sh --no-record -- \
	  $(BENCH_DRIVER) --bin-dir $(BENCH_OUT)/release --lib $(BENCH_RELEASE)/libteamsop.so \
	  --out $(BENCH_OUT) --callgrind $(BENCH_ARGS)

bench-smoke: bench-programs-debug
	scripts/with-emulator.sh --no-record -- \
	  $(BENCH_DRIVER) --bin-dir $(BENCH_OUT)/debug --lib $(TARGET)/libteamsop.so \
	  --out $(BENCH_OUT)/smoke --smoke

TEST_TARGETS += bench-smoke
