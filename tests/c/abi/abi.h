/*
 * abi.h: what the translation units of the test_abi program share (see
 * tests/c/test_abi.c): the fixtures, the environment read by main(), the tiny
 * client of the emulator's request record, the helpers, and the tests of each
 * topic file, for main()'s table.
 *
 *   client.c     teamsop_version, teamsop_result_str, the client and its setters
 *   fetch.c      teamsop_get, _get_team_operation, _get_location; ids and Locations
 *   errors.c     the error classes and the teamsop_last_* rules
 *   operation.c  teamsop_parse and the accessors
 *   wait.c       teamsop_wait
 *   threads.c    one client and one operation shared between threads
 *   common.c     the helpers declared below
 *
 * The check counters of check.h are one set for the whole program
 * (CHECK_SHARED_STATE; test_abi.c defines them).
 */
#ifndef TEAMSOP_TESTS_ABI_H
#define TEAMSOP_TESTS_ABI_H

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
#include "../emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; SEED_CHAT, SEED_OP,
 * SEED_CREATED_MS, now_s, is_guid, DUMMY_OP, CHECK_RESULT, CHECK_LAST_ERROR_CLEAN. */
#define CHECK_SHARED_STATE
#include "../test_support.h"

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

/* ------------------------------------------- the environment (set by main) */

extern const char *g_base_url; /* TEAMSOP_BASE_URL */
extern const char *g_token;    /* TEAMSOP_TOKEN */
extern const char *g_emu_url;  /* TEAMSOP_EMULATOR_URL, e.g. http://127.0.0.1:PORT */
extern const char *g_ca_file;  /* TEAMSOP_CA_FILE, or NULL */
extern bool g_http;            /* plain http: the request record can be read */
extern int g_emu_port;
extern char *g_fixture;        /* tests/fixtures/seed-operation.json */
extern size_t g_fixture_len;

/* ------------------------------------------------ a tiny client for /_emulator */

/* Sends one request to the emulator (plain http only) and returns the body
 * (malloc'd, NUL-terminated; chunked bodies decoded), or NULL. */
char *emu_http(const char *method, const char *path, const char *extra_headers, int *status_out,
               char **headers_out);
/* Empties the emulator's record of requests (plain http only). */
void emu_clear_requests(void);
/* The emulator's record of requests (JSON, malloc'd), or NULL over https. */
char *emu_requests(void);
/* How many times `needle` occurs in `hay`. */
int count_substr(const char *hay, const char *needle);
/* How many Graph requests the emulator received since the last clear; -1 over https. */
int emu_request_count(void);
/* The raw path (with query) of the index-th recorded request, malloc'd, or NULL. */
char *emu_request_path(const char *log, int index);

/* Checks that nothing reached the emulator since the last emu_clear_requests(). */
#define CHECK_NOTHING_SENT()                                                                       \
  do {                                                                                             \
    if (g_http) {                                                                                  \
      CHECK_EQ_INT(emu_request_count(), 0);                                                        \
    }                                                                                              \
  } while (0)

/* ---------------------------------------------------------------- helpers */

/* A client for the emulator (base URL, CA file, 10 s timeout). */
teamsop_client *new_client(void);
/* A whole file, malloc'd and NUL-terminated, its length in *len; NULL if unreadable. */
char *read_file(const char *path, size_t *len);
/* teamsop_parse of a malloc'd copy of exactly `len` bytes (no NUL), freed at once,
 * so that an overread or a dangling reference shows under valgrind or ASan. */
teamsop_result parse_exact(const char *text, size_t len, teamsop_operation **out);
teamsop_result parse_str(const char *text, teamsop_operation **out);
/* Every accessor against the seed operation of Graph's documentation. */
void check_seed_operation_(const teamsop_operation *op, const char *file, int line);
/* (The emulator serves the seed's body byte for byte, for v1.0 too.) */
#define CHECK_SEED(op) check_seed_operation_((op), __FILE__, __LINE__)

/* ------------------------------------------------------------------ the tests */

/* client.c */
void test_version(void);
void test_result_str(void);
void test_client_new(void);
void test_setters_null_client(void);
void test_set_cloud(void);
void test_set_base_url(void);
void test_numeric_setters(void);
void test_set_select(void);
void test_set_ca_file(void);
void test_set_token(void);
/* fetch.c */
void test_get_seed(void);
void test_get_team_operations(void);
void test_get_location_forms(void);
void test_hostile_ids(void);
void test_invalid_ids(void);
/* errors.c */
void test_error_classes(void);
void test_last_error_rules(void);
/* operation.c */
void test_parse(void);
void test_null_accessors(void);
/* wait.c */
void test_wait(void);
/* threads.c */
void test_threads(void);
void test_operation_shared_between_threads(void);

#endif /* TEAMSOP_TESTS_ABI_H */
