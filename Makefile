# libteamsop: build, demo and tests. `make demo` and `make test` are the two
# commands of the README's Quick start; both work on a fresh machine.
#
#   make build      the library (.so + SONAME link, .a) and the emulator, debug
#   make release    the same in release, and out/release/teamsop-get
#   make demo       the C example against the emulator
#   make check      the quick loop: lint, Rust tests, the C tests over HTTP
#   make test       everything (what CI runs); `make test-steps` lists its steps
#   make install    see mk/install.mk

CARGO      ?= cargo
CC         ?= gcc
CXX        ?= g++
BUILD      := out

# cargo's target directory: CARGO_TARGET_DIR, a cargo config's build.target-dir,
# or target/. Asked of cargo once per make run (its JSON read with sed: a path
# holding a double quote or a backslash is not supported). Without cargo (say
# `sudo make install NOBUILD=1` with a PATH that has none), the same rule by hand.
TARGET_DIR := $(shell $(CARGO) metadata --format-version 1 --no-deps 2>/dev/null | \
                sed -n 's/.*"target_directory":"\([^"\\]*\)".*/\1/p')
ifeq ($(TARGET_DIR),)
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
endif
TARGET     := $(TARGET_DIR)/debug
RELEASE    := $(TARGET_DIR)/release
LIB_SO     := $(TARGET)/libteamsop.so
LIB_A      := $(TARGET)/libteamsop.a
EMULATOR   := $(TARGET)/teamsop-emulator
CWARN      := -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L
CFLAGS_LIB := -Iinclude
LDLIBS_SO  := -L$(TARGET) -lteamsop -Wl,-rpath,$(TARGET)
# What a static link of a Rust staticlib needs from the C library.
LDLIBS_A   := -lpthread -ldl -lm

# The C test program of the ABI: one program, one translation unit per topic
# (tests/c/abi/), run as a whole or test by test (`out/test_abi --list`).
C_ABI_SRCS := tests/c/test_abi.c \
              $(addprefix tests/c/abi/,common.c client.c fetch.c errors.c operation.c wait.c threads.c)
C_TEST_HDRS := tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h \
               tests/c/abi/abi.h include/teamsop.h

# Tests that `make test` runs after the core ones; each mk/*.mk fragment adds its own.
TEST_TARGETS :=
# Steps that must come after all the others (the README recipes).
TEST_LAST :=

.PHONY: all build release demo test test-steps check deps lint header-check abi-check \
        rust-test c-test c-check c-static-test clean

all: build

# One fragment per concern (C++, .NET, install, memory checks, fuzzing, benchmarks).
include $(sort $(wildcard mk/*.mk))

deps:
	@.ci/install-deps.sh

# The library (.so, .a, header) and the emulator, in one cargo invocation. The
# link named by the SONAME is what a program linked with -lteamsop loads.
build:
	$(CARGO) build --workspace --bins --lib
	@ln -sf libteamsop.so $(TARGET)/libteamsop.so.0

# The same in release (the README's recipes link against it), and teamsop-get
# linked against it (out/release/teamsop-get). The library is built alone, as
# `make install` builds it (the emulator's dependencies would otherwise add their
# features to the library's), so that an install after it builds nothing again.
release:
	$(CARGO) build --release --lib
	$(CARGO) build --release -p teamsop-emulator --bins
	@ln -sf libteamsop.so $(RELEASE)/libteamsop.so.0
	@mkdir -p $(BUILD)/release
	$(CC) $(CWARN) -O2 $(CFLAGS_LIB) -o $(BUILD)/release/teamsop-get examples-c/teamsop-get.c \
	  -L$(RELEASE) -lteamsop -Wl,-rpath,$(RELEASE)
	@echo "release: in $(RELEASE): libteamsop.so (and libteamsop.so.0), libteamsop.a, teamsop-emulator;" \
	  "$(BUILD)/release/teamsop-get"

$(BUILD):
	mkdir -p $@

$(BUILD)/teamsop-get: examples-c/teamsop-get.c include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO)

demo: build $(BUILD)/teamsop-get
	@.ci/install-deps.sh curl
	@scripts/with-emulator.sh -- scripts/demo.sh

# ---------------------------------------------------------------- tests

# The steps of `make test`, in order (README's Testing table lists the same;
# `make readme-test` checks it).
TEST_STEPS = lint header-check abi-check rust-test c-test c-static-test $(TEST_TARGETS) $(TEST_LAST)

test: deps $(TEST_STEPS)
	@echo "make test: all passed"

test-steps:
	@echo $(TEST_STEPS)

# The edit-compile loop: lint, the Rust tests, the exports, and the C programs
# against the emulator over plain HTTP only (no TLS pass, valgrind, ASan, fuzzing,
# Mono, install or benchmarks: `make test` runs those).
check: lint rust-test abi-check c-check hostile-test long-test
	@echo "make check: all passed (make test runs the rest)"

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

$(BUILD)/test_abi: $(C_ABI_SRCS) $(C_TEST_HDRS) build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $(C_ABI_SRCS) $(LDLIBS_SO) -lpthread

$(BUILD)/test_behaviour: tests/c/test_behaviour.c tests/c/check.h tests/c/emulator_control.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO) -lpthread

$(BUILD)/test_abi_static: $(C_ABI_SRCS) $(C_TEST_HDRS) build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $(C_ABI_SRCS) $(LIB_A) $(LDLIBS_A)

CLI_SCEN := tests/c/teamsop-get-scenarios.json

# The C test program and the CLI's tests, over HTTP and over HTTPS (the
# emulator's own CA passed with teamsop_client_set_ca_file / --ca-file), and
# Graph's behaviours (retries, Retry-After, redirects, TLS, reuse) from C.
c-test: $(BUILD)/test_abi $(BUILD)/teamsop-get $(BUILD)/test_behaviour
	scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi
	scripts/with-emulator.sh --scenarios $(CLI_SCEN) -- tests/c/teamsop-get.sh $(BUILD)/teamsop-get
	scripts/with-emulator.sh --tls --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi
	scripts/with-emulator.sh --tls --scenarios $(CLI_SCEN) -- tests/c/teamsop-get.sh $(BUILD)/teamsop-get
	tests/c/run-behaviour.sh $(BUILD)/test_behaviour

# c-test's plain-HTTP half (make check).
c-check: $(BUILD)/test_abi $(BUILD)/teamsop-get $(BUILD)/test_behaviour
	scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi
	scripts/with-emulator.sh --scenarios $(CLI_SCEN) -- tests/c/teamsop-get.sh $(BUILD)/teamsop-get
	tests/c/run-behaviour.sh --plain-only $(BUILD)/test_behaviour

c-static-test: $(BUILD)/test_abi_static
	@if ldd $(BUILD)/test_abi_static | grep -q libteamsop; then echo "test_abi_static links libteamsop dynamically" >&2; exit 1; fi
	scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- $(BUILD)/test_abi_static

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
