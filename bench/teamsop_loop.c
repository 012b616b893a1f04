/*
 * teamsop: GET the seed operation through the C ABI, read every field, free it;
 * N times on one client (shared by all threads with --threads).
 *
 *   TEAMSOP_BASE_URL=... TEAMSOP_TOKEN=... teamsop_loop [--n N] [--warmup W]
 *       [--threads T] [--first] [--ca-file PEM] [--fresh] [--log-level LEVEL]
 *
 * --ca-file trusts that PEM file too (teamsop_client_set_ca_file), for an https
 * base URL. --fresh makes each call on a client of its own (new, configured,
 * one GET, freed): a new connection, and over HTTPS a full handshake, per call.
 * --log-level (error, warn, info or debug) sets a log callback at that level
 * (teamsop_client_set_log) that counts the lines and reads each one, as a host
 * handing them to its own logger would at least do: at info, one line per call.
 * Without it logging is off, as by default.
 *
 * See loop_harness.h for the modes and the result line.
 */
#include "loop_harness.h"
#include "teamsop_fields.h"

#include <stdatomic.h>

static teamsop_client *client;
static const char *ca_file;
static int fresh;
static uint32_t log_level; /* 0: logging off */
static atomic_long log_lines;

static const char *const level_names[] = {"off", "error", "warn", "info", "debug"};

/* The log callback: counts the line and reads it (its length, into the sink). */
static void on_log(void *user_data, teamsop_log_level level, const char *line) {
    (void)user_data;
    (void)level;
    atomic_fetch_add_explicit(&log_lines, 1, memory_order_relaxed);
    bench_sink += strlen(line);
}

static int flag(int argc, char **argv, int *i) {
    if (strcmp(argv[*i], "--ca-file") == 0 && *i + 1 < argc) {
        ca_file = argv[++*i];
        return 1;
    }
    if (strcmp(argv[*i], "--log-level") == 0 && *i + 1 < argc) {
        const char *name = argv[++*i];
        for (uint32_t l = 1; l <= 4; l++)
            if (strcmp(name, level_names[l]) == 0) log_level = l;
        if (log_level == 0) {
            fprintf(stderr, "--log-level: error, warn, info or debug, not %s\n", name);
            exit(64);
        }
        return 1;
    }
    if (strcmp(argv[*i], "--fresh") == 0) {
        fresh = 1;
        return 1;
    }
    return 0;
}

/* A client for the emulator: token, base URL and, with --ca-file, the CA. */
static teamsop_client *new_client(void) {
    teamsop_client *c = teamsop_client_new(bench_env("TEAMSOP_TOKEN"));
    if (!c) {
        fprintf(stderr, "teamsop_client_new: %s\n", teamsop_last_error_message());
        return NULL;
    }
    if (teamsop_client_set_base_url(c, bench_env("TEAMSOP_BASE_URL")) != TEAMSOP_OK ||
        (ca_file && teamsop_client_set_ca_file(c, ca_file) != TEAMSOP_OK) ||
        (log_level && teamsop_client_set_log(c, log_level, on_log, NULL) != TEAMSOP_OK)) {
        fprintf(stderr, "teamsop_client_set_*: %s\n", teamsop_last_error_message());
        teamsop_client_free(c);
        return NULL;
    }
    return c;
}

static int setup(void) {
    if (fresh) return 0;
    client = new_client();
    return client ? 0 : 1;
}

static void *thread_state(int index) {
    (void)index;
    static char per_call; /* --fresh: a client per call, nothing shared */
    return fresh ? (void *)&per_call : (void *)client; /* one client for every thread */
}

static int get_and_read(teamsop_client *c);

static int call(void *state) {
    if (!fresh) return get_and_read(state);
    (void)state;
    teamsop_client *c = new_client();
    if (!c) return 1;
    int bad = get_and_read(c);
    teamsop_client_free(c);
    return bad;
}

static int get_and_read(teamsop_client *c) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(c, BENCH_CHAT_ID, BENCH_OPERATION_ID, &op);
    if (r != TEAMSOP_OK) {
        static int reported;
        if (!reported++)
            fprintf(stderr, "teamsop_get: %s: %s\n", teamsop_result_str(r),
                    teamsop_last_error_message());
        return 1;
    }
    int bad = teamsop_read_fields(op);
    teamsop_free(op);
    return bad;
}

static void thread_done(void *state) { (void)state; }

static void teardown(void) {
    teamsop_client_free(client);
    client = NULL;
}

static const char *describe(void) {
    static char extra[160];
    snprintf(extra, sizeof extra,
             ", \"version\": \"%s\", \"fresh\": %s, \"log_level\": \"%s\", \"log_lines\": %ld",
             teamsop_version(), fresh ? "true" : "false", level_names[log_level],
             atomic_load(&log_lines));
    return extra;
}

int main(int argc, char **argv) {
    static const struct bench_program prog = {
        "teamsop", flag, setup, thread_state, call, thread_done, teardown, describe,
    };
    return bench_main(&prog, argc, argv);
}
