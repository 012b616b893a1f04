# Many operations at once (bench/batch_bench.py, BENCHMARKS.md): teamsop_batch at
# a rate R against the naive peers (a thread per operation calling teamsop_wait,
# a sequential loop of teamsop_get_location), and JSON batching on and off, on
# an emulator holding N operations that end within T seconds and limiting GETs.
#
#   make bench-batch        the full run on the release library and emulator
#                           (N = 2,000, R = 200/s, T = 10 s; about 3 minutes
#                           once built): the table, and each target met or
#                           missed (BENCH_BATCH_ARGS=--check: exit 1 when one
#                           is missed); results in out/bench/batch/
#   make bench-batch-smoke  the same clients against the debug build with a tiny
#                           N: each one runs, the batch reports every operation
#                           once; part of `make test`, no figure checked

BENCH_BATCH_ARGS ?=
BENCH_BATCH      := python3 bench/batch_bench.py

.PHONY: bench-batch bench-batch-smoke

$(BENCH_OUT)/release/batch_clients: bench/batch_clients.c bench/bench_common.h include/teamsop.h bench-release
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -L$(BENCH_RELEASE) -lteamsop -Wl,-rpath,$(abspath $(BENCH_RELEASE)) -lpthread

$(BENCH_OUT)/debug/batch_clients: bench/batch_clients.c bench/bench_common.h include/teamsop.h build
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -L$(TARGET) -lteamsop -Wl,-rpath,$(abspath $(TARGET)) -lpthread

bench-batch: $(BENCH_OUT)/release/batch_clients
	TEAMSOP_EMULATOR=$(BENCH_RELEASE)/teamsop-emulator scripts/with-emulator.sh --no-record -- \
	  $(BENCH_BATCH) --bin-dir $(BENCH_OUT)/release --out $(BENCH_OUT)/batch $(BENCH_BATCH_ARGS)

bench-batch-smoke: $(BENCH_OUT)/debug/batch_clients
	scripts/with-emulator.sh --no-record -- \
	  $(BENCH_BATCH) --bin-dir $(BENCH_OUT)/debug --out $(BENCH_OUT)/batch-smoke --smoke

TEST_TARGETS += bench-batch-smoke
