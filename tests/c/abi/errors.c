/*
 * errors.c (test_abi): the error classes (one result per failure, with its HTTP status, Graph
 * code and request ids) and the rules of the teamsop_last_* state (per thread,
 * left alone by a successful call).
 */
#include "abi.h"

/* ================================================================ error classes */

struct expect_error {
  const char *chat;          /* scenario chat id */
  teamsop_result result;
  int http_status;
  const char *graph_code;    /* NULL: expect none */
};

TEST(test_error_classes) {
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  static const struct expect_error cases[] = {
      {"c-401", TEAMSOP_ERR_UNAUTHORIZED, 401, "InvalidAuthenticationToken"},
      {"c-403", TEAMSOP_ERR_FORBIDDEN, 403, "Forbidden"},
      {"c-404", TEAMSOP_ERR_NOT_FOUND, 404, "NotFound"},
      {"c-500", TEAMSOP_ERR_HTTP, 500, "InternalServerError"},
      {"c-418", TEAMSOP_ERR_HTTP, 418, NULL},
      {"c-badjson", TEAMSOP_ERR_PARSE, 200, NULL},
      {"c-array", TEAMSOP_ERR_PARSE, 200, NULL},
      {"c-wrongtype", TEAMSOP_ERR_PARSE, 200, NULL},
      {"c-notutf8", TEAMSOP_ERR_PARSE, 200, NULL},
      {"c-html", TEAMSOP_ERR_PARSE, 200, NULL},
      {"c-204", TEAMSOP_ERR_PARSE, 204, NULL},
      {"c-reset", TEAMSOP_ERR_TRANSPORT, 0, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    bool ok = CHECK_RESULT(teamsop_get(c, cases[i].chat, "o", &op), cases[i].result);
    ok &= CHECK_NULL(op);
    ok &= CHECK_EQ_INT(teamsop_last_http_status(), cases[i].http_status);
    ok &= CHECK_STREQ(teamsop_last_graph_code(), cases[i].graph_code);
    if (cases[i].http_status != 0) {
      ok &= CHECK(is_guid(teamsop_last_request_id()));
    } else {
      ok &= CHECK_NULL(teamsop_last_request_id());
    }
    ok &= CHECK(is_guid(teamsop_last_client_request_id()));
    if (!ok) {
      CHECK_NOTE("scenario %s", cases[i].chat);
    }
  }

  /* 404 in detail: the scenario's request-id, and the client-request-id sent. */
  teamsop_operation *op = DUMMY_OP;
  emu_clear_requests();
  CHECK_RESULT(teamsop_get(c, "c-404", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_NULL(op);
  CHECK_STREQ(teamsop_last_graph_code(), "NotFound");
  CHECK_STREQ(teamsop_last_request_id(), SCENARIO_REQUEST_ID);
  CHECK_EQ_INT(teamsop_last_http_status(), 404);
  const char *crid = teamsop_last_client_request_id();
  CHECK(is_guid(crid));
  if (g_http && crid != NULL) {
    char *log = emu_requests();
    char want[128];
    snprintf(want, sizeof want, "\"client-request-id\":\"%s\"", crid);
    CHECK(log != NULL && strstr(log, want) != NULL);
    free(log);
  }

  /* 429 after the retries: THROTTLED, each retry numbered. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 1), TEAMSOP_OK);
  emu_clear_requests();
  op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get(c, "c-429", "o", &op), TEAMSOP_ERR_THROTTLED);
  CHECK(now_s() - t0 < 3.0);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  CHECK_STREQ(teamsop_last_graph_code(), "TooManyRequests");
  if (g_http) {
    char *log = emu_requests();
    CHECK(log != NULL && count_substr(log, "\"method\":") == 2);
    CHECK(log != NULL && count_substr(log, "\"retry-attempt\":\"1\"") == 1);
    free(log);
  }

  /* A Retry-After past the deadline ends the call at once with the last answer. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 3), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 2000), TEAMSOP_OK);
  emu_clear_requests();
  op = DUMMY_OP;
  t0 = now_s();
  CHECK_RESULT(teamsop_get(c, "c-429-long", "o", &op), TEAMSOP_ERR_THROTTLED);
  double took = now_s() - t0;
  if (!CHECK(took < 1.0)) {
    CHECK_NOTE("took %.2f s", took);
  }
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  if (g_http) {
    CHECK_EQ_INT(emu_request_count(), 1);
  }
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 10000), TEAMSOP_OK);

  /* 503 then 200: retried, OK. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 1), TEAMSOP_OK);
  op = NULL;
  CHECK_RESULT(teamsop_get(c, "c-503", "o", &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);
  /* 503 every time: HTTP after the retries. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, "c-503-always", "o", &op), TEAMSOP_ERR_HTTP);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 503);
  CHECK_STREQ(teamsop_last_graph_code(), "ServiceUnavailable");
  /* A reset before any byte is retried. */
  op = NULL;
  CHECK_RESULT(teamsop_get(c, "c-reset-then-ok", "o", &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);
  /* A body cut short is TRANSPORT, and not retried (only a reset before any byte is). */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 3), TEAMSOP_OK);
  emu_clear_requests();
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, "c-midbody", "o", &op), TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  if (g_http) {
    CHECK_EQ_INT(emu_request_count(), 1);
  }
  /* Reset the c-midbody cycle to its first answer for a later run on this emulator. */
  op = NULL;
  CHECK_RESULT(teamsop_get(c, "c-midbody", "o", &op), TEAMSOP_OK);
  teamsop_free(op);

  /* Body cap: over it is TOO_LARGE (with and without Content-Length). */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, 1000), TEAMSOP_OK);
  static const char *const big[] = {"c-big", "c-big-chunked"};
  for (size_t i = 0; i < 2; i++) {
    op = DUMMY_OP;
    if (!CHECK_RESULT(teamsop_get(c, big[i], "o", &op), TEAMSOP_ERR_TOO_LARGE)) {
      CHECK_NOTE("scenario %s", big[i]);
    }
    CHECK_NULL(op);
    CHECK_EQ_INT(teamsop_last_http_status(), 200);
  }
  /* The seed (under 1000 bytes) still fits. */
  op = NULL;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);
  /* Under the default cap (1 MiB), the 100 kB body is fine. */
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, 1024 * 1024), TEAMSOP_OK);
  op = NULL;
  CHECK_RESULT(teamsop_get(c, "c-big", "o", &op), TEAMSOP_OK);
  const char *id = teamsop_operation_id(op);
  CHECK(id != NULL && strlen(id) == 100000);
  teamsop_free(op);

  /* Slow headers: TIMEOUT at the client timeout, no response. */
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 300), TEAMSOP_OK);
  op = DUMMY_OP;
  t0 = now_s();
  CHECK_RESULT(teamsop_get(c, "c-slow", "o", &op), TEAMSOP_ERR_TIMEOUT);
  took = now_s() - t0;
  if (!CHECK(took >= 0.25 && took < 1.5)) {
    CHECK_NOTE("took %.2f s", took);
  }
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  /* A timeout is not retried either. */
  CHECK_RESULT(teamsop_client_set_max_retries(c, 3), TEAMSOP_OK);
  t0 = now_s();
  CHECK_RESULT(teamsop_get(c, "c-slow", "o", &op), TEAMSOP_ERR_TIMEOUT);
  took = now_s() - t0;
  if (!CHECK(took < 1.5)) {
    CHECK_NOTE("took %.2f s", took);
  }
  teamsop_client_free(c);
}

/* ================================================================ last error */

struct last_error_snapshot {
  char message[1024];
  bool message_null;
  int32_t http_status;
  bool graph_code_null, request_id_null, client_request_id_null;
  teamsop_result result;
  char graph_code[64];
};

static void snapshot(struct last_error_snapshot *s) {
  const char *m = teamsop_last_error_message();
  s->message_null = m == NULL;
  snprintf(s->message, sizeof s->message, "%s", m != NULL ? m : "");
  s->http_status = teamsop_last_http_status();
  const char *g = teamsop_last_graph_code();
  s->graph_code_null = g == NULL;
  snprintf(s->graph_code, sizeof s->graph_code, "%s", g != NULL ? g : "");
  s->request_id_null = teamsop_last_request_id() == NULL;
  s->client_request_id_null = teamsop_last_client_request_id() == NULL;
}

static void *fresh_thread(void *arg) {
  snapshot(arg);
  return NULL;
}

static pthread_barrier_t g_barrier;
static teamsop_client *g_shared_client;

static void *fail_with_404(void *arg) {
  struct last_error_snapshot *s = arg;
  teamsop_operation *op = NULL;
  s->result = teamsop_get(g_shared_client, "c-404", "o", &op);
  pthread_barrier_wait(&g_barrier); /* both threads have failed */
  pthread_barrier_wait(&g_barrier); /* the other thread has read its own */
  snapshot(s);
  return NULL;
}

static void *fail_with_invalid(void *arg) {
  struct last_error_snapshot *s = arg;
  s->result = teamsop_client_set_cloud(g_shared_client, 99);
  pthread_barrier_wait(&g_barrier);
  snapshot(s);
  pthread_barrier_wait(&g_barrier);
  return NULL;
}

TEST(test_last_error_rules) {
  /* This thread has had no failure yet (this test runs first). */
  CHECK_STREQ(teamsop_last_error_message(), "");
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_NULL(teamsop_last_request_id());
  CHECK_NULL(teamsop_last_client_request_id());

  /* A fresh thread: "" and no details. */
  struct last_error_snapshot fresh;
  memset(&fresh, 0, sizeof fresh);
  pthread_t t;
  CHECK_EQ_INT(pthread_create(&t, NULL, fresh_thread, &fresh), 0);
  pthread_join(t, NULL);
  CHECK(!fresh.message_null);
  CHECK_STREQ(fresh.message, "");
  CHECK_EQ_INT(fresh.http_status, 0);
  CHECK(fresh.graph_code_null);
  CHECK(fresh.request_id_null);
  CHECK(fresh.client_request_id_null);

  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get(c, "c-404", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  struct last_error_snapshot after_404;
  snapshot(&after_404);
  const char *graph_code_ptr = teamsop_last_graph_code();

  /* Successful calls leave it alone. */
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  teamsop_free(op);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 5000), TEAMSOP_OK);
  CHECK_RESULT(parse_str("{\"id\":\"x\"}", &op), TEAMSOP_OK);
  teamsop_free(op);
  CHECK_STREQ(teamsop_last_error_message(), after_404.message);
  CHECK_STREQ(teamsop_last_graph_code(), "NotFound");
  CHECK(teamsop_last_graph_code() == graph_code_ptr); /* still the same string */
  CHECK_STREQ(teamsop_last_request_id(), SCENARIO_REQUEST_ID);
  CHECK_EQ_INT(teamsop_last_http_status(), 404);
  CHECK(is_guid(teamsop_last_client_request_id()));

  /* A failing call replaces every field. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, "", "o", &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK(strcmp(teamsop_last_error_message(), after_404.message) != 0);
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_NULL(teamsop_last_request_id());
  CHECK_NULL(teamsop_last_client_request_id());
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  /* ... also after a PARSE, which has a status but no Graph code. */
  CHECK_RESULT(teamsop_get(c, "c-404", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_RESULT(teamsop_get(c, "c-badjson", "o", &op), TEAMSOP_ERR_PARSE);
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_EQ_INT(teamsop_last_http_status(), 200);
  CHECK(teamsop_last_request_id() == NULL ||
        strcmp(teamsop_last_request_id(), SCENARIO_REQUEST_ID) != 0);
  /* ... and after teamsop_parse, which sends nothing. */
  CHECK_RESULT(teamsop_get(c, "c-404", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_RESULT(parse_str("[]", &op), TEAMSOP_ERR_PARSE);
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_NULL(teamsop_last_request_id());
  CHECK_NULL(teamsop_last_client_request_id());
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  /* ... and after a failing teamsop_client_new. */
  CHECK_RESULT(teamsop_get(c, "c-404", "o", &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_NULL(teamsop_client_new(""));
  CHECK_LAST_ERROR_CLEAN();
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_EQ_INT(teamsop_last_http_status(), 0);

  /* Per thread: two threads failing differently each see their own. */
  g_shared_client = c;
  struct last_error_snapshot a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  pthread_barrier_init(&g_barrier, NULL, 2);
  pthread_t ta, tb;
  CHECK_EQ_INT(pthread_create(&ta, NULL, fail_with_404, &a), 0);
  CHECK_EQ_INT(pthread_create(&tb, NULL, fail_with_invalid, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  pthread_barrier_destroy(&g_barrier);
  CHECK_EQ_INT(a.result, TEAMSOP_ERR_NOT_FOUND);
  CHECK_EQ_INT(b.result, TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(a.http_status, 404);
  CHECK_STREQ(a.graph_code, "NotFound");
  CHECK(!a.request_id_null);
  CHECK(!a.client_request_id_null);
  CHECK_EQ_INT(b.http_status, 0);
  CHECK(b.graph_code_null);
  CHECK(b.request_id_null);
  CHECK(b.client_request_id_null);
  CHECK(a.message[0] != '\0' && b.message[0] != '\0');
  CHECK(strcmp(a.message, b.message) != 0);
  /* And this thread still has its own. */
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK(strcmp(teamsop_last_error_message(), a.message) != 0);
  teamsop_client_free(c);
}
