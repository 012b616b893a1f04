/*
 * common.c (test_abi): the environment main() reads, the tiny client of the
 * emulator's request record, and the helpers the topic files share (abi.h).
 */
#include "abi.h"

const char *g_base_url;
const char *g_token;
const char *g_emu_url;
const char *g_ca_file;
bool g_http;
int g_emu_port;
char *g_fixture;
size_t g_fixture_len;

/* ------------------------------------------------ a tiny client for /_emulator */

/* Sends one request to the emulator (plain http only) and returns the body
 * (malloc'd, NUL-terminated; chunked bodies decoded), or NULL. The client itself
 * is emu_control_request, in emulator_control.h. */
char *emu_http(const char *method, const char *path, const char *extra_headers, int *status_out,
               char **headers_out) {
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

void emu_clear_requests(void) {
  if (g_http) {
    emu_control_clear_requests(g_emu_port);
  }
}

/* The emulator's record of requests (JSON), or NULL over https. */
char *emu_requests(void) {
  return g_http ? emu_control_requests(g_emu_port) : NULL;
}

int count_substr(const char *hay, const char *needle) {
  int n = 0;
  size_t len = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += len) {
    n++;
  }
  return n;
}

/* How many Graph requests the emulator received since the last clear; -1 over https. */
int emu_request_count(void) {
  char *log = emu_requests();
  if (log == NULL) {
    return -1;
  }
  int n = count_substr(log, "\"method\":");
  free(log);
  return n;
}

/* The raw path (with query) of the index-th recorded request, malloc'd, or NULL. */
char *emu_request_path(const char *log, int index) {
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

/* ---------------------------------------------------------------- helpers */

teamsop_client *new_client(void) {
  teamsop_client *c = teamsop_client_new(g_token);
  CHECK_NOT_NULL(c);
  return test_client_ready(c, g_base_url, g_ca_file);
}

char *read_file(const char *path, size_t *len) {
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
teamsop_result parse_exact(const char *text, size_t len, teamsop_operation **out) {
  char *buf = malloc(len == 0 ? 1 : len);
  memcpy(buf, text, len);
  teamsop_result r = teamsop_parse(buf, len, out);
  free(buf);
  return r;
}
teamsop_result parse_str(const char *text, teamsop_operation **out) {
  return parse_exact(text, strlen(text), out);
}

/* Every accessor against the seed operation of Graph's documentation. */
void check_seed_operation_(const teamsop_operation *op, const char *file, int line) {
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
