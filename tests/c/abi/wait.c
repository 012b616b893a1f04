/*
 * wait.c (test_abi): teamsop_wait: polling to a terminal status, the callback and its
 * cancellation, the deadline, 404s while not yet visible, a created operation.
 */
#include "abi.h"

/* ================================================================ wait */

struct polls {
  int count;
  teamsop_status statuses[32];
  void *user_data_seen;
  pthread_t thread;
  bool same_thread;
  int stop_at; /* return false on this call (1-based); 0: never */
};

static bool on_poll(const teamsop_operation *current, void *user_data) {
  struct polls *p = user_data;
  p->user_data_seen = user_data;
  p->same_thread &= pthread_equal(pthread_self(), p->thread) != 0;
  if (p->count < 32) {
    p->statuses[p->count] = teamsop_operation_status(current);
  }
  p->count++;
  return p->stop_at == 0 || p->count < p->stop_at;
}

static void polls_init(struct polls *p, int stop_at) {
  memset(p, 0, sizeof *p);
  p->thread = pthread_self();
  p->same_thread = true;
  p->stop_at = stop_at;
}

TEST(test_wait) {
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 50), TEAMSOP_OK);
  struct polls p;
  teamsop_operation *op = DUMMY_OP;

  /* notStarted -> inProgress -> succeeded. */
  polls_init(&p, 0);
  double t0 = now_s();
  CHECK_RESULT(teamsop_wait(c, "/teams('t-wait')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_OK);
  double took = now_s() - t0;
  CHECK_EQ_INT(p.count, 3);
  CHECK_EQ_INT(p.statuses[0], TEAMSOP_STATUS_NOT_STARTED);
  CHECK_EQ_INT(p.statuses[1], TEAMSOP_STATUS_IN_PROGRESS);
  CHECK_EQ_INT(p.statuses[2], TEAMSOP_STATUS_SUCCEEDED);
  CHECK(p.user_data_seen == &p);
  CHECK(p.same_thread);
  CHECK_NOT_NULL(op);
  CHECK(op != DUMMY_OP);
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
  CHECK_STREQ(teamsop_operation_id(op), "o");
  CHECK(teamsop_operation_is_terminal(op));
  if (!CHECK(took >= 0.1 && took < 2.0)) { /* two pauses: 50 ms, then 100 ms */
    CHECK_NOTE("took %.2f s", took);
  }
  if (op != DUMMY_OP) {
    teamsop_free(op);
  }

  /* Ends in failed: still OK; read the status. */
  polls_init(&p, 0);
  op = NULL;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-wait-failed')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_OK);
  CHECK_EQ_INT(p.count, 2);
  CHECK_EQ_INT(p.statuses[0], TEAMSOP_STATUS_IN_PROGRESS);
  CHECK_EQ_INT(p.statuses[1], TEAMSOP_STATUS_FAILED);
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_FAILED);
  CHECK_STREQ(teamsop_operation_error_code(op), "Conflict");
  CHECK_STREQ(teamsop_operation_error_message(op), "Clone failed.");
  teamsop_free(op);

  /* Already terminal: one poll. */
  polls_init(&p, 0);
  op = NULL;
  CHECK_RESULT(teamsop_wait(c, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", 10000, on_poll,
                            &p, &op),
               TEAMSOP_OK);
  CHECK_EQ_INT(p.count, 1);
  CHECK_SEED(op);
  teamsop_free(op);

  /* The callback stops it: CANCELLED, out NULL. */
  polls_init(&p, 1);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-forever')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(op);
  CHECK_EQ_INT(p.count, 1);
  polls_init(&p, 3);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-forever')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(op);
  CHECK_EQ_INT(p.count, 3);
  /* ... even on the terminal poll. */
  polls_init(&p, 1);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", 10000, on_poll,
                            &p, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(op);

  /* Never terminal: TIMEOUT at the deadline, not before, not much after. */
  polls_init(&p, 0);
  op = DUMMY_OP;
  t0 = now_s();
  CHECK_RESULT(teamsop_wait(c, "/teams('t-forever')/operations('o')", 500, on_poll, &p, &op),
               TEAMSOP_ERR_TIMEOUT);
  took = now_s() - t0;
  if (!CHECK(took >= 0.3 && took <= 0.8)) {
    CHECK_NOTE("took %.3f s", took);
  }
  printf("    timeout 500 ms: returned after %.3f s, %d poll(s)\n", took, p.count);
  CHECK_NULL(op);
  CHECK(p.count >= 2);
  for (int i = 0; i < p.count && i < 32; i++) {
    CHECK_EQ_INT(p.statuses[i], TEAMSOP_STATUS_IN_PROGRESS);
  }

  /* 404 at first (not visible yet), then the operation. */
  polls_init(&p, 0);
  op = NULL;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-404-then')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_OK);
  CHECK_EQ_INT(p.count, 1);
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
  teamsop_free(op);

  /* A 404 that outlasts the deadline: NOT_FOUND. */
  op = DUMMY_OP;
  t0 = now_s();
  CHECK_RESULT(teamsop_wait(c, "/teams('no-such-team')/operations('o')", 400, NULL, NULL, &op),
               TEAMSOP_ERR_NOT_FOUND);
  took = now_s() - t0;
  CHECK(took < 1.0);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 404);
  CHECK_STREQ(teamsop_last_graph_code(), "NotFound");

  /* Any other error ends the wait as is. */
  polls_init(&p, 0);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-wait-403')/operations('o')", 10000, on_poll, &p, &op),
               TEAMSOP_ERR_FORBIDDEN);
  CHECK_NULL(op);
  CHECK_EQ_INT(p.count, 1);
  CHECK_EQ_INT(teamsop_last_http_status(), 403);

  /* on_poll may be NULL; absolute Location on the emulator. */
  char abs[256];
  snprintf(abs, sizeof abs, "%s/beta/teams('t-wait')/operations('o')", g_emu_url);
  op = NULL;
  CHECK_RESULT(teamsop_wait(c, abs, 10000, NULL, NULL, &op), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
  teamsop_free(op);

  /* An operation created by POST /beta/teams (over http: our own socket client). */
  if (g_http) {
    char hdr[512];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", g_token);
    int status = 0;
    char *headers = NULL;
    free(emu_http("POST", "/beta/teams", hdr, &status, &headers));
    CHECK_EQ_INT(status, 202);
    const char *loc = NULL;
    for (const char *h = headers; h != NULL && (h = strstr(h, "\r\n")) != NULL; h += 2) {
      if (strncasecmp(h + 2, "location:", 9) == 0) {
        loc = h + 2 + 9;
        break;
      }
    }
    CHECK_NOT_NULL(loc);
    if (loc != NULL) {
      loc += strspn(loc, " \t");
      size_t n = strcspn(loc, "\r");
      char location[256];
      snprintf(location, sizeof location, "%.*s", (int)n, loc);
      printf("    POST /beta/teams: Location %s\n", location);
      polls_init(&p, 0);
      op = NULL;
      CHECK_RESULT(teamsop_wait(c, location, 10000, on_poll, &p, &op), TEAMSOP_OK);
      CHECK_EQ_INT(p.count, 3);
      CHECK_EQ_INT(p.statuses[0], TEAMSOP_STATUS_NOT_STARTED);
      CHECK_EQ_INT(p.statuses[1], TEAMSOP_STATUS_IN_PROGRESS);
      CHECK_EQ_INT(p.statuses[2], TEAMSOP_STATUS_SUCCEEDED);
      CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
      teamsop_free(op);
    }
    free(headers);
  }

  /* Arguments. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('t-wait')/operations('o')", 0, NULL, NULL, &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(NULL, "/teams('t-wait')/operations('o')", 1000, NULL, NULL, &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, NULL, 1000, NULL, NULL, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_RESULT(teamsop_wait(c, "/teams('t-wait')/operations('o')", 1000, NULL, NULL, NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/users/x/operations/y", 1000, NULL, NULL, &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "http://evil.example/beta/teams/a/operations/b", 1000, NULL, NULL,
                            &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  teamsop_client_free(c);
}
