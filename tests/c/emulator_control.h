/*
 * emulator_control.h: a tiny plain-HTTP client for teamsop-emulator's control
 * endpoints (emulator/README.md), shared by libteamsop's C test programs.
 *
 *   int status = 0;
 *   char *body = emu_control_request(port, "GET", "/_emulator/stats", NULL, NULL, &status, NULL);
 *   ...
 *   free(body);
 *
 * It speaks HTTP/1.1 over a fresh TCP connection to 127.0.0.1:PORT per request
 * (Connection: close), plain http only: over --tls the emulator cannot be reached
 * with it. Every control request therefore counts as one connection in the
 * emulator's `stats.connections` (control requests are neither recorded nor
 * counted as requests).
 *
 * Also here: a small JSON reader, enough for the emulator's answers (the request
 * record and the stats), and helpers built on both. Header-only: every function is
 * static inline, so a program uses what it needs without unused-function warnings.
 * C11 with _POSIX_C_SOURCE=200809L; builds with gcc and clang at -Wall -Wextra.
 */
#ifndef TEAMSOP_TESTS_EMULATOR_CONTROL_H
#define TEAMSOP_TESTS_EMULATOR_CONTROL_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------- one request */

/* Sends one request to the emulator on 127.0.0.1:`port` (plain http only) and
 * returns the body (malloc'd, NUL-terminated; chunked bodies decoded), or NULL when
 * it could not connect or the answer is not HTTP. `extra_headers` (NULL or lines
 * each ending in "\r\n") go after Host and Connection; `body` (NULL: none) is sent
 * with its Content-Length. `*status_out` gets the status (0 on failure) and
 * `*headers_out`, when not NULL, the response head (malloc'd) or NULL. */
static inline char *emu_control_request(int port, const char *method, const char *path,
                                        const char *extra_headers, const char *body,
                                        int *status_out, char **headers_out) {
  if (status_out != NULL) {
    *status_out = 0;
  }
  if (headers_out != NULL) {
    *headers_out = NULL;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return NULL;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    close(fd);
    return NULL;
  }
  size_t body_len = body != NULL ? strlen(body) : 0;
  char head_buf[2048];
  int n = snprintf(head_buf, sizeof head_buf,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, path, port, extra_headers != NULL ? extra_headers : "", body_len);
  if (n < 0 || (size_t)n >= sizeof head_buf) {
    close(fd);
    return NULL;
  }
  const char *parts[2] = {head_buf, body};
  size_t lens[2] = {(size_t)n, body_len};
  for (int i = 0; i < 2; i++) {
    for (size_t off = 0; off < lens[i];) {
      ssize_t w = write(fd, parts[i] + off, lens[i] - off);
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        close(fd);
        return NULL;
      }
      off += (size_t)w;
    }
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return NULL;
  }
  for (;;) {
    if (len + 4096 + 1 > cap) {
      char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + len, cap - len - 1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    len += (size_t)r;
  }
  close(fd);
  buf[len] = '\0';
  char *end = strstr(buf, "\r\n\r\n");
  int status = 0;
  if (end == NULL || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
    free(buf);
    return NULL;
  }
  if (status_out != NULL) {
    *status_out = status;
  }
  size_t head_len = (size_t)(end - buf);
  char *head = malloc(head_len + 1);
  char *lower = malloc(head_len + 1);
  if (head == NULL || lower == NULL) {
    free(head);
    free(lower);
    free(buf);
    return NULL;
  }
  memcpy(head, buf, head_len);
  head[head_len] = '\0';
  for (size_t i = 0; i <= head_len; i++) {
    lower[i] = (char)tolower((unsigned char)head[i]);
  }
  const char *payload = end + 4;
  size_t payload_len = len - head_len - 4;
  bool chunked = strstr(lower, "\r\ntransfer-encoding: chunked") != NULL;
  free(lower);
  char *out = malloc(payload_len + 1);
  if (out == NULL) {
    free(head);
    free(buf);
    return NULL;
  }
  if (chunked) {
    size_t o = 0;
    const char *p = payload;
    for (;;) {
      char *after = NULL;
      unsigned long size = strtoul(p, &after, 16);
      const char *data = strstr(after, "\r\n");
      if (size == 0 || data == NULL) {
        break;
      }
      data += 2;
      if ((size_t)(data - payload) + size > payload_len) {
        break;
      }
      memcpy(out + o, data, size);
      o += size;
      p = data + size + 2;
    }
    out[o] = '\0';
  } else {
    memcpy(out, payload, payload_len);
    out[payload_len] = '\0';
  }
  if (headers_out != NULL) {
    *headers_out = head;
  } else {
    free(head);
  }
  free(buf);
  return out;
}

/* The port of an emulator URL such as "http://127.0.0.1:PORT" (0 if none). */
static inline int emu_url_port(const char *url) {
  const char *colon = url != NULL ? strrchr(url, ':') : NULL;
  return colon != NULL ? atoi(colon + 1) : 0;
}

/* What scripts/with-emulator.sh gives a program that talks plain http to the
 * emulator: the Graph base URL, the token, and the control port. Exits with
 * status 2, saying how to run `program`, when any is missing. */
struct emu_env {
  const char *base_url;
  const char *token;
  int port;
};

static inline struct emu_env emu_env_plain_http(const char *program) {
  struct emu_env env = {getenv("TEAMSOP_BASE_URL"), getenv("TEAMSOP_TOKEN"), 0};
  const char *emu_url = getenv("TEAMSOP_EMULATOR_URL");
  if (env.base_url == NULL || env.token == NULL || env.token[0] == '\0' || emu_url == NULL ||
      strncmp(emu_url, "http://", 7) != 0) {
    fprintf(stderr, "%s: run it under scripts/with-emulator.sh (plain http)\n", program);
    exit(2);
  }
  env.port = emu_url_port(emu_url);
  return env;
}

/* ---------------------------------------------------------- a JSON reader */
/* Enough JSON for the emulator's answers. Each function takes a pointer into a
 * NUL-terminated document and never reads past its NUL. */

static inline const char *emu_json_ws(const char *p) {
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
    p++;
  }
  return p;
}

/* `p` at a '"': returns the character after the closing quote (or the NUL). */
static inline const char *emu_json_skip_string(const char *p) {
  if (*p != '"') {
    return p;
  }
  for (p++; *p != '\0'; p++) {
    if (*p == '\\' && p[1] != '\0') {
      p++;
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return p;
}

/* `p` at a value: returns the character after it (or the NUL). */
static inline const char *emu_json_skip_value(const char *p) {
  p = emu_json_ws(p);
  if (*p == '"') {
    return emu_json_skip_string(p);
  }
  if (*p == '{' || *p == '[') {
    int depth = 0;
    while (*p != '\0') {
      if (*p == '"') {
        p = emu_json_skip_string(p);
        continue;
      }
      if (*p == '{' || *p == '[') {
        depth++;
      } else if (*p == '}' || *p == ']') {
        depth--;
        if (depth == 0) {
          return p + 1;
        }
      }
      p++;
    }
    return p;
  }
  while (*p != '\0' && *p != ',' && *p != '}' && *p != ']' && !isspace((unsigned char)*p)) {
    p++;
  }
  return p;
}

/* A string value, unescaped (\uXXXX below U+0080 only; others kept as '?'),
 * malloc'd; NULL when `p` is not at a string. */
static inline char *emu_json_string(const char *p) {
  p = emu_json_ws(p);
  if (*p != '"') {
    return NULL;
  }
  const char *end = emu_json_skip_string(p);
  char *out = malloc((size_t)(end - p) + 1);
  if (out == NULL) {
    return NULL;
  }
  size_t o = 0;
  for (const char *q = p + 1; q < end && *q != '"'; q++) {
    if (*q != '\\') {
      out[o++] = *q;
      continue;
    }
    q++;
    switch (*q) {
    case 'n': out[o++] = '\n'; break;
    case 't': out[o++] = '\t'; break;
    case 'r': out[o++] = '\r'; break;
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'u': {
      unsigned v = 0;
      if (sscanf(q + 1, "%4x", &v) == 1 && strlen(q + 1) >= 4) {
        out[o++] = v < 0x80 ? (char)v : '?';
        q += 4;
      }
      break;
    }
    default: out[o++] = *q; break; /* \" \\ \/ */
    }
  }
  out[o] = '\0';
  return out;
}

/* A number value as an integer; `fallback` when `p` is not at one. */
static inline long long emu_json_int(const char *p, long long fallback) {
  p = emu_json_ws(p);
  char *end = NULL;
  long long v = strtoll(p, &end, 10);
  return end == p ? fallback : v;
}

/* The object's own members, one after another (not nested ones):
 *
 *   const char *it = emu_json_members(obj), *name, *value;
 *   while (emu_json_next_member(&it, &name, &value)) { ... }
 *
 * `name` points at the member's name (its '"'), `value` at its value. The walk
 * stops at the end of the object, or where it is not JSON. */
static inline const char *emu_json_members(const char *obj) {
  const char *p = obj != NULL ? emu_json_ws(obj) : NULL;
  return p != NULL && *p == '{' ? emu_json_ws(p + 1) : NULL;
}

static inline bool emu_json_next_member(const char **it, const char **name, const char **value) {
  const char *p = *it;
  if (p == NULL || *p != '"') {
    return false;
  }
  *name = p;
  p = emu_json_ws(emu_json_skip_string(p));
  if (*p != ':') {
    *it = NULL;
    return false;
  }
  *value = emu_json_ws(p + 1);
  p = emu_json_ws(emu_json_skip_value(*value));
  *it = *p == ',' ? emu_json_ws(p + 1) : NULL;
  return true;
}

/* In the object at `obj` ('{'), the value of member `key` (pointer to it), or
 * NULL. Only the object's own members are looked at, not nested ones. */
static inline const char *emu_json_member(const char *obj, const char *key) {
  size_t key_len = strlen(key);
  const char *it = emu_json_members(obj), *name, *value;
  while (emu_json_next_member(&it, &name, &value)) {
    if ((size_t)(emu_json_skip_string(name) - name) == key_len + 2 &&
        strncmp(name + 1, key, key_len) == 0) {
      return value;
    }
  }
  return NULL;
}

/* The index-th element of the array at `arr` ('['), or NULL. */
static inline const char *emu_json_element(const char *arr, int index) {
  const char *p = emu_json_ws(arr);
  if (*p != '[') {
    return NULL;
  }
  p = emu_json_ws(p + 1);
  if (*p == ']') {
    return NULL;
  }
  for (int i = 0; *p != '\0'; i++) {
    if (i == index) {
      return p;
    }
    p = emu_json_ws(emu_json_skip_value(p));
    if (*p != ',') {
      return NULL;
    }
    p = emu_json_ws(p + 1);
  }
  return NULL;
}

/* How many elements the array at `arr` has (-1 if it is not an array). */
static inline int emu_json_length(const char *arr) {
  if (arr == NULL || *emu_json_ws(arr) != '[') {
    return -1;
  }
  int n = 0;
  while (emu_json_element(arr, n) != NULL) {
    n++;
  }
  return n;
}

/* A string member of an object, malloc'd, or NULL. */
static inline char *emu_json_member_string(const char *obj, const char *key) {
  const char *v = obj != NULL ? emu_json_member(obj, key) : NULL;
  return v != NULL ? emu_json_string(v) : NULL;
}

/* An integer member of an object, or `fallback`. */
static inline long long emu_json_member_int(const char *obj, const char *key, long long fallback) {
  const char *v = obj != NULL ? emu_json_member(obj, key) : NULL;
  return v != NULL ? emu_json_int(v, fallback) : fallback;
}

/* ------------------------------------------------------ control endpoints */

/* The emulator's stats; false when they cannot be read. Opens one connection. */
struct emu_stats {
  long long connections;
  long long requests;
  long long scripted;
  long long unauthorized;      /* 401s of the token check */
  long long claims_challenges; /* of those, with a claims challenge */
  long long throttled;
};

static inline bool emu_control_stats(int port, struct emu_stats *out) {
  int status = 0;
  char *body = emu_control_request(port, "GET", "/_emulator/stats", NULL, NULL, &status, NULL);
  bool ok = body != NULL && status == 200;
  if (ok) {
    out->connections = emu_json_member_int(body, "connections", -1);
    out->requests = emu_json_member_int(body, "requests", -1);
    out->scripted = emu_json_member_int(body, "scripted", -1);
    out->unauthorized = emu_json_member_int(body, "unauthorized", -1);
    out->claims_challenges = emu_json_member_int(body, "claims_challenges", -1);
    out->throttled = emu_json_member_int(body, "throttled", -1);
    ok = out->connections >= 0 && out->requests >= 0 && out->scripted >= 0;
  }
  free(body);
  return ok;
}

/* Scenarios (back to those given at start), records, stats, minted tokens,
 * revocations, created operations: all back to the start. Returns the HTTP
 * status (204). */
static inline int emu_control_reset(int port) {
  int status = 0;
  free(emu_control_request(port, "POST", "/_emulator/reset", NULL, NULL, &status, NULL));
  return status;
}

/* `text` as a JSON string literal (quotes included), malloc'd; NULL when out of
 * memory. Control characters are written as \u00XX. */
static inline char *emu_json_quote(const char *text) {
  size_t n = strlen(text);
  char *out = malloc(n * 6 + 3);
  if (out == NULL) {
    return NULL;
  }
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

/* Mints a token (POST /_emulator/tokens): it expires `lifetime_ms` from now
 * (negative: never) and carries `claims` (a JSON object as text; NULL: none).
 * Returns the token (malloc'd) and writes its expiry in Unix ms to
 * `*expires_unix_ms` (INT64_MIN when it never expires), or returns NULL (a
 * message on stderr). */
static inline char *emu_control_mint_token(int port, long long lifetime_ms, const char *claims,
                                           int64_t *expires_unix_ms) {
  char *quoted = claims != NULL ? emu_json_quote(claims) : NULL;
  if (claims != NULL && quoted == NULL) {
    return NULL;
  }
  size_t cap = 96 + (quoted != NULL ? strlen(quoted) : 0);
  char *request = malloc(cap);
  if (request == NULL) {
    free(quoted);
    return NULL;
  }
  int n = 0;
  if (lifetime_ms >= 0) {
    n = snprintf(request, cap, "{\"lifetime_ms\":%lld", lifetime_ms);
  } else {
    n = snprintf(request, cap, "{");
  }
  if (quoted != NULL) {
    snprintf(request + n, cap - (size_t)n, "%s\"claims\":%s}", lifetime_ms >= 0 ? "," : "", quoted);
  } else {
    snprintf(request + n, cap - (size_t)n, "}");
  }
  free(quoted);
  int status = 0;
  char *body = emu_control_request(port, "POST", "/_emulator/tokens",
                                   "Content-Type: application/json\r\n", request, &status, NULL);
  free(request);
  char *token = status == 200 ? emu_json_member_string(body, "token") : NULL;
  if (token == NULL) {
    fprintf(stderr, "    emulator did not mint a token (%d): %s\n", status,
            body != NULL ? body : "(no answer)");
  } else if (expires_unix_ms != NULL) {
    const char *expiry = emu_json_member(body, "expires_unix_ms");
    *expires_unix_ms = expiry != NULL && *expiry != 'n' ? emu_json_int(expiry, INT64_MIN) : INT64_MIN;
  }
  free(body);
  return token;
}

/* Revokes `token`, or every token held when it is NULL (the configured one
 * too), demanding `claims` (NULL: the emulator's default) of the tokens minted
 * from now on. Returns the HTTP status (200). */
static inline int emu_control_revoke(int port, const char *token, const char *claims) {
  char *quoted_token = token != NULL ? emu_json_quote(token) : NULL;
  char *quoted_claims = claims != NULL ? emu_json_quote(claims) : NULL;
  size_t cap = 64 + (quoted_token != NULL ? strlen(quoted_token) : 0) +
               (quoted_claims != NULL ? strlen(quoted_claims) : 0);
  char *request = malloc(cap);
  int status = 0;
  if (request != NULL && (token == NULL || quoted_token != NULL) &&
      (claims == NULL || quoted_claims != NULL)) {
    int n = token != NULL ? snprintf(request, cap, "{\"token\":%s", quoted_token)
                          : snprintf(request, cap, "{\"all\":true");
    snprintf(request + n, cap - (size_t)n, "%s%s}", quoted_claims != NULL ? ",\"claims\":" : "",
             quoted_claims != NULL ? quoted_claims : "");
    char *body = emu_control_request(port, "POST", "/_emulator/revoke",
                                     "Content-Type: application/json\r\n", request, &status, NULL);
    if (status != 200) {
      fprintf(stderr, "    emulator refused the revocation (%d): %s\n", status,
              body != NULL ? body : "(no answer)");
    }
    free(body);
  }
  free(request);
  free(quoted_token);
  free(quoted_claims);
  return status;
}

/* Loads scenarios (a JSON object or array); returns the HTTP status (204 when
 * loaded, 400 with a message on stderr when refused, 0 when unreachable). */
static inline int emu_control_load_scenarios(int port, const char *json) {
  int status = 0;
  char *body = emu_control_request(port, "POST", "/_emulator/scenarios",
                                   "Content-Type: application/json\r\n", json, &status, NULL);
  if (status != 204) {
    fprintf(stderr, "    emulator refused the scenarios (%d): %s\n", status,
            body != NULL ? body : "(no answer)");
  }
  free(body);
  return status;
}

/* Forgets the recorded requests; returns the HTTP status (204). */
static inline int emu_control_clear_requests(int port) {
  int status = 0;
  free(emu_control_request(port, "DELETE", "/_emulator/requests", NULL, NULL, &status, NULL));
  return status;
}

/* The record of requests (a JSON array, malloc'd), or NULL. */
static inline char *emu_control_requests(int port) {
  int status = 0;
  char *body = emu_control_request(port, "GET", "/_emulator/requests", NULL, NULL, &status, NULL);
  if (body != NULL && status != 200) {
    free(body);
    return NULL;
  }
  return body;
}

/* The recorded requests whose path (raw, with query) is `path`: up to `max` of
 * them into `out` (pointers to the objects inside `log`); returns how many there
 * are in all, or -1 if `log` is not an array. */
static inline int emu_requests_to(const char *log, const char *path, const char **out, int max) {
  if (log == NULL || emu_json_length(log) < 0) {
    return -1;
  }
  int n = 0;
  for (int i = 0;; i++) {
    const char *req = emu_json_element(log, i);
    if (req == NULL) {
      break;
    }
    char *p = emu_json_member_string(req, "path");
    if (p != NULL && strcmp(p, path) == 0) {
      if (n < max) {
        out[n] = req;
      }
      n++;
    }
    free(p);
  }
  return n;
}

/* A header of a recorded request (`name` in lower case), malloc'd, or NULL. */
static inline char *emu_request_header(const char *req, const char *name) {
  const char *headers = req != NULL ? emu_json_member(req, "headers") : NULL;
  return headers != NULL ? emu_json_member_string(headers, name) : NULL;
}

/* Does any header of a recorded request, name or value, contain `needle`? */
static inline bool emu_request_headers_contain(const char *req, const char *needle) {
  const char *it = emu_json_members(req != NULL ? emu_json_member(req, "headers") : NULL);
  const char *name_at, *value_at;
  while (emu_json_next_member(&it, &name_at, &value_at)) {
    char *name = emu_json_string(name_at);
    char *value = emu_json_string(value_at);
    bool found = (name != NULL && strstr(name, needle) != NULL) ||
                 (value != NULL && strstr(value, needle) != NULL);
    free(name);
    free(value);
    if (found) {
      return true;
    }
  }
  return false;
}

/* -------------------------------------------- many operations ($batch) */
/* For the tests of teamsop_batch (test_batch.c) and teamsop-get --wait-all:
 * operations created by the clock, the rate limiter, the $batch counters, and a
 * walk over a JSON array that does not start again from its head each time. */

/* The counters of `GET /_emulator/stats` that $batch traffic moves. */
struct emu_batch_stats {
  long long requests;       /* Graph requests ($batch included, inner ones not) */
  long long batches;        /* $batch requests */
  long long inner_requests; /* requests inside well-formed $batch bodies */
  long long inner_scripted; /* of those, answered by a scenario */
  long long throttled;      /* 429s sent, alone, for a $batch or inside one */
  long long busiest_second; /* most operation GETs in any sliding second */
};

/* The stats; false when they cannot be read. Opens one connection. */
static inline bool emu_control_batch_stats(int port, struct emu_batch_stats *out) {
  int status = 0;
  char *body = emu_control_request(port, "GET", "/_emulator/stats", NULL, NULL, &status, NULL);
  bool ok = body != NULL && status == 200;
  if (ok) {
    out->requests = emu_json_member_int(body, "requests", -1);
    out->batches = emu_json_member_int(body, "batches", -1);
    out->inner_requests = emu_json_member_int(body, "inner_requests", -1);
    out->inner_scripted = emu_json_member_int(body, "inner_scripted", -1);
    out->throttled = emu_json_member_int(body, "throttled", -1);
    out->busiest_second = emu_json_member_int(body, "busiest_second", -1);
    ok = out->requests >= 0 && out->batches >= 0 && out->inner_requests >= 0 &&
         out->inner_scripted >= 0 && out->throttled >= 0 && out->busiest_second >= 0;
  }
  free(body);
  return ok;
}

/* POSTs `body` (JSON) to a control `path`; returns the HTTP status (0 when
 * unreachable), and the answer's body (malloc'd) through `answer` when not NULL. */
static inline int emu_control_post_json(int port, const char *path, const char *body,
                                        char **answer) {
  int status = 0;
  char *got = emu_control_request(port, "POST", path, "Content-Type: application/json\r\n", body,
                                  &status, NULL);
  if (answer != NULL) {
    *answer = got;
  } else {
    free(got);
  }
  return status;
}

/* Sets the rate limiter (`{"per_second": N, "scope": "inner", "retry_after_s": 1}`);
 * returns the HTTP status (200). */
static inline int emu_control_set_rate_limit(int port, const char *json) {
  return emu_control_post_json(port, "/_emulator/rate-limit", json, NULL);
}

/* Walks an array: `*it` starts at the array ('['); each call gives the next
 * element (a pointer into the document) or NULL at the end, in O(its size). */
static inline const char *emu_json_next_element(const char **it) {
  const char *p = *it;
  if (p == NULL) {
    return NULL;
  }
  p = emu_json_ws(p);
  if (*p == '[') {
    p = emu_json_ws(p + 1);
  } else if (*p == ',') {
    p = emu_json_ws(p + 1);
  } else {
    *it = NULL;
    return NULL;
  }
  if (*p == ']' || *p == '\0') {
    *it = NULL;
    return NULL;
  }
  *it = emu_json_ws(emu_json_skip_value(p));
  return p;
}

/* Creates operations by the clock (`POST /_emulator/operations` with `spec`, e.g.
 * `{"count": 100, "duration_ms": {"min": 0, "max": 2000}}`); returns their
 * Locations (a malloc'd array of malloc'd strings, `*count` of them) in creation
 * order, or NULL. Free with emu_free_strings. */
static inline char **emu_control_create_operations(int port, const char *spec, size_t *count) {
  *count = 0;
  char *body = NULL;
  int status = emu_control_post_json(port, "/_emulator/operations", spec, &body);
  const char *list = status == 200 && body != NULL ? emu_json_member(body, "locations") : NULL;
  if (list == NULL) {
    fprintf(stderr, "    emulator refused to create operations (%d): %s\n", status,
            body != NULL ? body : "(no answer)");
    free(body);
    return NULL;
  }
  size_t cap = 64, n = 0;
  char **out = malloc(cap * sizeof *out);
  const char *it = list, *element;
  while (out != NULL && (element = emu_json_next_element(&it)) != NULL) {
    if (n == cap) {
      char **bigger = realloc(out, 2 * cap * sizeof *out);
      if (bigger == NULL) {
        break;
      }
      out = bigger;
      cap *= 2;
    }
    out[n] = emu_json_string(element);
    if (out[n] == NULL) {
      break;
    }
    n++;
  }
  free(body);
  *count = n;
  return out;
}

/* Frees what emu_control_create_operations returned. */
static inline void emu_free_strings(char **strings, size_t count) {
  for (size_t i = 0; strings != NULL && i < count; i++) {
    free(strings[i]);
  }
  free(strings);
}

/* The report of every created operation (`GET /_emulator/operations`, a JSON
 * array, malloc'd), or NULL. */
static inline char *emu_control_operations(int port) {
  int status = 0;
  char *body =
      emu_control_request(port, "GET", "/_emulator/operations", NULL, NULL, &status, NULL);
  if (body != NULL && status != 200) {
    free(body);
    return NULL;
  }
  return body;
}

#endif /* TEAMSOP_TESTS_EMULATOR_CONTROL_H */
