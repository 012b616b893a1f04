/*
 * operation.c (test_abi): teamsop_parse and every accessor: unknown fields, unrecognised enums,
 * null and absent fields, times, bounds, UTF-8; NULL operations.
 */
#include "abi.h"

/* ================================================================ parse */

TEST(test_parse) {
  teamsop_operation *op = DUMMY_OP;
  /* The fixture, from a buffer of exactly its size. */
  CHECK_NOT_NULL(g_fixture);
  if (g_fixture != NULL) {
    CHECK_RESULT(parse_exact(g_fixture, g_fixture_len, &op), TEAMSOP_OK);
    CHECK_SEED(op); /* the buffer is freed by now: the operation owns its copy */
    teamsop_free(op);
  }

  /* Exactly len bytes are read. */
  static const char with_tail[] = "{\"id\":\"x\"}GARBAGE";
  op = NULL;
  CHECK_RESULT(parse_exact(with_tail, 10, &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "x");
  CHECK_STREQ(teamsop_operation_json(op), "{\"id\":\"x\"}");
  teamsop_free(op);

  /* Arguments. */
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_parse(NULL, 0, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_parse(NULL, 10, &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_NULL(op);
  CHECK_RESULT(teamsop_parse("{}", 2, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_parse("{}", 0, &op), TEAMSOP_ERR_PARSE);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);

  /* Not a teamsAsyncOperation object. */
  static const char *const bad[] = {
      "[]",
      "[{\"id\":\"x\"}]",
      "\"text\"",
      "42",
      "null",
      "true",
      "   ",
      "{",
      "{\"id\":\"x\",}",
      "{\"id\":\"x\"} {}",
      "{\"id\":\"x\"} trailing",
      "{\"id\":\"\xff\"}",
      "\xff",
      "{\"id\":\"a\\u0000b\"}",
      "{\"status\":\"in\\u0000Progress\"}",
      "{\"error\":{\"code\":\"a\\u0000\"}}",
      "{\"attemptsCount\":\"1\"}",
      "{\"attemptsCount\":true}",
      "{\"id\":7}",
      "{\"status\":5}",
      "{\"operationType\":[]}",
      "{\"createdDateTime\":123}",
      "{\"values\":{\"a\":1}}",
      "{\"error\":\"x\"}",
      "{\"error\":{\"code\":5}}",
      "{\"targetResourceId\":{}}",
      "{\"@odata.context\":1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    op = DUMMY_OP;
    if (!CHECK_RESULT(parse_str(bad[i], &op), TEAMSOP_ERR_PARSE)) {
      CHECK_NOTE("input #%zu: %s", i, bad[i]);
    }
    if (!CHECK_NULL(op) && op != DUMMY_OP) {
      teamsop_free(op);
    }
  }
  /* A NUL byte inside the buffer (not JSON). */
  op = DUMMY_OP;
  CHECK_RESULT(parse_exact("{\"id\":\"a\0b\"}", 12, &op), TEAMSOP_ERR_PARSE);
  CHECK_NULL(op);

  /* No id: parses, id NULL. */
  op = NULL;
  CHECK_RESULT(parse_str("{\"status\":\"inProgress\"}", &op), TEAMSOP_OK);
  CHECK_NULL(teamsop_operation_id(op));
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_IN_PROGRESS);
  CHECK(!teamsop_operation_is_terminal(op));
  teamsop_free(op);
  op = NULL;
  CHECK_RESULT(parse_str("{}", &op), TEAMSOP_OK);
  CHECK_NULL(teamsop_operation_id(op));
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_ABSENT);
  CHECK_STREQ(teamsop_operation_json(op), "{}");
  teamsop_free(op);

  /* Unknown fields are kept in the raw body. */
  static const char unknown[] =
      "{\"id\":\"u\",\"futureField\":{\"nested\":[1,2,{\"x\":null}]},\"n\":1.5,"
      "\"status\":\"succeeded\"}";
  op = NULL;
  CHECK_RESULT(parse_str(unknown, &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "u");
  CHECK_STREQ(teamsop_operation_json(op), unknown);
  CHECK(teamsop_operation_is_terminal(op));
  teamsop_free(op);

  /* Unrecognised enum strings. */
  op = NULL;
  CHECK_RESULT(parse_str("{\"status\":\"paused\",\"operationType\":\"moveTeam\"}", &op),
               TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_UNRECOGNIZED);
  CHECK_STREQ(teamsop_operation_status_str(op), "paused");
  CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_UNRECOGNIZED);
  CHECK_STREQ(teamsop_operation_type_str(op), "moveTeam");
  CHECK(!teamsop_operation_is_terminal(op));
  teamsop_free(op);

  /* null and absent. */
  static const char all_null[] =
      "{\"@odata.context\":null,\"id\":null,\"operationType\":null,\"createdDateTime\":null,"
      "\"status\":null,\"lastActionDateTime\":null,\"attemptsCount\":null,"
      "\"targetResourceId\":null,\"targetResourceLocation\":null,\"values\":null,\"error\":null}";
  static const char *const empties[] = {all_null, "{\"error\":{}}",
                                        "{\"error\":{\"code\":null,\"message\":null}}"};
  for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
    op = NULL;
    if (!CHECK_RESULT(parse_str(empties[i], &op), TEAMSOP_OK)) {
      CHECK_NOTE("input #%zu", i);
      continue;
    }
    CHECK_NULL(teamsop_operation_id(op));
    CHECK_EQ_INT(teamsop_operation_status(op), TEAMSOP_STATUS_ABSENT);
    CHECK_NULL(teamsop_operation_status_str(op));
    CHECK_EQ_INT(teamsop_operation_type(op), TEAMSOP_TYPE_ABSENT);
    CHECK_NULL(teamsop_operation_type_str(op));
    CHECK_NULL(teamsop_operation_created_date_time(op));
    CHECK_NULL(teamsop_operation_last_action_date_time(op));
    CHECK_EQ_INT(teamsop_operation_created_unix_ms(op), TEAMSOP_NO_TIME);
    CHECK_EQ_INT(teamsop_operation_last_action_unix_ms(op), TEAMSOP_NO_TIME);
    CHECK_EQ_INT(teamsop_operation_attempts_count(op), -1);
    CHECK_NULL(teamsop_operation_target_resource_id(op));
    CHECK_NULL(teamsop_operation_target_resource_location(op));
    CHECK_NULL(teamsop_operation_values(op));
    CHECK_NULL(teamsop_operation_error_code(op));
    CHECK_NULL(teamsop_operation_error_message(op));
    CHECK_NULL(teamsop_operation_odata_context(op));
    CHECK_STREQ(teamsop_operation_json(op), empties[i]);
    CHECK(!teamsop_operation_is_terminal(op));
    teamsop_free(op);
  }

  /* Error with only a code, or only a message. */
  op = NULL;
  CHECK_RESULT(parse_str("{\"status\":\"failed\",\"error\":{\"code\":\"Conflict\"}}", &op),
               TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_error_code(op), "Conflict");
  CHECK_NULL(teamsop_operation_error_message(op));
  CHECK(teamsop_operation_is_terminal(op));
  teamsop_free(op);
  op = NULL;
  CHECK_RESULT(parse_str("{\"error\":{\"code\":null,\"message\":\"m\"}}", &op), TEAMSOP_OK);
  CHECK_NULL(teamsop_operation_error_code(op));
  CHECK_STREQ(teamsop_operation_error_message(op), "m");
  teamsop_free(op);

  /* Times: offsets applied, sub-millisecond digits truncated. */
  struct {
    const char *text;
    int64_t ms;
  } times[] = {
      {"2021-05-27T21:23:41.9085453Z", SEED_CREATED_MS},
      {"2021-05-27T23:23:41.9085453+02:00", SEED_CREATED_MS},
      {"2021-05-27T16:23:41.9089999-05:00", SEED_CREATED_MS},
      {"2021-05-27T21:23:41.908Z", SEED_CREATED_MS},
      {"2021-05-27T21:23:41Z", INT64_C(1622150621000)},
      {"2021-05-27T21:23:41.9Z", INT64_C(1622150621900)},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999Z", -1},
      {"yesterday", TEAMSOP_NO_TIME},
      {"", TEAMSOP_NO_TIME},
      {"2021-13-45T99:99:99Z", TEAMSOP_NO_TIME},
  };
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    char json[256];
    snprintf(json, sizeof json, "{\"createdDateTime\":\"%s\",\"lastActionDateTime\":\"%s\"}",
             times[i].text, times[i].text);
    op = NULL;
    if (!CHECK_RESULT(parse_str(json, &op), TEAMSOP_OK)) {
      CHECK_NOTE("time #%zu: %s", i, times[i].text);
      continue;
    }
    bool ok = CHECK_EQ_INT(teamsop_operation_created_unix_ms(op), times[i].ms);
    ok &= CHECK_EQ_INT(teamsop_operation_last_action_unix_ms(op), times[i].ms);
    ok &= CHECK_STREQ(teamsop_operation_created_date_time(op), times[i].text);
    ok &= CHECK_STREQ(teamsop_operation_last_action_date_time(op), times[i].text);
    if (!ok) {
      CHECK_NOTE("time #%zu: %s", i, times[i].text);
    }
    teamsop_free(op);
  }

  /* Every status and type string. */
  static const char *const statuses[] = {"invalid",   "notStarted", "inProgress",
                                         "succeeded", "failed",     "unknownFutureValue"};
  for (int i = 0; i < 6; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"status\":\"%s\"}", statuses[i]);
    op = NULL;
    CHECK_RESULT(parse_str(json, &op), TEAMSOP_OK);
    if (!CHECK_EQ_INT(teamsop_operation_status(op), i)) {
      CHECK_NOTE("status %s", statuses[i]);
    }
    CHECK_STREQ(teamsop_operation_status_str(op), statuses[i]);
    CHECK(teamsop_operation_is_terminal(op) ==
          (i == TEAMSOP_STATUS_SUCCEEDED || i == TEAMSOP_STATUS_FAILED ||
           i == TEAMSOP_STATUS_INVALID));
    teamsop_free(op);
  }
  static const char *const types[] = {"invalid",       "cloneTeam",        "archiveTeam",
                                      "unarchiveTeam", "createTeam",       "unknownFutureValue",
                                      "teamifyGroup",  "createChannel",    "createChat",
                                      "archiveChannel", "unarchiveChannel"};
  for (int i = 0; i < 11; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"operationType\":\"%s\"}", types[i]);
    op = NULL;
    CHECK_RESULT(parse_str(json, &op), TEAMSOP_OK);
    if (!CHECK_EQ_INT(teamsop_operation_type(op), i)) {
      CHECK_NOTE("type %s", types[i]);
    }
    CHECK_STREQ(teamsop_operation_type_str(op), types[i]);
    teamsop_free(op);
  }

  /* attemptsCount bounds. */
  op = NULL;
  CHECK_RESULT(parse_str("{\"attemptsCount\":0}", &op), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_operation_attempts_count(op), 0);
  teamsop_free(op);
  op = NULL;
  CHECK_RESULT(parse_str("{\"attemptsCount\":2147483647}", &op), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_operation_attempts_count(op), INT32_MAX);
  teamsop_free(op);

  /* Non-ASCII strings come back as sent (UTF-8). */
  op = NULL;
  CHECK_RESULT(parse_str("{\"id\":\"caf\xc3\xa9 \\u2603\"}", &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "caf\xc3\xa9 \xe2\x98\x83");
  teamsop_free(op);
}

TEST(test_null_accessors) {
  CHECK_NULL(teamsop_operation_id(NULL));
  CHECK_EQ_INT(teamsop_operation_status(NULL), TEAMSOP_STATUS_ABSENT);
  CHECK_NULL(teamsop_operation_status_str(NULL));
  CHECK_EQ_INT(teamsop_operation_type(NULL), TEAMSOP_TYPE_ABSENT);
  CHECK_NULL(teamsop_operation_type_str(NULL));
  CHECK_NULL(teamsop_operation_created_date_time(NULL));
  CHECK_NULL(teamsop_operation_last_action_date_time(NULL));
  CHECK_EQ_INT(teamsop_operation_created_unix_ms(NULL), TEAMSOP_NO_TIME);
  CHECK_EQ_INT(teamsop_operation_last_action_unix_ms(NULL), TEAMSOP_NO_TIME);
  CHECK_EQ_INT(teamsop_operation_attempts_count(NULL), -1);
  CHECK_NULL(teamsop_operation_target_resource_id(NULL));
  CHECK_NULL(teamsop_operation_target_resource_location(NULL));
  CHECK_NULL(teamsop_operation_values(NULL));
  CHECK_NULL(teamsop_operation_error_code(NULL));
  CHECK_NULL(teamsop_operation_error_message(NULL));
  CHECK_NULL(teamsop_operation_odata_context(NULL));
  CHECK_NULL(teamsop_operation_json(NULL));
  CHECK(!teamsop_operation_is_terminal(NULL));
  CHECK_EQ_INT(TEAMSOP_NO_TIME, INT64_MIN);
  teamsop_free(NULL);
  teamsop_client_free(NULL);
}
