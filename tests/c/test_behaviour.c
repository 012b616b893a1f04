/*
 * test_behaviour.c: what Graph needs of a client (issue "Behave like Graph
 * needs"), exercised from C through the ABI: throttling and Retry-After (seconds
 * and HTTP dates), retries of 503/504 within the call's deadline, connection
 * reuse, redirects that never carry the token off the Graph host, TLS with an
 * extra CA, no downgrade from https to http, and Retry-After pacing a wait.
 * tests/retry.rs, tests/transport.rs and tests/wait.rs test the same from Rust.
 *
 * Run it with tests/c/run-behaviour.sh BIN, which starts two emulators, one
 * inside the other (scripts/with-emulator.sh twice):
 *
 *   TEAMSOP_OTHER_URL     the outer emulator, always plain http: "another host"
 *                         for the redirect tests, and the plain target of the
 *                         https -> http redirect
 *   TEAMSOP_EMULATOR_URL  the inner emulator: the client's Graph host
 *   TEAMSOP_BASE_URL, TEAMSOP_TOKEN, and TEAMSOP_CA_FILE (TLS pass) as exported
 *   by scripts/with-emulator.sh for the inner one.
 *
 * Plain pass (no TEAMSOP_CA_FILE): the inner emulator is loaded with
 * tests/c/behaviour-scenarios.json; scenarios that need run-time values (an HTTP
 * date, the other emulator's port) are POSTed to /_emulator/scenarios. The
 * socket client of emulator_control.h reads both emulators' records and stats.
 *
 * TLS pass (TEAMSOP_CA_FILE set): the inner emulator is https, so the socket
 * client (plain http only) cannot reach it; its scenarios come from
 * tests/c/behaviour-scenarios-tls.json, in which run-behaviour.sh replaces
 * @TEAMSOP_OTHER_URL@ with the plain emulator's URL. What the https emulator did
 * or did not receive is read through its scenarios' counters instead (see
 * test_tls_without_ca_is_not_trusted); what the plain one received, through its
 * record and stats.
 *
 * Run from the repository root. Exit status 0 when every check passed. Test
 * names on the command line run only those (--list lists them; see check.h):
 * tests/c/run-behaviour.sh BIN NAME... passes them on to both passes.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
#include "emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; SEED_CHAT, SEED_OP, now_s,
 * is_guid, DUMMY_OP, CHECK_RESULT. */
#include "test_support.h"

/* ------------------------------------------------------------------ fixtures */

/* The request-id the b-429-forever scenario sends. */
#define FOREVER_REQUEST_ID "0b0b0b0b-1111-2222-3333-444444444444"

static const char *g_base_url;  /* TEAMSOP_BASE_URL: the inner emulator's /beta */
static const char *g_token;     /* TEAMSOP_TOKEN */
static const char *g_emu_url;   /* TEAMSOP_EMULATOR_URL: the inner emulator */
static const char *g_other_url; /* TEAMSOP_OTHER_URL: the outer (plain) emulator */
static const char *g_ca_file;   /* TEAMSOP_CA_FILE, or NULL: the TLS pass */
static int g_emu_port;
static int g_other_port;

/* ------------------------------------------------------------ checks */

static bool check_range_(double v, double lo, double hi, const char *expr, const char *file,
                         int line) {
  bool ok = v >= lo && v <= hi;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s is %g, expected %g to %g\n", file, line,
            check_test_name_(), expr, v, lo, hi);
  }
  return ok;
}
/* lo <= v <= hi */
#define CHECK_RANGE(v, lo, hi) check_range_((double)(v), (lo), (hi), #v, __FILE__, __LINE__)

static bool check_contains_(const char *hay, const char *needle, const char *expr,
                            const char *file, int line) {
  bool ok = hay != NULL && strstr(hay, needle) != NULL;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s does not contain \"%s\": ", file, line,
            check_test_name_(), expr, needle);
    check_print_str_(stderr, hay);
    fputc('\n', stderr);
  }
  return ok;
}
#define CHECK_CONTAINS(hay, needle) check_contains_((hay), (needle), #hay, __FILE__, __LINE__)

/* The seed operation, as served by a scenario's {"operation": "seed"}. */
static void check_seed_(const teamsop_operation *op, const char *file, int line) {
  check_null_(op, false, "op", file, line);
  check_streq_(teamsop_operation_id(op), SEED_OP, "teamsop_operation_id(op)", "SEED_OP", file,
               line);
  check_eq_int_(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED, "status",
                "TEAMSOP_STATUS_SUCCEEDED", file, line);
  check_eq_int_(teamsop_operation_type(op), TEAMSOP_TYPE_CREATE_CHAT, "type",
                "TEAMSOP_TYPE_CREATE_CHAT", file, line);
}
#define CHECK_SEED(op) check_seed_((op), __FILE__, __LINE__)

/* ------------------------------------------------ the emulators' records */

#define MAX_SEEN 32

/* The requests an emulator recorded for one path. */
struct seen {
  char *log;                /* the whole record (JSON), owned */
  const char *req[MAX_SEEN]; /* the requests to the path, pointing into log */
  int n;                    /* how many (may exceed MAX_SEEN); -1: unreadable */
};

static void seen_fetch(int port, const char *path, struct seen *s) {
  memset(s, 0, sizeof *s);
  s->log = emu_control_requests(port);
  s->n = emu_requests_to(s->log, path, s->req, MAX_SEEN);
}

static void seen_free(struct seen *s) {
  free(s->log);
  memset(s, 0, sizeof *s);
}

static long long seen_elapsed(const struct seen *s, int i) {
  return i < s->n && i < MAX_SEEN ? emu_json_member_int(s->req[i], "elapsed_ms", -1) : -1;
}

static long long seen_connection(const struct seen *s, int i) {
  return i < s->n && i < MAX_SEEN ? emu_json_member_int(s->req[i], "connection", -1) : -1;
}

/* Header `name` of the i-th request, malloc'd, or NULL. */
static char *seen_header(const struct seen *s, int i, const char *name) {
  return i < s->n && i < MAX_SEEN ? emu_request_header(s->req[i], name) : NULL;
}

/* Checks header `name` of the i-th request: `want`, or absent when want is NULL. */
static bool check_header_(const struct seen *s, int i, const char *name, const char *want,
                          const char *file, int line) {
  char *got = seen_header(s, i, name);
  char expr[128];
  snprintf(expr, sizeof expr, "request #%d header %s", i, name);
  bool ok = check_streq_(got, want, expr, want != NULL ? "expected" : "(absent)", file, line);
  free(got);
  return ok;
}
#define CHECK_HEADER(s, i, name, want) check_header_((s), (i), (name), (want), __FILE__, __LINE__)

static char g_bearer[512]; /* "Bearer TOKEN" */

static void load_scenarios(int port, const char *json) {
  if (!CHECK_EQ_INT(emu_control_load_scenarios(port, json), 204)) {
    CHECK_NOTE("scenarios: %s", json);
  }
}

/* ---------------------------------------------------------------- helpers */

static teamsop_client *new_client(void) {
  return test_client_ready(teamsop_client_new(g_token), g_base_url, g_ca_file);
}

/* ============================================================ warm-up */

/* The library's one-time set-up (the system's roots, the TLS configuration) and
 * its first error path, before any timed test: under valgrind they take seconds,
 * which is not what the timing checks measure. Both passes. */
TEST(test_warm_up) {
  teamsop_client *c = new_client();
  double t0 = now_s();
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "no-such-team", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 404);
  printf("    first two calls: %.3f s\n", now_s() - t0);
  teamsop_client_free(c);
}

/* ======================================================= plain: retries */

TEST(test_429_retry_after_then_200) {
  const char *path = "/beta/teams/b-429-once/operations/o";
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-once", "o", &op), TEAMSOP_OK);
  double took = now_s() - t0;
  CHECK(op != DUMMY_OP);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  CHECK_RANGE(took, 0.95, 1.8);

  struct seen s;
  seen_fetch(g_emu_port, path, &s);
  CHECK_EQ_INT(s.n, 2);
  if (s.n == 2) {
    long long gap = seen_elapsed(&s, 1) - seen_elapsed(&s, 0);
    CHECK_RANGE(gap, 950, 1600);
    printf("    429 Retry-After: 1: requests %lld ms apart (call took %.3f s)\n", gap, took);
    CHECK_HEADER(&s, 0, "retry-attempt", NULL);
    CHECK_HEADER(&s, 1, "retry-attempt", "1");
    CHECK_HEADER(&s, 0, "authorization", g_bearer);
    CHECK_HEADER(&s, 1, "authorization", g_bearer);
    char *crid0 = seen_header(&s, 0, "client-request-id");
    char *crid1 = seen_header(&s, 1, "client-request-id");
    CHECK(is_guid(crid0));
    CHECK_STREQ(crid1, crid0); /* one call, one client-request-id */
    free(crid0);
    free(crid1);
  }
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_429_forever_gives_up_after_max_retries) {
  const char *path = "/beta/teams/b-429-forever/operations/o";
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, 2), TEAMSOP_OK);
  CHECK_EQ_INT(emu_control_clear_requests(g_emu_port), 204);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-forever", "o", &op), TEAMSOP_ERR_THROTTLED);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  CHECK_STREQ(teamsop_last_graph_code(), "TooManyRequests");
  CHECK_STREQ(teamsop_last_request_id(), FOREVER_REQUEST_ID);
  CHECK_CONTAINS(teamsop_last_error_message(), "429");
  char crid[64] = "";
  if (teamsop_last_client_request_id() != NULL) {
    snprintf(crid, sizeof crid, "%s", teamsop_last_client_request_id());
  }
  CHECK(is_guid(crid));

  struct seen s;
  seen_fetch(g_emu_port, path, &s);
  CHECK_EQ_INT(s.n, 3); /* one try and two retries */
  if (s.n == 3) {
    CHECK_HEADER(&s, 0, "retry-attempt", NULL);
    CHECK_HEADER(&s, 1, "retry-attempt", "1");
    CHECK_HEADER(&s, 2, "retry-attempt", "2");
    for (int i = 0; i < 3; i++) {
      CHECK_HEADER(&s, i, "client-request-id", crid);
    }
  }
  seen_free(&s);

  /* No retries at all. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  CHECK_EQ_INT(emu_control_clear_requests(g_emu_port), 204);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-forever", "o", &op), TEAMSOP_ERR_THROTTLED);
  CHECK_NULL(op);
  seen_fetch(g_emu_port, path, &s);
  CHECK_EQ_INT(s.n, 1);
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_5xx_then_200_and_what_is_not_retried) {
  teamsop_client *c = new_client();
  struct {
    const char *team;
    const char *path;
  } once[] = {
      {"b-503-once", "/beta/teams/b-503-once/operations/o"},
      {"b-504-once", "/beta/teams/b-504-once/operations/o"},
  };
  for (size_t i = 0; i < sizeof once / sizeof once[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    if (!CHECK_RESULT(teamsop_get_team_operation(c, once[i].team, "o", &op), TEAMSOP_OK)) {
      CHECK_NOTE("%s", once[i].team);
    }
    if (op != DUMMY_OP) {
      CHECK_SEED(op);
      teamsop_free(op);
    }
    struct seen s;
    seen_fetch(g_emu_port, once[i].path, &s);
    if (!CHECK_EQ_INT(s.n, 2)) {
      CHECK_NOTE("%s", once[i].team);
    }
    if (s.n == 2) {
      /* No Retry-After: the backoff, half to all of 250 ms (with some slack). */
      long long gap = seen_elapsed(&s, 1) - seen_elapsed(&s, 0);
      CHECK_RANGE(gap, 100, 700);
      CHECK_HEADER(&s, 1, "retry-attempt", "1");
      printf("    %s then 200: requests %lld ms apart (backoff)\n", once[i].team + 2, gap);
    }
    seen_free(&s);
  }

  /* 503 after the retries: TEAMSOP_ERR_HTTP, with Graph's code. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 1), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-503-forever", "o", &op), TEAMSOP_ERR_HTTP);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 503);
  CHECK_STREQ(teamsop_last_graph_code(), "ServiceNotAvailable");
  struct seen s;
  seen_fetch(g_emu_port, "/beta/teams/b-503-forever/operations/o", &s);
  CHECK_EQ_INT(s.n, 2);
  seen_free(&s);

  /* A 500, even with Retry-After, is not retried. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 3), TEAMSOP_OK);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-500", "o", &op), TEAMSOP_ERR_HTTP);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 500);
  CHECK_STREQ(teamsop_last_graph_code(), "InternalServerError");
  seen_fetch(g_emu_port, "/beta/teams/b-500/operations/o", &s);
  CHECK_EQ_INT(s.n, 1);
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_retry_after_as_http_date) {
  const char *path = "/beta/teams/b-429-date/operations/o";
  /* About two seconds ahead, in IMF-fixdate (the C locale: English names). A
   * date has whole seconds, so the pause is the next-but-one second boundary
   * minus now: 1 to 2 s; when that would be under 1.25 s, one more second. */
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  time_t when = wall.tv_sec + (wall.tv_nsec < 750000000L ? 2 : 3);
  double ahead = (double)(when - wall.tv_sec) - (double)wall.tv_nsec / 1e9;
  struct tm tm;
  gmtime_r(&when, &tm);
  char date[64];
  CHECK(strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
  char json[1024];
  snprintf(json, sizeof json,
           "{\"path\":\"%s\",\"responses\":["
           "{\"status\":429,\"headers\":{\"Retry-After\":\"%s\"},"
           "\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"later\"}}},"
           "{\"status\":200,\"operation\":\"seed\"}]}",
           path, date);
  load_scenarios(g_emu_port, json);

  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-date", "o", &op), TEAMSOP_OK);
  double took = now_s() - t0;
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  struct seen s;
  seen_fetch(g_emu_port, path, &s);
  CHECK_EQ_INT(s.n, 2);
  if (s.n == 2) {
    /* An HTTP date has whole seconds: the pause is between 1 and 2 s. */
    long long gap = seen_elapsed(&s, 1) - seen_elapsed(&s, 0);
    CHECK_RANGE(gap, 900, 2600);
    CHECK_HEADER(&s, 1, "retry-attempt", "1");
    printf("    Retry-After: %s (%.3f s ahead): requests %lld ms apart (call took %.3f s)\n",
           date, ahead, gap, took);
  }
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_retry_budget_vs_deadline) {
  teamsop_client *c = new_client();

  /* Retry-After 30 s, 3 s left: the last answer at once, not a timeout. */
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 3000), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-past-deadline", "o", &op),
               TEAMSOP_ERR_THROTTLED);
  double took = now_s() - t0;
  CHECK_NULL(op);
  CHECK_RANGE(took, 0.0, 1.0);
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  CHECK_STREQ(teamsop_last_graph_code(), "TooManyRequests");
  printf("    Retry-After: 30 with a 3 s timeout: THROTTLED after %.3f s\n", took);
  struct seen s;
  seen_fetch(g_emu_port, "/beta/teams/b-429-past-deadline/operations/o", &s);
  CHECK_EQ_INT(s.n, 1);
  seen_free(&s);

  /* Retry-After 1 s forever, 2.5 s, 10 retries: tries at 0, 1 and 2 s; a third
   * pause would end past the deadline. */
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 2500), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 10), TEAMSOP_OK);
  op = DUMMY_OP;
  t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "b-429-every-second", "o", &op),
               TEAMSOP_ERR_THROTTLED);
  took = now_s() - t0;
  CHECK_NULL(op);
  CHECK_RANGE(took, 1.9, 2.5 - 1e-9); /* two 1 s pauses, and under the 2.5 s bound */
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  seen_fetch(g_emu_port, "/beta/teams/b-429-every-second/operations/o", &s);
  CHECK_EQ_INT(s.n, 3);
  if (s.n == 3) {
    printf("    Retry-After: 1 forever, timeout 2500 ms: THROTTLED after %.3f s, requests at "
           "+0, +%lld, +%lld ms\n",
           took, seen_elapsed(&s, 1) - seen_elapsed(&s, 0), seen_elapsed(&s, 2) - seen_elapsed(&s, 0));
    CHECK_HEADER(&s, 2, "retry-attempt", "2");
  }
  seen_free(&s);
  teamsop_client_free(c);
}

/* =================================================== plain: connections */

TEST(test_consecutive_gets_reuse_one_connection) {
  const char *path = "/beta/chats/" SEED_CHAT "/operations/" SEED_OP;
  teamsop_client *c = new_client(); /* new: no pooled connection yet */
  CHECK_EQ_INT(emu_control_clear_requests(g_emu_port), 204);
  struct emu_stats before, after;
  /* Reading the stats opens one connection, counted in what it reads. */
  CHECK(emu_control_stats(g_emu_port, &before));
  int ok = 0;
  for (int i = 0; i < 20; i++) {
    teamsop_operation *op = NULL;
    ok += teamsop_get(c, SEED_CHAT, SEED_OP, &op) == TEAMSOP_OK;
    teamsop_free(op);
  }
  CHECK(emu_control_stats(g_emu_port, &after)); /* + this read's own connection */
  CHECK_EQ_INT(ok, 20);
  long long library_connections = after.connections - before.connections - 1;
  CHECK_EQ_INT(library_connections, 1);
  CHECK_EQ_INT(after.requests - before.requests, 20);
  printf("    20 GETs: %lld connection(s) opened by the library (stats %lld -> %lld, one of "
         "them the stats read)\n",
         library_connections, before.connections, after.connections);

  /* And the record says so too: all 20 on one connection. */
  struct seen s;
  seen_fetch(g_emu_port, path, &s);
  CHECK_EQ_INT(s.n, 20);
  int same = 0;
  for (int i = 0; i < s.n && i < MAX_SEEN; i++) {
    same += seen_connection(&s, i) == seen_connection(&s, 0);
  }
  CHECK_EQ_INT(same, 20);
  CHECK(seen_connection(&s, 0) > 0);
  seen_free(&s);
  teamsop_client_free(c);
}

/* ===================================================== plain: redirects */

TEST(test_redirect_to_another_host_carries_no_token) {
  /* The other emulator under another name: localhost instead of 127.0.0.1. */
  char json[1024];
  snprintf(json, sizeof json,
           "{\"path\":\"/beta/teams/b-redirect-foreign/operations/o\",\"responses\":["
           "{\"status\":302,\"headers\":{\"Location\":\"http://localhost:%d/moved/x\"}}]}",
           g_other_port);
  load_scenarios(g_emu_port, json);
  load_scenarios(g_other_port,
                 "{\"path\":\"/moved/x\",\"responses\":[{\"status\":200,\"operation\":\"seed\"}]}");

  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-redirect-foreign", "o", &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  struct seen s;
  seen_fetch(g_emu_port, "/beta/teams/b-redirect-foreign/operations/o", &s);
  CHECK_EQ_INT(s.n, 1);
  CHECK_HEADER(&s, 0, "authorization", g_bearer); /* the Graph host had it */
  seen_free(&s);

  seen_fetch(g_other_port, "/moved/x", &s);
  CHECK_EQ_INT(s.n, 1);
  if (s.n == 1) {
    char host[64];
    snprintf(host, sizeof host, "localhost:%d", g_other_port);
    CHECK_HEADER(&s, 0, "host", host);
    CHECK_HEADER(&s, 0, "authorization", NULL);
    if (!CHECK(!emu_request_headers_contain(s.req[0], g_token))) {
      CHECK_NOTE("request: %.600s", s.req[0]);
    }
  }
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_redirect_to_another_port_carries_no_token) {
  /* Same address, another port: another origin. */
  const char *path = "/beta/teams/b-redirect-port/operations/o";
  char json[1024];
  snprintf(json, sizeof json,
           "{\"path\":\"%s\",\"responses\":["
           "{\"status\":307,\"headers\":{\"Location\":\"http://127.0.0.1:%d%s\"}}]}",
           path, g_other_port, path);
  load_scenarios(g_emu_port, json);

  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  /* The other emulator checks tokens too: without one, 401. */
  CHECK_RESULT(teamsop_get_team_operation(c, "b-redirect-port", "o", &op),
               TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 401);
  CHECK_STREQ(teamsop_last_graph_code(), "InvalidAuthenticationToken");
  struct seen s;
  seen_fetch(g_other_port, path, &s);
  CHECK_EQ_INT(s.n, 1);
  if (s.n == 1) {
    CHECK_HEADER(&s, 0, "authorization", NULL);
    CHECK(!emu_request_headers_contain(s.req[0], g_token));
  }
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_redirect_on_the_same_host_keeps_the_token) {
  teamsop_client *c = new_client();
  CHECK_EQ_INT(emu_control_clear_requests(g_emu_port), 204);
  teamsop_operation *op = DUMMY_OP;
  /* The seed needs the token: success is already the proof. */
  CHECK_RESULT(teamsop_get_team_operation(c, "b-redirect-same", "o", &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  struct seen s;
  seen_fetch(g_emu_port, "/beta/chats/" SEED_CHAT "/operations/" SEED_OP, &s);
  CHECK_EQ_INT(s.n, 1);
  CHECK_HEADER(&s, 0, "authorization", g_bearer);
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_at_most_five_redirects) {
  teamsop_client *c = new_client();
  CHECK_EQ_INT(emu_control_clear_requests(g_emu_port), 204);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "b-redirect-many", "o", &op), TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  CHECK_CONTAINS(teamsop_last_error_message(), "redirects");
  CHECK_EQ_INT(teamsop_last_http_status(), 302); /* the last response received */
  printf("    message: %s\n", teamsop_last_error_message());
  char *log = emu_control_requests(g_emu_port);
  CHECK_EQ_INT(emu_json_length(log), 6); /* the first GET and 5 redirects followed */
  free(log);
  teamsop_client_free(c);
}

/* ========================================================== plain: wait */

struct poll_times {
  int count;
  double at[8];
  teamsop_status status[8];
};

static bool on_poll(const teamsop_operation *current, void *user_data) {
  struct poll_times *p = user_data;
  if (p->count < 8) {
    p->at[p->count] = now_s();
    p->status[p->count] = teamsop_operation_status(current);
  }
  p->count++;
  return true;
}

TEST(test_wait_retry_after_wins_over_the_interval) {
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 20), TEAMSOP_OK);
  struct poll_times p;
  memset(&p, 0, sizeof p);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('b-wait-retry-after')/operations('o')", 10000, on_poll, &p,
                            &op),
               TEAMSOP_OK);
  CHECK(op != DUMMY_OP);
  if (op != DUMMY_OP) {
    CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
    teamsop_free(op);
  }
  CHECK_EQ_INT(p.count, 2);
  CHECK_EQ_INT(p.status[0], TEAMSOP_STATUS_IN_PROGRESS);
  CHECK_EQ_INT(p.status[1], TEAMSOP_STATUS_SUCCEEDED);
  if (p.count == 2) {
    CHECK_RANGE(p.at[1] - p.at[0], 0.95, 1.6);
  }
  struct seen s;
  seen_fetch(g_emu_port, "/beta/teams/b-wait-retry-after/operations/o", &s);
  CHECK_EQ_INT(s.n, 2);
  if (s.n == 2) {
    long long gap = seen_elapsed(&s, 1) - seen_elapsed(&s, 0);
    CHECK_RANGE(gap, 950, 1600); /* Retry-After: 1 wins over the 20 ms interval */
    printf("    wait, inProgress with Retry-After: 1, poll interval 20 ms: polls %lld ms apart\n",
           gap);
  }
  seen_free(&s);
  teamsop_client_free(c);
}

/* ================================================================ TLS */

TEST(test_tls_with_the_ca_file) {
  teamsop_client *c = new_client(); /* with teamsop_client_set_ca_file */
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  /* The certificate names localhost too. */
  char base[256];
  snprintf(base, sizeof base, "https://localhost:%d/beta", g_emu_port);
  CHECK_RESULT(teamsop_client_set_base_url(c, base), TEAMSOP_OK);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  teamsop_client_free(c);
}

TEST(test_tls_without_ca_is_not_trusted) {
  /* The https emulator cannot be asked what it received (the socket client is
   * plain http only), so its scenario counts for us: t-count answers
   * "first-request" to the first request it gets and "later-request" after. The
   * client without the CA goes first; if any request of it had reached HTTP, the
   * trusted client would then be answered "later-request". */
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_NOT_NULL(c);
  CHECK_RESULT(teamsop_client_set_base_url(c, g_base_url), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "t-count", "o", &op), TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  CHECK_CONTAINS(teamsop_last_error_message(), "not trusted");
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  printf("    message: %s\n", teamsop_last_error_message());
  teamsop_client_free(c);

  c = new_client();
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "t-count", "o", &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_STREQ(teamsop_operation_id(op), "first-request"); /* nothing came before */
    teamsop_free(op);
  }
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "t-count", "o", &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_STREQ(teamsop_operation_id(op), "later-request"); /* the counter counts */
    teamsop_free(op);
  }
  teamsop_client_free(c);
}

TEST(test_tls_no_redirect_to_plain_http) {
  /* t-downgrade: 302 to the plain emulator (its URL put in the scenario file by
   * run-behaviour.sh). t-downgrade-closed: 302 to http://127.0.0.1:1, where
   * nothing listens: refused before any connection, the same error; a library
   * that connected would say "could not connect" instead. */
  teamsop_client *c = new_client();
  struct emu_stats before, after;
  CHECK(emu_control_stats(g_other_port, &before));
  static const char *const teams[] = {"t-downgrade", "t-downgrade-closed"};
  for (size_t i = 0; i < 2; i++) {
    teamsop_operation *op = DUMMY_OP;
    if (!CHECK_RESULT(teamsop_get_team_operation(c, teams[i], "o", &op),
                      TEAMSOP_ERR_TRANSPORT)) {
      CHECK_NOTE("%s", teams[i]);
    }
    CHECK_NULL(op);
    CHECK_CONTAINS(teamsop_last_error_message(), "plain http");
    CHECK_EQ_INT(teamsop_last_http_status(), 302); /* the last response received */
    printf("    %s: %s\n", teams[i], teamsop_last_error_message());
  }
  CHECK(emu_control_stats(g_other_port, &after));
  CHECK_EQ_INT(after.requests - before.requests, 0);
  /* Not even a connection: only the stats read's own. */
  CHECK_EQ_INT(after.connections - before.connections, 1);
  struct seen s;
  seen_fetch(g_other_port, "/beta/teams/t-downgrade/operations/o", &s);
  CHECK_EQ_INT(s.n, 0);
  seen_free(&s);
  teamsop_client_free(c);
}

TEST(test_tls_redirect_on_the_same_host_keeps_the_token) {
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  /* The seed path needs the token: only a redirect that kept it succeeds. */
  CHECK_RESULT(teamsop_get_team_operation(c, "t-redirect-same", "o", &op), TEAMSOP_OK);
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  teamsop_client_free(c);
}

TEST(test_tls_429_retry_after_then_200) {
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "t-429-once", "o", &op), TEAMSOP_OK);
  double took = now_s() - t0;
  if (op != DUMMY_OP) {
    CHECK_SEED(op);
    teamsop_free(op);
  }
  CHECK_RANGE(took, 0.95, 1.8);
  printf("    https, 429 Retry-After: 1 then 200: call took %.3f s\n", took);
  teamsop_client_free(c);
}

/* ================================================================ main */

/* Every test, in the order they run. Those named test_tls_* run in the TLS pass
 * only, test_warm_up in both, the others in the plain pass only. test_warm_up
 * runs first even when the command line names other tests only. */
static check_test g_tests[] = {
    CHECK_TEST_ENTRY(test_warm_up),
    CHECK_TEST_ENTRY(test_429_retry_after_then_200),
    CHECK_TEST_ENTRY(test_429_forever_gives_up_after_max_retries),
    CHECK_TEST_ENTRY(test_5xx_then_200_and_what_is_not_retried),
    CHECK_TEST_ENTRY(test_retry_after_as_http_date),
    CHECK_TEST_ENTRY(test_retry_budget_vs_deadline),
    CHECK_TEST_ENTRY(test_consecutive_gets_reuse_one_connection),
    CHECK_TEST_ENTRY(test_redirect_to_another_host_carries_no_token),
    CHECK_TEST_ENTRY(test_redirect_to_another_port_carries_no_token),
    CHECK_TEST_ENTRY(test_redirect_on_the_same_host_keeps_the_token),
    CHECK_TEST_ENTRY(test_at_most_five_redirects),
    CHECK_TEST_ENTRY(test_wait_retry_after_wins_over_the_interval),
    CHECK_TEST_ENTRY(test_tls_with_the_ca_file),
    CHECK_TEST_ENTRY(test_tls_without_ca_is_not_trusted),
    CHECK_TEST_ENTRY(test_tls_no_redirect_to_plain_http),
    CHECK_TEST_ENTRY(test_tls_redirect_on_the_same_host_keeps_the_token),
    CHECK_TEST_ENTRY(test_tls_429_retry_after_then_200),
};

static bool runs_in_pass(const check_test *t, bool tls) {
  if (strcmp(t->name, "test_warm_up") == 0) {
    return true;
  }
  return (strncmp(t->name, "test_tls_", 9) == 0) == tls;
}

int main(int argc, char **argv) {
  int status = check_parse_args(argc, argv, "test_behaviour", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe("SIGPIPE raised", NULL);
  g_base_url = getenv("TEAMSOP_BASE_URL");
  g_token = getenv("TEAMSOP_TOKEN");
  g_emu_url = getenv("TEAMSOP_EMULATOR_URL");
  g_other_url = getenv("TEAMSOP_OTHER_URL");
  g_ca_file = getenv("TEAMSOP_CA_FILE");
  if (g_ca_file != NULL && g_ca_file[0] == '\0') {
    g_ca_file = NULL;
  }
  if (g_base_url == NULL || g_token == NULL || g_token[0] == '\0' || g_emu_url == NULL ||
      g_other_url == NULL) {
    fprintf(stderr, "test_behaviour: set TEAMSOP_BASE_URL, TEAMSOP_TOKEN, TEAMSOP_EMULATOR_URL "
                    "and TEAMSOP_OTHER_URL\n  (run it with tests/c/run-behaviour.sh BIN)\n");
    return 2;
  }
  bool tls = g_ca_file != NULL;
  if (strncmp(g_other_url, "http://", 7) != 0 ||
      strncmp(g_emu_url, tls ? "https://" : "http://", tls ? 8 : 7) != 0) {
    fprintf(stderr, "test_behaviour: TEAMSOP_OTHER_URL must be plain http, and "
                    "TEAMSOP_EMULATOR_URL https exactly when TEAMSOP_CA_FILE is set\n");
    return 2;
  }
  test_set_secrets(g_token, NULL, 0);
  g_emu_port = emu_url_port(g_emu_url);
  g_other_port = emu_url_port(g_other_url);
  snprintf(g_bearer, sizeof g_bearer, "Bearer %s", g_token);
  printf("test_behaviour: %s pass, Graph host %s, other host %s\n", tls ? "TLS" : "plain",
         g_emu_url, g_other_url);

  g_tests[0].selected = true; /* test_warm_up */
  for (size_t i = 0; i < CHECK_COUNT(g_tests); i++) {
    g_tests[i].selected &= runs_in_pass(&g_tests[i], tls);
  }
  double t0 = now_s();
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  printf("test_behaviour: %s pass in %.2f s\n", tls ? "TLS" : "plain", now_s() - t0);
  return CHECK_SUMMARY();
}
