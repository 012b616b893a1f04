/*
 * client.c (test_abi): teamsop_version, teamsop_result_str, and the client: teamsop_client_new,
 * _free and every setter, the token included.
 */
#include "abi.h"

/* ================================================================ library */

TEST(test_version) {
  const char *v = teamsop_version();
  CHECK_NOT_NULL(v);
  if (v == NULL) {
    return;
  }
  unsigned major = 0, minor = 0, patch = 0;
  int consumed = 0;
  CHECK_EQ_INT(sscanf(v, "%u.%u.%u%n", &major, &minor, &patch, &consumed), 3);
  CHECK_EQ_INT(consumed, (int)strlen(v));
  /* Digits and exactly two dots, nothing else ("1.2.3-rc1" or "v1.2.3" would fail). */
  int dots = 0;
  bool only_digits = v[0] != '\0' && isdigit((unsigned char)v[0]);
  for (const char *p = v; *p != '\0'; p++) {
    if (*p == '.') {
      dots++;
      only_digits &= isdigit((unsigned char)p[1]) != 0;
    } else {
      only_digits &= isdigit((unsigned char)*p) != 0;
    }
  }
  CHECK_EQ_INT(dots, 2);
  CHECK(only_digits);
  CHECK(teamsop_version() == v); /* static */
  printf("    libteamsop %s\n", v);
}

TEST(test_result_str) {
  static const char *const names[] = {
      "TEAMSOP_OK",
      "TEAMSOP_ERR_INVALID_ARGUMENT",
      "TEAMSOP_ERR_TRANSPORT",
      "TEAMSOP_ERR_TIMEOUT",
      "TEAMSOP_ERR_UNAUTHORIZED",
      "TEAMSOP_ERR_FORBIDDEN",
      "TEAMSOP_ERR_NOT_FOUND",
      "TEAMSOP_ERR_THROTTLED",
      "TEAMSOP_ERR_HTTP",
      "TEAMSOP_ERR_PARSE",
      "TEAMSOP_ERR_TOO_LARGE",
      "TEAMSOP_ERR_CANCELLED",
      "TEAMSOP_ERR_INTERNAL",
  };
  /* The header's numbering, which callers compile against. */
  CHECK_EQ_INT(TEAMSOP_OK, 0);
  CHECK_EQ_INT(TEAMSOP_ERR_INVALID_ARGUMENT, 1);
  CHECK_EQ_INT(TEAMSOP_ERR_INTERNAL, 12);
  for (uint32_t i = 0; i < 13; i++) {
    if (!CHECK_STREQ(teamsop_result_str(i), names[i])) {
      CHECK_NOTE("code %u", (unsigned)i);
    }
  }
  CHECK_STREQ(teamsop_result_str(TEAMSOP_ERR_NOT_FOUND), "TEAMSOP_ERR_NOT_FOUND");
  CHECK_STREQ(teamsop_result_str(13), "TEAMSOP_ERR_UNKNOWN");
  CHECK_STREQ(teamsop_result_str(999), "TEAMSOP_ERR_UNKNOWN");
  CHECK_STREQ(teamsop_result_str(0x7FFFFFFFu), "TEAMSOP_ERR_UNKNOWN");
  CHECK_STREQ(teamsop_result_str(0xFFFFFFFFu), "TEAMSOP_ERR_UNKNOWN");
  CHECK(teamsop_result_str(6) == teamsop_result_str(6)); /* static */
}

/* ================================================================ client */

TEST(test_client_new) {
  /* No token at first, then one. */
  teamsop_client *c = teamsop_client_new(NULL);
  CHECK_NOT_NULL(c);
  CHECK_RESULT(teamsop_client_set_base_url(c, g_base_url), TEAMSOP_OK);
  if (g_ca_file != NULL) {
    CHECK_RESULT(teamsop_client_set_ca_file(c, g_ca_file), TEAMSOP_OK);
  }
  teamsop_operation *op = DUMMY_OP;
  emu_clear_requests();
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_NOTHING_SENT();
  CHECK_RESULT(teamsop_client_set_token(c, g_token), TEAMSOP_OK);
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);
  teamsop_client_free(c);

  /* Refused tokens: NULL client and a message, which never holds the token. */
  static const char *const bad[] = {
      "",                       /* empty */
      "secret\nvalue123",       /* newline: header injection */
      "secret\r\nX-Evil: value123",
      "sekret-tab\x01" "value123", /* control character */
      "xyzzy-non-ascii-\xc3\xa9", /* valid UTF-8, but not ASCII */
      "plugh-nonutf8-\xff" "value123", /* not UTF-8 */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    teamsop_client *b = teamsop_client_new(bad[i]);
    if (!CHECK_NULL(b)) {
      CHECK_NOTE("token #%zu", i);
      teamsop_client_free(b);
    }
    CHECK_LAST_ERROR_CLEAN();
  }

  /* Operations outlive their client. */
  c = new_client();
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  teamsop_client_free(c);
  CHECK_SEED(op);
  teamsop_free(op);

  /* Freeing NULL is a no-op. */
  teamsop_client_free(NULL);
  teamsop_free(NULL);
  CHECK(true);
}

TEST(test_setters_null_client) {
  CHECK_RESULT(teamsop_client_set_token(NULL, "tok"), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_token(NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_cloud(NULL, TEAMSOP_CLOUD_GLOBAL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_base_url(NULL, "https://graph.microsoft.us/beta"),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_timeout_ms(NULL, 1000), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_max_retries(NULL, 1), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(NULL, 1000), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(NULL, 100), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_ca_file(NULL, "/etc/hostname"), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_select(NULL, "status"), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_select(NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_NULL(teamsop_last_graph_code());
  CHECK_NULL(teamsop_last_request_id());
  CHECK_NULL(teamsop_last_client_request_id());
}

TEST(test_set_cloud) {
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_RESULT(teamsop_client_set_cloud(c, 99), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_cloud(c, 4), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_cloud(c, 0xFFFFFFFFu), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_cloud(c, TEAMSOP_CLOUD_GLOBAL), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_cloud(c, TEAMSOP_CLOUD_US_GOV), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_cloud(c, TEAMSOP_CLOUD_US_GOV_DOD), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_cloud(c, TEAMSOP_CLOUD_CHINA), TEAMSOP_OK);
  teamsop_client_free(c);
}

TEST(test_set_base_url) {
  teamsop_client *c = new_client();
  static const char *const refused[] = {
      "http://evil.example/beta",
      "http://127.0.0.1.evil.example/beta",
      "http://localhost.evil.example/beta",
      "http://user@127.0.0.1:1/beta",
      "http://user:pw@127.0.0.1:1/beta",
      "http://127.0.0.1@evil.example/beta",
      "http://127.0.0.1:1@evil.example/beta",
      "https://user@graph.microsoft.us/beta",
      "ftp://127.0.0.1/beta",
      "file:///etc/passwd",
      "http://10.0.0.1/beta",
      "http://0.0.0.0:1/beta",
      "http://[::2]:1/beta",
      "http://127.0.0.1:1/beta?x=1",
      "http://127.0.0.1:1/beta#frag",
      "\xff",
      "http://127.0.0.1:1/beta\xff",
      "",
      "not a url",
      "/beta",
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    if (!CHECK_RESULT(teamsop_client_set_base_url(c, refused[i]), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("base URL #%zu: %s", i, refused[i]);
    }
  }
  CHECK_RESULT(teamsop_client_set_base_url(c, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  /* A refused URL leaves the setting as it was: the emulator still answers. */
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);

  static const char *const accepted[] = {
      "http://127.0.0.1:1/beta",
      "http://127.0.0.2:1/beta",
      "http://127.255.255.254:1/beta",
      "http://localhost:1/beta",
      "http://[::1]:1/beta",
      "https://graph.microsoft.us/beta",
      "https://graph.microsoft.com/v1.0",
      "https://127.0.0.1:1/beta",
  };
  for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
    if (!CHECK_RESULT(teamsop_client_set_base_url(c, accepted[i]), TEAMSOP_OK)) {
      CHECK_NOTE("base URL #%zu: %s", i, accepted[i]);
    }
  }
  /* Nothing listens on port 1: a transport error, no HTTP status. */
  CHECK_RESULT(teamsop_client_set_base_url(c, "http://127.0.0.1:1/beta"), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 3000), TEAMSOP_OK);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_NULL(teamsop_last_graph_code());
  /* Nothing was sent: no client-request-id to report (API.md: "that was sent"). */
  CHECK_NULL(teamsop_last_client_request_id());
  teamsop_client_free(c);
}

TEST(test_numeric_setters) {
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 0), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, UINT32_MAX), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, 0), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, SIZE_MAX), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 0), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, UINT32_MAX), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 11), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_max_retries(c, UINT32_MAX), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 10), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 3), TEAMSOP_OK);
  teamsop_client_free(c);
}

TEST(test_set_select) {
  teamsop_client *c = new_client();
  static const char *const valid[] = {"status,error", "id", "a.b_c/d@e,F9", "Status"};
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    if (!CHECK_RESULT(teamsop_client_set_select(c, valid[i]), TEAMSOP_OK)) {
      CHECK_NOTE("select #%zu: %s", i, valid[i]);
    }
  }
  static const char *const invalid[] = {
      "a b", "a&b", "a=b", "a#b", "a;b", "$select", "a%20b", "a\nb", "st\xc3\xa9tus", "a\xff",
      "status, error",
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    if (!CHECK_RESULT(teamsop_client_set_select(c, invalid[i]), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("select #%zu: %s", i, invalid[i]);
    }
  }

  /* Selected out reads as absent. */
  CHECK_RESULT(teamsop_client_set_select(c, "status,error"), TEAMSOP_OK);
  teamsop_operation *op = NULL;
  emu_clear_requests();
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK_NULL(teamsop_operation_id(op));
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED);
  CHECK_STREQ(teamsop_operation_status_str(op), "succeeded");
  CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_ABSENT);
  CHECK_NULL(teamsop_operation_type_str(op));
  CHECK_EQ_INT(teamsop_operation_attempts_count(op), -1);
  CHECK_EQ_INT(teamsop_operation_created_unix_ms(op), TEAMSOP_NO_TIME);
  CHECK_NULL(teamsop_operation_created_date_time(op));
  CHECK_NULL(teamsop_operation_values(op));
  CHECK_NULL(teamsop_operation_error_code(op));
  CHECK_NOT_NULL(teamsop_operation_odata_context(op));
  CHECK(teamsop_operation_is_terminal(op));
  teamsop_free(op);
  if (g_http) {
    char *log = emu_requests();
    char *path = log != NULL ? emu_request_path(log, 0) : NULL;
    CHECK(path != NULL && strstr(path, "select=") != NULL && strstr(path, "status") != NULL);
    if (path != NULL) {
      printf("    $select sent as %s\n", strchr(path, '?') != NULL ? strchr(path, '?') : path);
    }
    free(path);
    free(log);
  }

  /* NULL and "" clear it. */
  for (int i = 0; i < 2; i++) {
    CHECK_RESULT(teamsop_client_set_select(c, "status"), TEAMSOP_OK);
    CHECK_RESULT(teamsop_client_set_select(c, i == 0 ? NULL : ""), TEAMSOP_OK);
    emu_clear_requests();
    op = NULL;
    CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
    CHECK_SEED(op);
    teamsop_free(op);
    if (g_http) {
      char *log = emu_requests();
      CHECK(log != NULL && strstr(log, "select") == NULL);
      free(log);
    }
  }
  teamsop_client_free(c);
}

TEST(test_set_ca_file) {
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_RESULT(teamsop_client_set_ca_file(c, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_ca_file(c, "/nonexistent/teamsop-test/ca.pem"),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_ca_file(c, ""), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_ca_file(c, "/"), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_ca_file(c, "/tmp/\xff.pem"), TEAMSOP_ERR_INVALID_ARGUMENT);

  /* Files that hold no certificate: text, and an empty file. */
  static const char *const contents[] = {
      "this file holds no certificate\n",
      "",
      ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGXe4RrWdCE5mBNvQ8vq1h3Cb0WKdrrK1mjcsW0Ow8xV\n"
       "-----END PRIVATE KEY-----\n"),
  };
  for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
    char path[] = "/tmp/teamsop-test-ca-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
      continue;
    }
    size_t len = strlen(contents[i]);
    CHECK_EQ_INT(write(fd, contents[i], len), (long long)len);
    close(fd);
    if (!CHECK_RESULT(teamsop_client_set_ca_file(c, path), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("file #%zu", i);
    }
    unlink(path);
  }

  if (g_ca_file != NULL) {
    CHECK_RESULT(teamsop_client_set_ca_file(c, g_ca_file), TEAMSOP_OK);
  } else {
    printf("    (TEAMSOP_CA_FILE unset: the valid-PEM case runs under with-emulator.sh --tls)\n");
  }
  teamsop_client_free(c);

  if (g_ca_file != NULL) {
    /* Over https, the emulator's CA is needed: without it, a TLS failure. */
    c = teamsop_client_new(g_token);
    CHECK_RESULT(teamsop_client_set_base_url(c, g_base_url), TEAMSOP_OK);
    CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
    teamsop_operation *op = DUMMY_OP;
    CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_TRANSPORT);
    CHECK_NULL(op);
    CHECK_EQ_INT(teamsop_last_http_status(), 0);
    CHECK_NULL(teamsop_last_client_request_id()); /* the handshake failed: nothing sent */
    CHECK_RESULT(teamsop_client_set_ca_file(c, g_ca_file), TEAMSOP_OK);
    CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
    CHECK_SEED(op);
    teamsop_free(op);
    teamsop_client_free(c);
  }
}

TEST(test_set_token) {
  teamsop_client *c = new_client();
  teamsop_operation *op = NULL;

  /* NULL clears the token: a GET is then refused, and nothing is sent. */
  CHECK_RESULT(teamsop_client_set_token(c, NULL), TEAMSOP_OK);
  emu_clear_requests();
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_NULL(teamsop_last_client_request_id());
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, "create-succeeded", &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_location(c, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", 1000, NULL,
                            NULL, &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_NOTHING_SENT();

  static const char *const bad[] = {
      "", "a\nb", "a\rb", "wrong-secret-abc123\n", "tok\xc3\xa9n", "tok\xff", ("a\x7f" "b"),
      "sekret-tab\tx",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (!CHECK_RESULT(teamsop_client_set_token(c, bad[i]), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("token #%zu", i);
    }
  }

  /* The right token works, and is what was sent. */
  CHECK_RESULT(teamsop_client_set_token(c, g_token), TEAMSOP_OK);
  emu_clear_requests();
  op = NULL;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  CHECK_SEED(op);
  teamsop_free(op);
  if (g_http) {
    char *log = emu_requests();
    char want[512];
    snprintf(want, sizeof want, "\"authorization\":\"Bearer %s\"", g_token);
    CHECK(log != NULL && strstr(log, want) != NULL);
    free(log);
  }

  /* A wrong token: 401 from Graph, and the token is in no message. */
  CHECK_RESULT(teamsop_client_set_token(c, "wrong-secret-abc123"), TEAMSOP_OK);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 401);
  CHECK_STREQ(teamsop_last_graph_code(), "InvalidAuthenticationToken");
  CHECK(is_guid(teamsop_last_request_id()));
  CHECK(is_guid(teamsop_last_client_request_id()));
  teamsop_client_free(c);
}
