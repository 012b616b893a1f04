/*
 * teamsop: GET the seed operation through the C ABI, read every field, free it;
 * N times on one client (shared by all threads with --threads).
 *
 *   TEAMSOP_BASE_URL=... TEAMSOP_TOKEN=... teamsop_loop [--n N] [--warmup W]
 *       [--threads T] [--first] [--ca-file PEM] [--fresh]
 *
 * --ca-file trusts that PEM file too (teamsop_client_set_ca_file), for an https
 * base URL. --fresh makes each call on a client of its own (new, configured,
 * one GET, freed): a new connection, and over HTTPS a full handshake, per call.
 *
 * See loop_harness.h for the modes and the result line.
 */
#include "loop_harness.h"
#include "teamsop_fields.h"

static teamsop_client *client;
static const char *ca_file;
static int fresh;

static int flag(int argc, char **argv, int *i) {
    if (strcmp(argv[*i], "--ca-file") == 0 && *i + 1 < argc) {
        ca_file = argv[++*i];
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
        (ca_file && teamsop_client_set_ca_file(c, ca_file) != TEAMSOP_OK)) {
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
    static char extra[96];
    snprintf(extra, sizeof extra, ", \"version\": \"%s\", \"fresh\": %s", teamsop_version(),
             fresh ? "true" : "false");
    return extra;
}

int main(int argc, char **argv) {
    static const struct bench_program prog = {
        "teamsop", flag, setup, thread_state, call, thread_done, teardown, describe,
    };
    return bench_main(&prog, argc, argv);
}
