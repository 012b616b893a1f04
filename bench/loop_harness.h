/*
 * The measuring half of teamsop_loop.c and peer_loop.c, shared so that both are
 * timed by the same code. A program defines a `struct bench_program` (how to set up,
 * make one call, tear down) and calls bench_main.
 *
 *   PROG [--n N] [--warmup W] [--threads T] [--first] [PROGRAM FLAGS...]
 *
 * Loop mode (default): T threads (default 1), each makes W untimed calls, waits at
 * a barrier, then makes its share of N timed calls, each timed with
 * CLOCK_MONOTONIC. Prints one JSON line: per-call median / p99 / mean (over all
 * threads' calls), calls/s (N over the wall time from the barrier to the last
 * thread's end), CPU time (user, system) of the process per call, peak RSS
 * (VmHWM), errors.
 *
 * First mode (--first): prints the CLOCK_MONOTONIC times at which main was entered,
 * the client was ready and the first result was read, for bench/first_result.c
 * which knows when it spawned the process.
 *
 * Exits 1 if any call failed or read a wrong value, 0 otherwise.
 */
#ifndef TEAMSOP_BENCH_LOOP_HARNESS_H
#define TEAMSOP_BENCH_LOOP_HARNESS_H

#include "bench_common.h"

struct bench_program {
    const char *name;
    /* Parses a flag of its own at argv[*i] (advancing *i past any value); 0 if unknown. */
    int (*flag)(int argc, char **argv, int *i);
    /* Once per process, before any thread: the shared client, global init. 0 on success. */
    int (*setup)(void);
    /* Per thread: its state (the shared client, or its own handle). NULL on failure. */
    void *(*thread_state)(int index);
    /* One call: GET, read every field, free. 0 if the answer was right. */
    int (*call)(void *state);
    void (*thread_done)(void *state);
    void (*teardown)(void);
    /* Extra JSON members for the result line (", \"k\": v" or ""). */
    const char *(*describe)(void);
};

static const struct bench_program *bench_prog;
static pthread_barrier_t bench_barrier;
static uint64_t bench_start_ns;

/* The timed calls of one thread. Not inlined, so that callgrind can count it alone
 * (valgrind --tool=callgrind --toggle-collect=bench_timed_calls). */
__attribute__((noinline)) long bench_timed_calls(void *state, long calls, uint64_t *lat) {
    long errors = 0;
    for (long i = 0; i < calls; i++) {
        uint64_t t0 = bench_now_ns();
        errors += bench_prog->call(state) != 0;
        lat[i] = bench_now_ns() - t0;
    }
    return errors;
}

static void *bench_thread_main(void *arg) {
    struct bench_thread *t = arg;
    for (long i = 0; i < t->warmup; i++) t->errors += bench_prog->call(t->ctx) != 0;
    pthread_barrier_wait(&bench_barrier);
    if (t->index == 0) bench_start_ns = bench_now_ns();
    t->errors += bench_timed_calls(t->ctx, t->calls, t->lat);
    return NULL;
}

static int bench_loop(long n, long warmup, int threads) {
    struct bench_thread *ts = calloc((size_t)threads, sizeof *ts);
    uint64_t *lat = calloc((size_t)(n > 0 ? n : 1), sizeof *lat);
    if (!ts || !lat) return 1;
    long offset = 0;
    for (int k = 0; k < threads; k++) {
        ts[k].index = k;
        ts[k].calls = n / threads + (k < n % threads);
        ts[k].warmup = warmup;
        ts[k].lat = lat + offset;
        offset += ts[k].calls;
        ts[k].ctx = bench_prog->thread_state(k);
        if (!ts[k].ctx) {
            fprintf(stderr, "%s: thread %d could not set up\n", bench_prog->name, k);
            return 1;
        }
    }
    pthread_barrier_init(&bench_barrier, NULL, (unsigned)threads + 1);
    for (int k = 0; k < threads; k++)
        if (pthread_create(&ts[k].tid, NULL, bench_thread_main, &ts[k]) != 0) {
            fprintf(stderr, "%s: pthread_create failed\n", bench_prog->name);
            return 1;
        }
    pthread_barrier_wait(&bench_barrier);
    uint64_t user0, sys0, user1, sys1;
    bench_cpu_ns(&user0, &sys0);
    long errors = 0;
    for (int k = 0; k < threads; k++) {
        pthread_join(ts[k].tid, NULL);
        errors += ts[k].errors;
    }
    uint64_t end = bench_now_ns();
    bench_cpu_ns(&user1, &sys1);
    double per = n ? 1.0 / (double)n : 0.0;
    double user = (double)(user1 - user0) * per, sys = (double)(sys1 - sys0) * per;
    /* bench_start_ns is set by thread 0 just after the barrier; joins order it. */
    uint64_t wall = end - bench_start_ns;
    for (int k = 0; k < threads; k++) bench_prog->thread_done(ts[k].ctx);
    struct bench_stats s = bench_stats_of(lat, (size_t)n);
    printf("{\"prog\": \"%s\", \"mode\": \"loop\", \"threads\": %d, \"n\": %ld, \"warmup\": %ld, "
           "\"wall_ns\": %llu, \"calls_per_s\": %.1f, \"median_ns\": %.0f, \"p99_ns\": %.0f, "
           "\"mean_ns\": %.0f, \"min_ns\": %.0f, \"max_ns\": %.0f, \"cpu_ns_per_call\": %.0f, "
           "\"user_ns_per_call\": %.0f, \"sys_ns_per_call\": %.0f, "
           "\"peak_rss_kib\": %ld, \"errors\": %ld%s}\n",
           bench_prog->name, threads, n, warmup, (unsigned long long)wall,
           wall ? (double)n * 1e9 / (double)wall : 0.0, s.median_ns, s.p99_ns, s.mean_ns,
           s.min_ns, s.max_ns, user + sys, user, sys, bench_peak_rss_kib(), errors,
           bench_prog->describe());
    fflush(stdout);
    pthread_barrier_destroy(&bench_barrier);
    free(ts);
    free(lat);
    return errors ? 1 : 0;
}

static int bench_first(uint64_t t_main) {
    if (bench_prog->setup() != 0) return 1;
    void *state = bench_prog->thread_state(0);
    if (!state) return 1;
    uint64_t t_client = bench_now_ns();
    int bad = bench_prog->call(state);
    uint64_t t_first = bench_now_ns();
    printf("{\"prog\": \"%s\", \"mode\": \"first\", \"t_main_ns\": %llu, \"t_client_ns\": %llu, "
           "\"t_first_ns\": %llu, \"peak_rss_kib\": %ld, \"errors\": %d%s}\n",
           bench_prog->name, (unsigned long long)t_main, (unsigned long long)t_client,
           (unsigned long long)t_first, bench_peak_rss_kib(), bad, bench_prog->describe());
    fflush(stdout);
    bench_prog->thread_done(state);
    bench_prog->teardown();
    return bad ? 1 : 0;
}

static int bench_main(const struct bench_program *prog, int argc, char **argv) {
    uint64_t t_main = bench_now_ns();
    bench_prog = prog;
    long n = 10000, warmup = 200;
    int threads = 1, first = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--n") == 0 && i + 1 < argc) {
            n = bench_arg_long(a, argv[++i]);
        } else if (strcmp(a, "--warmup") == 0 && i + 1 < argc) {
            warmup = bench_arg_long(a, argv[++i]);
        } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
            threads = (int)bench_arg_long(a, argv[++i]);
            if (threads < 1 || threads > 256) {
                fprintf(stderr, "--threads: 1 to 256\n");
                return 64;
            }
        } else if (strcmp(a, "--first") == 0) {
            first = 1;
        } else if (!prog->flag(argc, argv, &i)) {
            fprintf(stderr,
                    "usage: %s [--n N] [--warmup W] [--threads T] [--first] (program flags)\n"
                    "unknown argument %s\n",
                    argv[0], a);
            return 64;
        }
    }
    if (first) return bench_first(t_main);
    if (prog->setup() != 0) return 1;
    int rc = bench_loop(n, warmup, threads);
    prog->teardown();
    return rc;
}

#endif
