# libteamsop: build, demo and tests. `make demo` and `make test` are the two
# commands of the README's Quick start; both work on a fresh machine.

CARGO      ?= cargo
CC         ?= gcc
CXX        ?= g++
BUILD      := out
TARGET     := target/debug
LIB_SO     := $(TARGET)/libteamsop.so
LIB_A      := $(TARGET)/libteamsop.a
EMULATOR   := $(TARGET)/teamsop-emulator
CWARN      := -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L
CFLAGS_LIB := -Iinclude
LDLIBS_SO  := -L$(TARGET) -lteamsop -Wl,-rpath,$(abspath $(TARGET))
# What a static link of a Rust staticlib needs from the C library.
LDLIBS_A   := -lpthread -ldl -lm

# Tests that `make test` runs after the core ones; each mk/*.mk fragment adds its own.
TEST_TARGETS :=

.PHONY: all build demo test deps lint header-check abi-check rust-test c-test \
        c-static-test clean

all: build

# One fragment per concern (C++, .NET, install, memory checks, fuzzing, benchmarks).
include $(sort $(wildcard mk/*.mk))

deps:
	@.ci/install-deps.sh

# The library (.so, .a, header) and the emulator, in one cargo invocation.
build:
	$(CARGO) build --workspace --bins --lib
	@ln -sf libteamsop.so $(TARGET)/libteamsop.so.0

$(BUILD):
	mkdir -p $(BUILD)

$(BUILD)/teamsop-get: examples-c/teamsop-get.c include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO)

demo: build $(BUILD)/teamsop-get
	@.ci/install-deps.sh curl
	@scripts/with-emulator.sh -- scripts/demo.sh

# ---------------------------------------------------------------- tests

test: deps lint header-check abi-check rust-test c-test c-static-test $(TEST_TARGETS)
	@echo "make test: all passed"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The checked-in header must be what the code generates (tests/header.rs; refresh
# it with TEAMSOP_BLESS_HEADER=1 cargo test --test header).
header-check:
	$(CARGO) test --test header

# The .so exports only teamsop_* symbols and carries its SONAME.
abi-check: build
	@bad=$$(nm -D --defined-only $(LIB_SO) | awk '{print $$3}' | grep -v '^teamsop_' || true); \
	if [ -n "$$bad" ]; then echo "unexpected exported symbols:" >&2; echo "$$bad" >&2; exit 1; fi
	@readelf -d $(LIB_SO) | grep -q 'SONAME.*\[libteamsop.so.0\]' || { echo "no SONAME libteamsop.so.0" >&2; exit 1; }
	@echo "abi-check: only teamsop_* exported, SONAME libteamsop.so.0"

rust-test:
	$(CARGO) test --workspace

$(BUILD)/test_abi: tests/c/test_abi.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

$(BUILD)/test_behaviour: tests/c/test_behaviour.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

$(BUILD)/test_abi_static: tests/c/test_abi.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LIB_A) $(LDLIBS_A)

# The C test program and the CLI's tests, over HTTP and over HTTPS (the
# emulator's own CA passed with teamsop_client_set_ca_file / --ca-file), and
# Graph's behaviours (retries, Retry-After, redirects, TLS, reuse) from C.
c-test: $(BUILD)/test_abi $(BUILD)/teamsop-get $(BUILD)/test_behaviour
	scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi
	scripts/with-emulator.sh -- tests/c/teamsop-get.sh $(BUILD)/teamsop-get
	scripts/with-emulator.sh --tls --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi
	scripts/with-emulator.sh --tls -- tests/c/teamsop-get.sh $(BUILD)/teamsop-get
	tests/c/run-behaviour.sh $(BUILD)/test_behaviour

c-static-test: $(BUILD)/test_abi_static
	@if ldd $(BUILD)/test_abi_static | grep -q libteamsop; then echo "test_abi_static links libteamsop dynamically" >&2; exit 1; fi
	scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi_static

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
