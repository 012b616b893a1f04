# Fuzzing (fuzz/): libFuzzer targets for the operation body parser (Rust API and
# C ABI), the Location parser and the timestamp parser. Built on the stable
# toolchain with RUSTC_BOOTSTRAP=1 (sancov + ASan); fuzz/setup.sh checks the tools.
#
#   make fuzz                        each target for FUZZ_SECONDS (300) s
#   make fuzz FUZZ_TARGETS=location  one target
#   make fuzz-smoke                  each target for FUZZ_SMOKE_SECONDS (20) s, FUZZ_SMOKE_JOBS
#                                    (2) at a time: one per core of the usual machine (make test)
#
# Kept crash inputs in fuzz/regressions/<target>/ are replayed first and must pass.
# A new crash leaves its input in fuzz/artifacts/<target>/ and fails the target.

FUZZ_SECONDS       ?= 300
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_SMOKE_JOBS    ?= 2
FUZZ_TARGETS       ?=

.PHONY: fuzz fuzz-smoke fuzz-build

fuzz:
	fuzz/run.sh -t $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	fuzz/run.sh -t $(FUZZ_SMOKE_SECONDS) -j $(FUZZ_SMOKE_JOBS) $(FUZZ_TARGETS)

fuzz-build:
	fuzz/run.sh --build

TEST_TARGETS += fuzz-smoke
