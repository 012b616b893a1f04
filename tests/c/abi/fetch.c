/*
 * fetch.c (test_abi): the GETs: teamsop_get, teamsop_get_team_operation, teamsop_get_location
 * (every Location form), hostile and invalid ids.
 */
#include "abi.h"

/* ================================================================ fetching */

TEST(test_get_seed) {
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  emu_clear_requests();
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK(op != DUMMY_OP);
  CHECK_SEED(op);
  /* Strings are owned by the operation: the same pointer every time. */
  CHECK(teamsop_operation_id(op) == teamsop_operation_id(op));
  CHECK(teamsop_operation_json(op) == teamsop_operation_json(op));
  teamsop_free(op);
  if (g_http) {
    char *log = emu_requests();
    char *path = log != NULL ? emu_request_path(log, 0) : NULL;
    /* ':' and '@' may be sent as is or escaped; nothing else changes. */
    CHECK(path != NULL && (strcmp(path, "/beta/chats/" SEED_CHAT "/operations/" SEED_OP) == 0 ||
                           strcasecmp(path, "/beta/chats/" SEED_CHAT_ENC "/operations/" SEED_OP) ==
                               0));
    if (path != NULL) {
      printf("    sent %s\n", path);
    }
    /* A GUID client-request-id goes with every request. */
    const char *crid = log != NULL ? strstr(log, "\"client-request-id\":\"") : NULL;
    CHECK(crid != NULL);
    if (crid != NULL) {
      char id[37] = {0};
      memcpy(id, crid + strlen("\"client-request-id\":\""), 36);
      CHECK(is_guid(id));
    }
    CHECK(log != NULL && strstr(log, "\"accept\":\"application/json") != NULL);
    free(path);
    free(log);
  }
  teamsop_client_free(c);
}

TEST(test_get_team_operations) {
  teamsop_client *c = new_client();
  teamsop_operation *op = NULL;

  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "clone-in-progress", &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "clone-in-progress");
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_IN_PROGRESS);
  CHECK_STREQ(teamsop_operation_status_str(op), "inProgress");
  CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_CLONE_TEAM);
  CHECK_STREQ(teamsop_operation_type_str(op), "cloneTeam");
  CHECK_EQ_INT(teamsop_operation_attempts_count(op), 1);
  CHECK_EQ_INT(teamsop_operation_created_unix_ms(op), TEAM_CREATED_MS);
  CHECK_EQ_INT(teamsop_operation_last_action_unix_ms(op), TEAM_LAST_ACTION_MS);
  CHECK_STREQ(teamsop_operation_created_date_time(op), "2024-01-15T10:00:00.0000000Z");
  CHECK_NULL(teamsop_operation_target_resource_id(op));
  CHECK_NULL(teamsop_operation_target_resource_location(op));
  CHECK_NULL(teamsop_operation_error_code(op));
  CHECK_NULL(teamsop_operation_error_message(op));
  CHECK(!teamsop_operation_is_terminal(op));
  const char *ctx = teamsop_operation_odata_context(op);
  CHECK(ctx != NULL && strstr(ctx, "/beta/$metadata#teams(") != NULL);
  teamsop_free(op);

  op = NULL;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "archive-failed", &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "archive-failed");
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_FAILED);
  CHECK_STREQ(teamsop_operation_status_str(op), "failed");
  CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_ARCHIVE_TEAM);
  CHECK_STREQ(teamsop_operation_type_str(op), "archiveTeam");
  CHECK_STREQ(teamsop_operation_error_code(op), "Conflict");
  CHECK_STREQ(teamsop_operation_error_message(op), "The team is already archived.");
  CHECK(teamsop_operation_is_terminal(op));
  teamsop_free(op);

  op = NULL;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "create-succeeded", &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "create-succeeded");
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
  CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_CREATE_TEAM);
  CHECK_STREQ(teamsop_operation_type_str(op), "createTeam");
  CHECK_STREQ(teamsop_operation_target_resource_id(op), TEAM);
  CHECK_STREQ(teamsop_operation_target_resource_location(op), "/teams('" TEAM "')");
  CHECK_NULL(teamsop_operation_error_code(op));
  CHECK(teamsop_operation_is_terminal(op));
  teamsop_free(op);

  /* The emulator's own answers: 404 for an unknown id, 403 for team `forbidden`. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "no-such-operation", &op),
               TEAMSOP_ERR_NOT_FOUND);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 404);
  CHECK_STREQ(teamsop_last_graph_code(), "NotFound");
  CHECK(is_guid(teamsop_last_request_id()));
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "forbidden", "x", &op), TEAMSOP_ERR_FORBIDDEN);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 403);
  CHECK_STREQ(teamsop_last_graph_code(), "Forbidden");
  /* A chat operation is not a team operation. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_NOT_FOUND);
  CHECK_NULL(op);

  /* NULL arguments. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(NULL, TEAM, "x", &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, NULL, "x", &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, NULL, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "create-succeeded", NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  teamsop_client_free(c);
}

TEST(test_get_location_forms) {
  teamsop_client *c = new_client();
  char abs1[512], abs2[512], abs3[512], abs4[512];
  snprintf(abs1, sizeof abs1, "%s/beta/chats/" SEED_CHAT "/operations/" SEED_OP, g_emu_url);
  snprintf(abs2, sizeof abs2, "%s/chats('" SEED_CHAT "')/operations('" SEED_OP "')", g_emu_url);
  snprintf(abs3, sizeof abs3, "%s/beta/chats('%s')/operations('%s')", g_emu_url, SEED_CHAT_ENC,
           SEED_OP);
  snprintf(abs4, sizeof abs4, "%s/v1.0/chats('" SEED_CHAT "')/operations('" SEED_OP "')",
           g_emu_url);
  struct {
    const char *location;
    const char *version; /* the version segment that must be sent */
  } forms[] = {
      {"/chats('" SEED_CHAT "')/operations('" SEED_OP "')", "/beta/"},
      {"/chats(" SEED_CHAT ")/operations(" SEED_OP ")", "/beta/"},
      {"/chats/" SEED_CHAT "/operations/" SEED_OP, "/beta/"},
      {"/chats('" SEED_CHAT_ENC "')/operations('" SEED_OP "')", "/beta/"},
      {"/chats/" SEED_CHAT_ENC "/operations/" SEED_OP, "/beta/"},
      {"/beta/chats('" SEED_CHAT "')/operations('" SEED_OP "')", "/beta/"},
      {"/beta/chats/" SEED_CHAT "/operations/" SEED_OP, "/beta/"},
      {"/v1.0/chats('" SEED_CHAT "')/operations('" SEED_OP "')", "/v1.0/"},
      {"/v1.0/chats/" SEED_CHAT "/operations/" SEED_OP, "/v1.0/"},
      {abs1, "/beta/"},
      {abs2, "/beta/"},
      {abs3, "/beta/"},
      {abs4, "/v1.0/"},
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    emu_clear_requests();
    if (!CHECK_RESULT(teamsop_get_location(c, forms[i].location, &op), TEAMSOP_OK)) {
      CHECK_NOTE("location #%zu: %s", i, forms[i].location);
      continue;
    }
    CHECK_SEED(op);
    teamsop_free(op);
    if (g_http) {
      /* Rebuilt from the ids: ':' and '@' as is or escaped, nothing else. */
      char want_plain[512], want_enc[512];
      snprintf(want_plain, sizeof want_plain, "%schats/%s/operations/%s", forms[i].version,
               SEED_CHAT, SEED_OP);
      snprintf(want_enc, sizeof want_enc, "%schats/%s/operations/%s", forms[i].version,
               SEED_CHAT_ENC, SEED_OP);
      char *log = emu_requests();
      char *path = log != NULL ? emu_request_path(log, 0) : NULL;
      bool same = path != NULL && (strcmp(path, want_plain) == 0 || strcasecmp(path, want_enc) == 0);
      if (!CHECK(same)) {
        CHECK_NOTE("location #%zu: %s sent %s", i, forms[i].location, path ? path : "(nothing)");
      }
      CHECK_EQ_INT(log != NULL ? count_substr(log, "\"method\":") : -1, 1);
      free(path);
      free(log);
    }
  }

  static const char *const team_forms[] = {
      "/teams('" TEAM "')/operations('create-succeeded')",
      "/teams(" TEAM ")/operations(create-succeeded)",
      "/teams/" TEAM "/operations/create-succeeded",
      "/beta/teams('" TEAM "')/operations('create-succeeded')",
      "/v1.0/teams/" TEAM "/operations/create-succeeded",
  };
  for (size_t i = 0; i < sizeof team_forms / sizeof team_forms[0]; i++) {
    teamsop_operation *op = NULL;
    if (!CHECK_RESULT(teamsop_get_location(c, team_forms[i], &op), TEAMSOP_OK)) {
      CHECK_NOTE("location #%zu: %s", i, team_forms[i]);
      continue;
    }
    CHECK_STREQ(teamsop_operation_id(op), "create-succeeded");
    CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_CREATE_TEAM);
    CHECK_STREQ(teamsop_operation_target_resource_id(op), TEAM);
    const char *ctx = teamsop_operation_odata_context(op);
    const char *want = strncmp(team_forms[i], "/v1.0/", 6) == 0 ? "/v1.0/$metadata#teams("
                                                                  : "/beta/$metadata#teams(";
    if (!CHECK(ctx != NULL && strstr(ctx, want) != NULL)) {
      CHECK_NOTE("location #%zu: %s: context %s", i, team_forms[i], ctx ? ctx : "NULL");
    }
    teamsop_free(op);
  }

  /* Refused locations: INVALID_ARGUMENT, *out NULL, nothing sent. */
  char other_port[256], other_scheme[256], lookalike[256];
  snprintf(other_port, sizeof other_port, "%s://127.0.0.1:1/beta/chats/a/operations/b",
           g_http ? "http" : "https");
  snprintf(other_scheme, sizeof other_scheme, "%s://127.0.0.1:%d/beta/chats/a/operations/b",
           g_http ? "https" : "http", g_emu_port);
  snprintf(lookalike, sizeof lookalike,
           "%s://127.0.0.1.evil.example:%d/beta/chats/a/operations/b", g_http ? "http" : "https",
           g_emu_port);
  const char *refused[] = {
      "/users/x/operations/y",
      "/groups('a')/operations('b')",
      "http://evil.example/beta/chats/a/operations/b",
      "https://evil.example/beta/chats/a/operations/b",
      "//evil.example/beta/chats/a/operations/b",
      "///evil.example/beta/chats/a/operations/b",
      other_port,
      other_scheme,
      lookalike,
      "",
      "chats",
      "/chats('a')",
      "/chats('a')/operations",
      "/chats('a')/operations('b')/extra",
      "/chats//operations/b",
      "/chats('')/operations('b')",
      "/chats('a')/operations('')",
      "/chats('.')/operations('b')",
      "/chats('..')/operations('b')",
      "/teams/../operations/b",
      "/teams/%2e%2e/operations/b",
      "/teams('%2E%2E')/operations('b')",
      "/teams('a')/operations('%2e')",
      "/chats('a\xff')/operations('b')",
      "\xff",
  };
  emu_clear_requests();
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    if (!CHECK_RESULT(teamsop_get_location(c, refused[i], &op), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("location #%zu: %s", i, refused[i]);
    }
    if (!CHECK_NULL(op)) {
      if (op != DUMMY_OP) {
        teamsop_free(op);
      }
    }
  }
  CHECK_NOTHING_SENT();

  /* NULL arguments. */
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_location(NULL, "/chats('a')/operations('b')", &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_location(c, NULL, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_RESULT(teamsop_get_location(c, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  teamsop_client_free(c);
}

/* Ids that would leave their path segment if sent as is. The scenarios place an
 * operation with id "ESCAPED" where each escape would land. */
TEST(test_hostile_ids) {
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  struct {
    bool team;
    const char *id;
    const char *op;
    const char *want_path; /* the raw path that must be sent (hex digits in any case) */
  } cases[] = {
      {false, "esc", "a/b", "/beta/chats/esc/operations/a%2Fb"},
      {false, "esc", "a?b", "/beta/chats/esc/operations/a%3Fb"},
      {false, "esc", "a#b", "/beta/chats/esc/operations/a%23b"},
      {false, "esc", "%2e%2e", "/beta/chats/esc/operations/%252e%252e"},
      {false, "esc", "a b", "/beta/chats/esc/operations/a%20b"},
      {false, "esc", "a%3Fb", "/beta/chats/esc/operations/a%253Fb"},
      {false, "a/b", "o", "/beta/chats/a%2Fb/operations/o"},
      {false, "a?b", "o", "/beta/chats/a%3Fb/operations/o"},
      {false, "a#b", "o", "/beta/chats/a%23b/operations/o"},
      {false, "%2e%2e", "esc-op", "/beta/chats/%252e%252e/operations/esc-op"},
      {false, "../teams/esc-team", "esc-op", "/beta/chats/..%2Fteams%2Fesc-team/operations/esc-op"},
      {false, "..%2Fteams%2Fesc-team", "esc-op",
       "/beta/chats/..%252Fteams%252Fesc-team/operations/esc-op"},
      {true, "../chats/esc", "a", "/beta/teams/..%2Fchats%2Fesc/operations/a"},
      {true, "...", "o", "/beta/teams/.../operations/o"},
      {false, "esc", "\xc3\xa9", "/beta/chats/esc/operations/%C3%A9"},
      {false, "esc", "a\\b", "/beta/chats/esc/operations/a%5Cb"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    emu_clear_requests();
    teamsop_result r = cases[i].team ? teamsop_get_team_operation(c, cases[i].id, cases[i].op, &op)
                                     : teamsop_get(c, cases[i].id, cases[i].op, &op);
    bool ok = CHECK_RESULT(r, TEAMSOP_ERR_NOT_FOUND);
    if (r == TEAMSOP_OK && op != NULL) {
      ok &= CHECK_STREQ(teamsop_operation_id(op), "(not ESCAPED)");
      teamsop_free(op);
    } else {
      ok &= CHECK_NULL(op);
      ok &= CHECK_STREQ(teamsop_last_graph_code(), "NotFound");
    }
    if (g_http) {
      char *log = emu_requests();
      ok &= CHECK_EQ_INT(log != NULL ? count_substr(log, "\"method\":") : -1, 1);
      char *path = log != NULL ? emu_request_path(log, 0) : NULL;
      bool same = path != NULL && strcasecmp(path, cases[i].want_path) == 0;
      ok &= CHECK(same);
      if (!same) {
        CHECK_NOTE("sent %s, expected %s", path != NULL ? path : "(nothing)", cases[i].want_path);
      }
      free(path);
      free(log);
    }
    if (!ok) {
      CHECK_NOTE("case #%zu: %s id \"%s\", operation \"%s\"", i, cases[i].team ? "team" : "chat",
                 cases[i].id, cases[i].op);
    }
  }

  /* Locations: escapes are decoded once, then re-encoded as one segment. */
  static const char *const locations[] = {
      "/teams('..%2Fchats%2Fesc')/operations('a')",
      "/teams/..%2Fchats%2Fesc/operations/a",
      "/chats('esc')/operations('a%3Fb')",
      "/chats/esc/operations/a%23b",
      "/chats('esc')/operations('a%2Fb')",
      "/teams('%252e%252e')/operations('x')",
      "/chats('%2e%2e%2Fteams%2Fesc-team')/operations('esc-op')",
  };
  for (size_t i = 0; i < sizeof locations / sizeof locations[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    teamsop_result r = teamsop_get_location(c, locations[i], &op);
    if (!CHECK_RESULT(r, TEAMSOP_ERR_NOT_FOUND)) {
      CHECK_NOTE("location #%zu: %s", i, locations[i]);
    }
    if (r == TEAMSOP_OK && op != NULL) {
      CHECK_STREQ(teamsop_operation_id(op), "(not ESCAPED)");
      teamsop_free(op);
    } else {
      CHECK_NULL(op);
    }
  }

  /* A 1 MB id: any clear error (not OK, not a crash, not INTERNAL). */
  size_t big_len = 1024 * 1024;
  char *big = malloc(big_len + 1);
  memset(big, 'a', big_len);
  big[big_len] = '\0';
  teamsop_operation *op = DUMMY_OP;
  emu_clear_requests();
  double t0 = now_s();
  teamsop_result r = teamsop_get(c, "esc", big, &op);
  double took = now_s() - t0;
  CHECK(r != TEAMSOP_OK && r != TEAMSOP_ERR_INTERNAL);
  CHECK_NULL(op);
  if (r != TEAMSOP_OK) {
    CHECK_LAST_ERROR_CLEAN();
    CHECK(strlen(teamsop_last_error_message()) < 4096); /* the id is not quoted whole */
  }
  printf("    1 MB id: %s (http %d) in %.2f s, %d request(s) reached the emulator: %.160s\n",
         teamsop_result_str((uint32_t)r), (int)teamsop_last_http_status(), took,
         emu_request_count(), teamsop_last_error_message());
  free(big);
  teamsop_client_free(c);
}

TEST(test_invalid_ids) {
  teamsop_client *c = new_client();
  static const char *const bad[] = {"", ".", "..", "\xff", "a\xc3", "\xc0\xaf"};
  emu_clear_requests();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (int pos = 0; pos < 2; pos++) {
      const char *id = pos == 0 ? bad[i] : "esc";
      const char *opid = pos == 0 ? "o" : bad[i];
      teamsop_operation *op = DUMMY_OP;
      if (!CHECK_RESULT(teamsop_get(c, id, opid, &op), TEAMSOP_ERR_INVALID_ARGUMENT)) {
        CHECK_NOTE("teamsop_get, id #%zu in position %d", i, pos);
      }
      CHECK_NULL(op);
      CHECK_EQ_INT(teamsop_last_http_status(), 0);
      op = DUMMY_OP;
      if (!CHECK_RESULT(teamsop_get_team_operation(c, id, opid, &op),
                        TEAMSOP_ERR_INVALID_ARGUMENT)) {
        CHECK_NOTE("teamsop_get_team_operation, id #%zu in position %d", i, pos);
      }
      CHECK_NULL(op);
    }
  }
  CHECK_NOTHING_SENT();

  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(NULL, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, NULL, SEED_OP, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, NULL, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_get(NULL, NULL, NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NOTHING_SENT();
  teamsop_client_free(c);
}
