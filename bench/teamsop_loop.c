/*
 * teamsop: GET the seed operation through the C ABI, read every field, free it;
 * N times on one client (shared by all threads with --threads).
 *
 *   TEAMSOP_BASE_URL=... TEAMSOP_TOKEN=... teamsop_loop [--n N] [--warmup W]
 *       [--threads T] [--first]
 *
 * See loop_harness.h for the modes and the result line.
 */
#include "loop_harness.h"
#include "teamsop_fields.h"

static teamsop_client *client;

static int flag(int argc, char **argv, int *i) {
    (void)argc;
    (void)argv;
    (void)i;
    return 0;
}

static int setup(void) {
    client = teamsop_client_new(bench_env("TEAMSOP_TOKEN"));
    if (!client) {
        fprintf(stderr, "teamsop_client_new: %s\n", teamsop_last_error_message());
        return 1;
    }
    if (teamsop_client_set_base_url(client, bench_env("TEAMSOP_BASE_URL")) != TEAMSOP_OK) {
        fprintf(stderr, "teamsop_client_set_base_url: %s\n", teamsop_last_error_message());
        return 1;
    }
    return 0;
}

static void *thread_state(int index) {
    (void)index;
    return client; /* one client for every thread */
}

static int call(void *state) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(state, BENCH_CHAT_ID, BENCH_OPERATION_ID, &op);
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
    static char extra[64];
    snprintf(extra, sizeof extra, ", \"version\": \"%s\"", teamsop_version());
    return extra;
}

int main(int argc, char **argv) {
    static const struct bench_program prog = {
        "teamsop", flag, setup, thread_state, call, thread_done, teardown, describe,
    };
    return bench_main(&prog, argc, argv);
}
