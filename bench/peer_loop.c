/*
 * peer: the loop of teamsop_loop.c written by hand with libcurl and cJSON, the way
 * a careful C programmer would: one reused easy handle per thread (keep-alive),
 * the headers the library sends (Authorization, Accept, Prefer, User-Agent and a
 * fresh client-request-id GUID per call), the URL built per call with each id
 * percent-encoded, the status and Content-Type checked, the body capped at 1 MiB,
 * then cJSON_ParseWithLength and the same fields read as the teamsop loop reads,
 * type-checked, with the enums looked up and both date-times converted to Unix ms.
 *
 *   TEAMSOP_BASE_URL=... TEAMSOP_TOKEN=... peer_loop [--n N] [--warmup W]
 *       [--threads T] [--first] [--no-parse] [--no-client-request-id]
 *       [--ca-file PEM] [--fresh]
 *
 * --ca-file verifies the server against that PEM file (CURLOPT_CAINFO; libcurl
 * reads it at each new connection). --fresh makes each call on an easy handle of
 * its own (created, configured, one GET, cleaned up): a new connection, and over
 * HTTPS a full handshake (no session cache is shared), per call.
 *
 * --no-parse is the floor: the same requests, the body received but not parsed
 * (what the emulator, loopback and libcurl cost without any JSON work).
 * See loop_harness.h for the modes and the result line.
 */
#include <curl/curl.h>

#include "cjson_fields.h"
#include "loop_harness.h"

#define PEER_MAX_BODY (1024 * 1024)

static int no_parse;
static int no_client_request_id;
static const char *ca_file;
static int fresh;
static const char *base_url;
static char auth_header[4096];

struct peer {
    CURL *easy;
    struct curl_slist *headers;
    struct curl_slist *request_id; /* the node whose GUID changes per call */
    char *body;
    size_t len, cap;
    int too_large;
    uint64_t rng;
    char url[1024];
};

static int flag(int argc, char **argv, int *i) {
    (void)argc;
    if (strcmp(argv[*i], "--no-parse") == 0) {
        no_parse = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--no-client-request-id") == 0) {
        no_client_request_id = 1;
        return 1;
    }
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

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    struct peer *p = user;
    size_t n = size * count;
    if (p->len + n > PEER_MAX_BODY) {
        p->too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 8192;
        while (cap < p->len + n + 1) cap *= 2;
        char *grown = realloc(p->body, cap);
        if (!grown) return 0;
        p->body = grown;
        p->cap = cap;
    }
    memcpy(p->body + p->len, data, n);
    p->len += n;
    p->body[p->len] = 0;
    return n;
}

static int setup(void) {
    base_url = bench_env("TEAMSOP_BASE_URL");
    int w = snprintf(auth_header, sizeof auth_header, "Authorization: Bearer %s",
                     bench_env("TEAMSOP_TOKEN"));
    if (w < 0 || (size_t)w >= sizeof auth_header) return 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    return 0;
}

static void configure(struct peer *p);

static void *thread_state(int index) {
    struct peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)(index + 1) * 0xbf58476d1ce4e5b9ull) ^
             bench_now_ns();
    p->easy = curl_easy_init();
    if (!p->easy) return NULL;
    p->headers = curl_slist_append(NULL, auth_header);
    p->headers = curl_slist_append(p->headers, "Accept: application/json");
    p->headers = curl_slist_append(p->headers, "Prefer: include-unknown-enum-members");
    if (!no_client_request_id) {
        p->headers = curl_slist_append(p->headers,
                                       "client-request-id: 00000000-0000-0000-0000-000000000000");
        for (p->request_id = p->headers; p->request_id->next; p->request_id = p->request_id->next) {
        }
    }
    if (!p->headers) return NULL;
    if (fresh) {
        curl_easy_cleanup(p->easy); /* made per call in call() */
        p->easy = NULL;
        return p;
    }
    configure(p);
    return p;
}

/* The easy handle's options, the same for a reused handle and a fresh one. */
static void configure(struct peer *p) {
    curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
    curl_easy_setopt(p->easy, CURLOPT_USERAGENT, "libteamsop-bench-peer/1");
    curl_easy_setopt(p->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(p->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
    if (ca_file) curl_easy_setopt(p->easy, CURLOPT_CAINFO, ca_file);
}

static int is_json(const char *content_type) {
    if (!content_type) return 1; /* none: taken as JSON, as the library does */
    size_t n = strcspn(content_type, ";");
    while (n && content_type[n - 1] == ' ') n--;
    return (n == 16 && strncasecmp(content_type, "application/json", 16) == 0) ||
           (n >= 5 && strncasecmp(content_type + n - 5, "+json", 5) == 0);
}

static int check_and_read(struct peer *p, long code, const char *content_type);

static int call(void *state) {
    struct peer *p = state;
    char *u = p->url;
    size_t blen = strlen(base_url);
    memcpy(u, base_url, blen);
    u += blen;
    memcpy(u, "/chats/", 7);
    u = bench_encode_segment(u + 7, BENCH_CHAT_ID);
    memcpy(u, "/operations/", 12);
    u = bench_encode_segment(u + 12, BENCH_OPERATION_ID);
    *u = 0;
    if (p->request_id) bench_guid(&p->rng, p->request_id->data + strlen("client-request-id: "));
    if (fresh) {
        p->easy = curl_easy_init();
        if (!p->easy) return 1;
        configure(p);
    }
    curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
    p->len = 0;
    p->too_large = 0;
    CURLcode rc = curl_easy_perform(p->easy);
    long code = 0;
    char *content_type = NULL;
    curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &content_type);
    int bad = rc != CURLE_OK || check_and_read(p, code, content_type);
    if (fresh) {
        curl_easy_cleanup(p->easy);
        p->easy = NULL;
    }
    if (rc != CURLE_OK) {
        static int reported;
        if (!reported++) fprintf(stderr, "curl_easy_perform: %s\n", curl_easy_strerror(rc));
    }
    return bad;
}

/* The answer's status and type checked, then its body read (or, as the floor, not). */
static int check_and_read(struct peer *p, long code, const char *content_type) {
    if (code != 200 || !is_json(content_type) || p->len == 0) return 1;
    if (no_parse) {
        bench_sink += (unsigned char)p->body[0];
        return p->body[0] != '{';
    }
    return cjson_read_fields(p->body, p->len);
}

static void thread_done(void *state) {
    struct peer *p = state;
    if (p->easy) curl_easy_cleanup(p->easy);
    curl_slist_free_all(p->headers);
    free(p->body);
    free(p);
}

static void teardown(void) { curl_global_cleanup(); }

static const char *describe(void) {
    static char extra[192];
    snprintf(extra, sizeof extra,
             ", \"parse\": %s, \"client_request_id\": %s, \"fresh\": %s, \"curl\": \"%s\"",
             no_parse ? "false" : "true", no_client_request_id ? "false" : "true",
             fresh ? "true" : "false", curl_version_info(CURLVERSION_NOW)->version);
    return extra;
}

int main(int argc, char **argv) {
    static struct bench_program prog = {
        "peer", flag, setup, thread_state, call, thread_done, teardown, describe,
    };
    /* The name in the result line says which of the two it is. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--no-parse") == 0) prog.name = "floor";
    return bench_main(&prog, argc, argv);
}
