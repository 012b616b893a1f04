/*
 * test_support.h: what libteamsop's C test programs (test_abi.c,
 * test_behaviour.c, soak.c, load.c) share, besides the emulator client of
 * emulator_control.h:
 *
 *   - the seed operation's ids (tests/fixtures/seed-operation.json), a monotonic
 *     clock, streq, is_guid, DUMMY_OP;
 *   - for the programs whose tests run under check.h's RUN_TEST: the SIGPIPE
 *     watch run after each test (test_catch_sigpipe, check_no_sigpipe), the
 *     result-aware checks CHECK_RESULT and CHECK_LAST_ERROR_CLEAN, whose
 *     forbidden strings main() sets with test_set_secrets, and test_client_ready.
 *
 * It includes check.h, with CHECK_AFTER_EACH_TEST() set to check_no_sigpipe():
 * include it instead of check.h. Header-only: every function is static inline,
 * so a program uses what it needs without unused-function warnings; its state
 * follows check.h's CHECK_SHARED_STATE / CHECK_DEFINE_STATE (one set for a
 * program of several translation units). C11 with _POSIX_C_SOURCE=200809L;
 * builds with gcc and clang at -Wall -Wextra.
 */
#ifndef TEAMSOP_TESTS_TEST_SUPPORT_H
#define TEAMSOP_TESTS_TEST_SUPPORT_H

#include <ctype.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"

#ifdef TEAMSOP_TESTS_CHECK_H
#error "include test_support.h instead of check.h: it sets CHECK_AFTER_EACH_TEST()"
#endif
/* After each test: did the library raise SIGPIPE (see test_catch_sigpipe)? */
static inline void check_no_sigpipe(void);
#define CHECK_AFTER_EACH_TEST() check_no_sigpipe()
#include "check.h"

/* ------------------------------------------------------------------ fixtures */

/* The seed operation, as the emulator serves it for chat SEED_CHAT. */
#define SEED_CHAT "19:c253a29b5f694b55a6baad8e83510af7@thread.v2"
#define SEED_OP                                                                                    \
  "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-" \
  "825e-5de55630e7e4"
#define SEED_CREATED_MS INT64_C(1622150621908)

/* ------------------------------------------------------------------- helpers */

/* Seconds on the monotonic clock. */
static inline double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* TEAMSOP_TEST_TIME_FACTOR (at least 1): how much slower than usual this run
 * may be (valgrind, ASan), for upper time limits; 1 when unset. */
static inline double test_time_factor(void) {
  const char *factor = getenv("TEAMSOP_TEST_TIME_FACTOR");
  return factor != NULL && atof(factor) >= 1.0 ? atof(factor) : 1.0;
}

/* Both strings there and equal. */
static inline bool streq(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A GUID in its 36-character form (8-4-4-4-12 hex digits). */
static inline bool is_guid(const char *s) {
  if (s == NULL || strlen(s) != 36) {
    return false;
  }
  for (int i = 0; i < 36; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) {
      return false;
    }
  }
  return true;
}

/* A pointer an out-parameter is pre-set to, to see it overwritten with NULL. */
static inline teamsop_operation *test_dummy_op_(void) {
  static int storage;
  return (teamsop_operation *)(void *)&storage;
}
#define DUMMY_OP (test_dummy_op_())

/* ----------------------------------------------------------------- SIGPIPE */

/* A C host keeps SIGPIPE's default disposition (terminate) unless it chose
 * otherwise: a library that writes to a socket the peer has closed without
 * MSG_NOSIGNAL kills it. A program that calls test_catch_sigpipe counts such
 * signals instead of dying, and check_no_sigpipe (run after each test) fails the
 * test during which one arrived. */
CHECK_STATE_ volatile sig_atomic_t test_sigpipes_;
CHECK_STATE_ sig_atomic_t test_sigpipes_reported_;
CHECK_STATE_ const char *test_sigpipe_note_; /* NULL: "SIGPIPE raised" */
CHECK_STATE_ const char *test_sigpipe_alarm_;
CHECK_STATE_ size_t test_sigpipe_alarm_len_;

static inline void test_on_sigpipe_(int sig) {
  (void)sig;
  test_sigpipes_++;
  if (test_sigpipe_alarm_ != NULL &&
      write(STDERR_FILENO, test_sigpipe_alarm_, test_sigpipe_alarm_len_) < 0) {
    /* nothing to do in a signal handler */
  }
}

/* Installs the counting handler. `note` starts check_no_sigpipe's failure note
 * ("NOTE during TEST"); `alarm`, when not NULL, is written to stderr by the
 * handler each time the signal arrives. */
static inline void test_catch_sigpipe(const char *note, const char *alarm) {
  test_sigpipe_note_ = note;
  test_sigpipe_alarm_ = alarm;
  test_sigpipe_alarm_len_ = alarm != NULL ? strlen(alarm) : 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = test_on_sigpipe_;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGPIPE, &sa, NULL);
}

/* One check: no SIGPIPE since the last call. */
static inline void check_no_sigpipe(void) {
  sig_atomic_t now = test_sigpipes_;
  if (!CHECK_EQ_INT(now - test_sigpipes_reported_, 0)) {
    CHECK_NOTE("%s during %s", test_sigpipe_note_ != NULL ? test_sigpipe_note_ : "SIGPIPE raised",
               check_test_name_());
  }
  test_sigpipes_reported_ = now;
}

/* ------------------------------------------------------- result-aware checks */

/* What must never appear in teamsop_last_error_message(): the token the program
 * runs with, and the other tokens it hands the library. Set by main(). */
CHECK_STATE_ const char *test_token_;
CHECK_STATE_ const char *const *test_other_tokens_;
CHECK_STATE_ size_t test_other_token_count_;

/* `token`: TEAMSOP_TOKEN (looked for when not NULL or empty); `others`: `n_others`
 * more (NULL and 0: none). The strings must outlive the tests. */
static inline void test_set_secrets(const char *token, const char *const *others,
                                    size_t n_others) {
  test_token_ = token;
  test_other_tokens_ = others;
  test_other_token_count_ = n_others;
}

/* After every failure: a message is there, and no token is in it. */
static inline bool check_last_error_clean_(const char *file, int line) {
  const char *m = teamsop_last_error_message();
  bool ok = check_null_(m, false, "teamsop_last_error_message()", file, line);
  if (m == NULL) {
    return false;
  }
  ok &= check_true_(m[0] != '\0', "last error message is not empty", file, line);
  if (test_token_ != NULL && test_token_[0] != '\0') {
    bool clean = strstr(m, test_token_) == NULL;
    if (!check_true_(clean, "TEAMSOP_TOKEN not in teamsop_last_error_message()", file, line)) {
      CHECK_NOTE("message: %s", m);
    }
    ok &= clean;
  }
  for (size_t i = 0; i < test_other_token_count_; i++) {
    bool clean = strstr(m, test_other_tokens_[i]) == NULL;
    if (!check_true_(clean, "no test token in teamsop_last_error_message()", file, line)) {
      CHECK_NOTE("token %s in message: %s", test_other_tokens_[i], m);
    }
    ok &= clean;
  }
  return ok;
}
#define CHECK_LAST_ERROR_CLEAN() check_last_error_clean_(__FILE__, __LINE__)

static inline bool check_result_(teamsop_result got, teamsop_result want, const char *expr,
                                 const char *file, int line) {
  bool ok = got == want;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s gave %s (%d), expected %s (%d)\n", file, line,
            check_test_name_(), expr, teamsop_result_str((uint32_t)got), (int)got,
            teamsop_result_str((uint32_t)want), (int)want);
    if (got != TEAMSOP_OK) {
      fprintf(stderr, "    last error: %s (http %d)\n", teamsop_last_error_message(),
              (int)teamsop_last_http_status());
    }
  }
  if (got != TEAMSOP_OK) {
    ok &= check_last_error_clean_(file, line);
  }
  return ok;
}
/* Checks a teamsop_result; on any failure result also checks the last error. */
#define CHECK_RESULT(expr, want) check_result_((expr), (want), #expr, __FILE__, __LINE__)

/* -------------------------------------------------------------- the client */

/* `c`, just made by teamsop_client_new, pointed at `base_url` with `ca_file`
 * (when not NULL) and a 10 s timeout. Exits with status 2 when `c` is NULL. */
static inline teamsop_client *test_client_ready(teamsop_client *c, const char *base_url,
                                                const char *ca_file) {
  if (c == NULL) {
    fprintf(stderr, "teamsop_client_new: %s\n", teamsop_last_error_message());
    exit(2);
  }
  CHECK_RESULT(teamsop_client_set_base_url(c, base_url), TEAMSOP_OK);
  if (ca_file != NULL) {
    CHECK_RESULT(teamsop_client_set_ca_file(c, ca_file), TEAMSOP_OK);
  }
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 10000), TEAMSOP_OK);
  return c;
}

#endif /* TEAMSOP_TESTS_TEST_SUPPORT_H */
