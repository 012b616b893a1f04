/*
 * test_abi.c: libteamsop's C ABI, every function of include/teamsop.h, against
 * the Graph emulator over loopback.
 *
 *   scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- build/test_abi
 *   scripts/with-emulator.sh --tls --scenarios tests/c/scenarios.json -- build/test_abi
 *
 * Reads TEAMSOP_BASE_URL, TEAMSOP_TOKEN, TEAMSOP_EMULATOR_URL and (with --tls)
 * TEAMSOP_CA_FILE, as exported by scripts/with-emulator.sh. The scripted answers
 * are in tests/c/scenarios.json. Over plain http, a tiny socket client also reads
 * the emulator's record of requests (GET /_emulator/requests) to check what was,
 * or was not, sent; over https those checks are skipped.
 *
 * Run from the repository root (the seed fixture is read from
 * tests/fixtures/seed-operation.json). Exit status 0 when every check passed.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
#include "emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; SEED_CHAT, SEED_OP,
 * SEED_CREATED_MS, now_s, is_guid, DUMMY_OP, CHECK_RESULT, CHECK_LAST_ERROR_CLEAN. */
#include "test_support.h"

/* ------------------------------------------------------------------ fixtures */

#define SEED_CHAT_ENC "19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2"
#define SEED_CREATED "2021-05-27T21:23:41.9085453Z"
#define SEED_LAST_ACTION "2021-05-27T21:23:45.1899277Z"
#define SEED_LAST_ACTION_MS INT64_C(1622150625189)
#define SEED_CONTEXT                                                                               \
  "https://graph.microsoft.com/beta/$metadata#chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread." \
  "v2')/operations/$entity"
#define SEED_VALUES "{\"appIds\":[\"1542629c-01b3-4a6d-8f76-1938b779e48d\"]}"
#define TEAM "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
#define TEAM_CREATED_MS INT64_C(1705312800000)
#define TEAM_LAST_ACTION_MS INT64_C(1705312805000)
/* The request-id the c-404 scenario sends. */
#define SCENARIO_REQUEST_ID "11111111-2222-3333-4444-555555555555"

static const char *g_base_url;  /* TEAMSOP_BASE_URL */
static const char *g_token;     /* TEAMSOP_TOKEN */
static const char *g_emu_url;   /* TEAMSOP_EMULATOR_URL, e.g. http://127.0.0.1:PORT */
static const char *g_ca_file;   /* TEAMSOP_CA_FILE, or NULL */
static bool g_http;             /* plain http: the request record can be read */
static int g_emu_port;
static char *g_fixture;         /* tests/fixtures/seed-operation.json */
static size_t g_fixture_len;

/* The tokens this program hands to the library: like the real token, they must
 * never appear in an error message (test_set_secrets, in main). The
 * stderr-token-check of mk/memcheck.mk reads this list too. */
static const char *const g_secrets[] = {
    "wrong-secret-abc123", "value123", "sekret-tab", "xyzzy-non-ascii", "plugh-nonutf8",
    "thread-secret-987",
};

/* ------------------------------------------------ a tiny client for /_emulator */

/* Sends one request to the emulator (plain http only) and returns the body
 * (malloc'd, NUL-terminated; chunked bodies decoded), or NULL. The client itself
 * is emu_control_request, in emulator_control.h. */
static char *emu_http(const char *method, const char *path, const char *extra_headers,
                      int *status_out, char **headers_out) {
  if (!g_http) {
    if (status_out != NULL) {
      *status_out = 0;
    }
    if (headers_out != NULL) {
      *headers_out = NULL;
    }
    return NULL;
  }
  return emu_control_request(g_emu_port, method, path, extra_headers, NULL, status_out,
                             headers_out);
}

static void emu_clear_requests(void) {
  if (g_http) {
    emu_control_clear_requests(g_emu_port);
  }
}

/* The emulator's record of requests (JSON), or NULL over https. */
static char *emu_requests(void) {
  return g_http ? emu_control_requests(g_emu_port) : NULL;
}

static int count_substr(const char *hay, const char *needle) {
  int n = 0;
  size_t len = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len) {
    n++;
  }
  return n;
}

/* How many Graph requests the emulator received since the last clear; -1 over https. */
static int emu_request_count(void) {
  char *log = emu_requests();
  if (log == NULL) {
    return -1;
  }
  int n = count_substr(log, "\"method\":");
  free(log);
  return n;
}

/* The raw path (with query) of the index-th recorded request, malloc'd, or NULL. */
static char *emu_request_path(const char *log, int index) {
  const char *p = log;
  for (int i = 0; i <= index; i++) {
    p = strstr(p, "\"path\":\"");
    if (p == NULL) {
      return NULL;
    }
    p += strlen("\"path\":\"");
  }
  const char *q = strchr(p, '"');
  if (q == NULL) {
    return NULL;
  }
  char *out = malloc((size_t)(q - p) + 1);
  memcpy(out, p, (size_t)(q - p));
  out[q - p] = '\0';
  return out;
}

/* Checks that nothing reached the emulator since the last emu_clear_requests(). */
#define CHECK_NOTHING_SENT()                                                                       \
  do {                                                                                             \
    if (g_http) {                                                                                  \
      CHECK_EQ_INT(emu_request_count(), 0);                                                        \
    }                                                                                              \
  } while (0)

/* ---------------------------------------------------------------- helpers */

static teamsop_client *new_client(void) {
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_NOT_NULL(c);
  return test_client_ready(c, g_base_url, g_ca_file);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
    }
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* Parses a NUL-terminated text from a malloc'd copy of exactly its length (no
 * NUL), freed right after, so that an overread or a dangling reference shows
 * under valgrind or ASan. */
static teamsop_result parse_exact(const char *text, size_t len, teamsop_operation **out) {
  char *buf = malloc(len == 0 ? 1 : len);
  memcpy(buf, text, len);
  teamsop_result r = teamsop_parse(buf, len, out);
  free(buf);
  return r;
}
static teamsop_result parse_str(const char *text, teamsop_operation **out) {
  return parse_exact(text, strlen(text), out);
}

/* Every accessor against the seed operation of Graph's documentation. */
static void check_seed_operation_(const teamsop_operation *op, const char *file, int line) {
  if (!check_null_(op, false, "seed operation", file, line)) {
    return;
  }
  check_streq_(teamsop_operation_id(op), SEED_OP, "id", "SEED_OP", file, line);
  check_eq_int_(teamsop_operation_status(op), TEAMSOP_STATUS_SUCCEEDED, "status",
                "TEAMSOP_STATUS_SUCCEEDED", file, line);
  check_streq_(teamsop_operation_status_str(op), "succeeded", "status_str", "\"succeeded\"", file,
               line);
  check_eq_int_(teamsop_operation_type(op), TEAMSOP_TYPE_CREATE_CHAT, "type",
                "TEAMSOP_TYPE_CREATE_CHAT", file, line);
  check_streq_(teamsop_operation_type_str(op), "createChat", "type_str", "\"createChat\"", file,
               line);
  check_streq_(teamsop_operation_created_date_time(op), SEED_CREATED, "created_date_time",
               "SEED_CREATED", file, line);
  check_streq_(teamsop_operation_last_action_date_time(op), SEED_LAST_ACTION,
               "last_action_date_time", "SEED_LAST_ACTION", file, line);
  check_eq_int_(teamsop_operation_created_unix_ms(op), SEED_CREATED_MS, "created_unix_ms",
                "1622150621908", file, line);
  check_eq_int_(teamsop_operation_last_action_unix_ms(op), SEED_LAST_ACTION_MS,
                "last_action_unix_ms", "1622150625189", file, line);
  check_eq_int_(teamsop_operation_attempts_count(op), 1, "attempts_count", "1", file, line);
  check_streq_(teamsop_operation_target_resource_id(op), SEED_CHAT, "target_resource_id",
               "SEED_CHAT", file, line);
  check_streq_(teamsop_operation_target_resource_location(op), "/chats('" SEED_CHAT "')",
               "target_resource_location", "/chats('SEED_CHAT')", file, line);
  check_streq_(teamsop_operation_values(op), SEED_VALUES, "values", "SEED_VALUES", file, line);
  check_null_(teamsop_operation_error_code(op), true, "error_code", file, line);
  check_null_(teamsop_operation_error_message(op), true, "error_message", file, line);
  check_true_(teamsop_operation_is_terminal(op), "is_terminal", file, line);
  const char *json = teamsop_operation_json(op);
  check_null_(json, false, "json", file, line);
  check_streq_(teamsop_operation_odata_context(op), SEED_CONTEXT, "odata_context", "SEED_CONTEXT",
               file, line);
  if (g_fixture != NULL && json != NULL) {
    bool same = strlen(json) == g_fixture_len && memcmp(json, g_fixture, g_fixture_len) == 0;
    if (!check_true_(same, "teamsop_operation_json(op) is the fixture, byte for byte", file,
                     line)) {
      CHECK_NOTE("json (%zu bytes): %.300s", strlen(json), json);
    }
  }
}
/* (The emulator serves the seed's body byte for byte, for v1.0 too.) */
#define CHECK_SEED(op) check_seed_operation_((op), __FILE__, __LINE__)

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
          (i == TEAMSOP_STATUS_SUCCEEDED || i == TEAMSOP_STATUS_FAILED));
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

/* ================================================================ threads */

#define WORKERS 8
#define GETS_PER_WORKER 200

static atomic_int g_workers_left;
static atomic_int g_gets_ok;
static atomic_int g_gets_wrong;
static atomic_int g_setter_calls;
static atomic_int g_setter_failures;

static void *get_worker(void *arg) {
  const teamsop_client *c = arg;
  for (int i = 0; i < GETS_PER_WORKER; i++) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
    if (r == TEAMSOP_OK && op != NULL && teamsop_operation_id(op) != NULL &&
        strcmp(teamsop_operation_id(op), SEED_OP) == 0 &&
        teamsop_operation_status(op) == TEAMSOP_STATUS_SUCCEEDED) {
      atomic_fetch_add(&g_gets_ok, 1);
    } else {
      if (atomic_fetch_add(&g_gets_wrong, 1) < 5) {
        fprintf(stderr, "    thread GET: %s: %s\n", teamsop_result_str((uint32_t)r),
                teamsop_last_error_message());
      }
    }
    teamsop_free(op);
  }
  atomic_fetch_sub(&g_workers_left, 1);
  return NULL;
}

static void *setter_worker(void *arg) {
  teamsop_client *c = arg;
  for (uint32_t i = 0; atomic_load(&g_workers_left) > 0; i++) {
    int bad = 0;
    bad += teamsop_client_set_timeout_ms(c, (i % 2 == 0) ? 20000 : 30000) != TEAMSOP_OK;
    bad += teamsop_client_set_select(c, NULL) != TEAMSOP_OK;
    bad += teamsop_client_set_max_retries(c, 3) != TEAMSOP_OK;
    bad += teamsop_client_set_poll_interval_ms(c, 100 + i % 7) != TEAMSOP_OK;
    bad += teamsop_client_set_max_body_bytes(c, 1024 * 1024 + i % 3) != TEAMSOP_OK;
    bad += teamsop_client_set_token(c, g_token) != TEAMSOP_OK;
    bad += teamsop_client_set_base_url(c, g_base_url) != TEAMSOP_OK;
    /* A refused setting, concurrently, changes nothing. */
    bad += teamsop_client_set_base_url(c, "http://evil.example/beta") != TEAMSOP_ERR_INVALID_ARGUMENT;
    atomic_fetch_add(&g_setter_calls, 8);
    atomic_fetch_add(&g_setter_failures, bad);
    struct timespec pause = {0, 1000000}; /* 1 ms */
    nanosleep(&pause, NULL);
  }
  return NULL;
}

TEST(test_threads) {
  teamsop_client *c = new_client();
  atomic_store(&g_workers_left, WORKERS);
  atomic_store(&g_gets_ok, 0);
  atomic_store(&g_gets_wrong, 0);
  pthread_t workers[WORKERS], setter;
  double t0 = now_s();
  for (int i = 0; i < WORKERS; i++) {
    CHECK_EQ_INT(pthread_create(&workers[i], NULL, get_worker, c), 0);
  }
  CHECK_EQ_INT(pthread_create(&setter, NULL, setter_worker, c), 0);
  for (int i = 0; i < WORKERS; i++) {
    pthread_join(workers[i], NULL);
  }
  pthread_join(setter, NULL);
  CHECK_EQ_INT(atomic_load(&g_gets_ok), WORKERS * GETS_PER_WORKER);
  CHECK_EQ_INT(atomic_load(&g_gets_wrong), 0);
  CHECK(atomic_load(&g_setter_calls) > 0);
  CHECK_EQ_INT(atomic_load(&g_setter_failures), 0);
  printf("    %d GETs on %d threads in %.2f s, %d setter calls alongside\n",
         WORKERS * GETS_PER_WORKER, WORKERS, now_s() - t0, atomic_load(&g_setter_calls));
  teamsop_client_free(c);
}

/* One operation, read from several threads at once. */
static void *read_operation(void *arg) {
  const teamsop_operation *op = arg;
  int bad = 0;
  for (int i = 0; i < 1000; i++) {
    bad += strcmp(teamsop_operation_id(op), SEED_OP) != 0;
    bad += teamsop_operation_created_unix_ms(op) != SEED_CREATED_MS;
    bad += teamsop_operation_status(op) != TEAMSOP_STATUS_SUCCEEDED;
  }
  return (void *)(intptr_t)bad;
}

TEST(test_operation_shared_between_threads) {
  teamsop_operation *op = NULL;
  CHECK_RESULT(parse_exact(g_fixture, g_fixture_len, &op), TEAMSOP_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(pthread_create(&t[i], NULL, read_operation, op), 0);
  }
  for (int i = 0; i < 4; i++) {
    void *bad = NULL;
    pthread_join(t[i], &bad);
    CHECK_EQ_INT((intptr_t)bad, 0);
  }
  teamsop_free(op);
}

/* ================================================================ main */

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe(
      "SIGPIPE raised by libteamsop",
      "    !!! SIGPIPE raised inside the library (a host with the default disposition dies)\n");
  g_base_url = getenv("TEAMSOP_BASE_URL");
  g_token = getenv("TEAMSOP_TOKEN");
  g_emu_url = getenv("TEAMSOP_EMULATOR_URL");
  g_ca_file = getenv("TEAMSOP_CA_FILE");
  if (g_ca_file != NULL && g_ca_file[0] == '\0') {
    g_ca_file = NULL;
  }
  if (g_base_url == NULL || g_token == NULL || g_token[0] == '\0' || g_emu_url == NULL) {
    fprintf(stderr,
            "test_abi: set TEAMSOP_BASE_URL, TEAMSOP_TOKEN and TEAMSOP_EMULATOR_URL\n"
            "  (run it under scripts/with-emulator.sh --scenarios tests/c/scenarios.json)\n");
    return 2;
  }
  test_set_secrets(g_token, g_secrets, sizeof g_secrets / sizeof g_secrets[0]);
  g_http = strncmp(g_emu_url, "http://", 7) == 0;
  g_emu_port = emu_url_port(g_emu_url);
  g_fixture = read_file("tests/fixtures/seed-operation.json", &g_fixture_len);
  if (g_fixture == NULL) {
    fprintf(stderr, "test_abi: cannot read tests/fixtures/seed-operation.json (run from the "
                    "repository root)\n");
    return 2;
  }
  printf("test_abi: %s (%s), request record checks %s\n", g_base_url,
         g_ca_file != NULL ? "with TEAMSOP_CA_FILE" : "no CA file", g_http ? "on" : "off (https)");

  double t0 = now_s();
  RUN_TEST(test_last_error_rules); /* first: this thread has had no failure yet */
  RUN_TEST(test_version);
  RUN_TEST(test_result_str);
  RUN_TEST(test_client_new);
  RUN_TEST(test_setters_null_client);
  RUN_TEST(test_set_cloud);
  RUN_TEST(test_set_base_url);
  RUN_TEST(test_numeric_setters);
  RUN_TEST(test_set_select);
  RUN_TEST(test_set_ca_file);
  RUN_TEST(test_set_token);
  RUN_TEST(test_get_seed);
  RUN_TEST(test_get_team_operations);
  RUN_TEST(test_get_location_forms);
  RUN_TEST(test_hostile_ids);
  RUN_TEST(test_invalid_ids);
  RUN_TEST(test_error_classes);
  RUN_TEST(test_parse);
  RUN_TEST(test_null_accessors);
  RUN_TEST(test_wait);
  RUN_TEST(test_threads);
  RUN_TEST(test_operation_shared_between_threads);
  printf("test_abi: %.2f s\n", now_s() - t0);
  free(g_fixture);
  return CHECK_SUMMARY();
}
