/*
 * check.h: a tiny assertion toolkit for libteamsop's C tests.
 *
 *   TEST(name) { CHECK(x); CHECK_EQ_INT(a, b); CHECK_STREQ(s, "t"); }
 *   int main(void) { RUN_TEST(name); return CHECK_SUMMARY(); }
 *
 * A failing check prints file:line, the expression and both values, counts the
 * failure, and the test goes on (checks do not return). CHECK_SUMMARY() prints
 * the counts and gives the process exit status: 0 when every check passed, 1
 * otherwise. The counters are atomic, so checks may run on any thread.
 *
 * Header-only, for a single translation unit (which need not use RUN_TEST: it
 * builds without unused warnings). libteamsop's programs include it through
 * test_support.h.
 */
#ifndef TEAMSOP_TESTS_CHECK_H
#define TEAMSOP_TESTS_CHECK_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static atomic_long check_count_;
static atomic_long check_failures_;
static atomic_int check_tests_;
static atomic_int check_failed_tests_;
static const char *check_test_name_ = "(none)";

/* Prints a string for a message: NULL, or the text quoted and cut at 200 bytes. */
static inline void check_print_str_(FILE *to, const char *s) {
  if (s == NULL) {
    fputs("NULL", to);
    return;
  }
  size_t n = strlen(s);
  fputc('"', to);
  for (size_t i = 0; i < n && i < 200; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      fprintf(to, "\\%c", c);
    } else if (c < 0x20 || c >= 0x7f) {
      fprintf(to, "\\x%02x", c);
    } else {
      fputc(c, to);
    }
  }
  fputc('"', to);
  if (n > 200) {
    fprintf(to, "... (%zu bytes)", n);
  }
}

static inline bool check_record_(bool ok) {
  atomic_fetch_add(&check_count_, 1);
  if (!ok) {
    atomic_fetch_add(&check_failures_, 1);
  }
  return ok;
}

static inline bool check_true_(bool ok, const char *expr, const char *file, int line) {
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: CHECK(%s)\n", file, line, check_test_name_, expr);
  }
  return ok;
}

static inline bool check_eq_int_(long long a, long long b, const char *ea, const char *eb,
                                 const char *file, int line) {
  bool ok = a == b;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s == %s: %lld != %lld\n", file, line, check_test_name_,
            ea, eb, a, b);
  }
  return ok;
}

static inline bool check_streq_(const char *a, const char *b, const char *ea, const char *eb,
                                const char *file, int line) {
  bool ok = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s == %s: ", file, line, check_test_name_, ea, eb);
    check_print_str_(stderr, a);
    fputs(" != ", stderr);
    check_print_str_(stderr, b);
    fputc('\n', stderr);
  }
  return ok;
}

static inline bool check_null_(const void *p, bool want_null, const char *expr, const char *file,
                               int line) {
  bool ok = (p == NULL) == want_null;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s is %p, expected %s\n", file, line, check_test_name_,
            expr, p, want_null ? "NULL" : "non-NULL");
  }
  return ok;
}

/* Each evaluates its arguments once and yields true when the check passed. */
#define CHECK(cond) check_true_((cond) ? true : false, #cond, __FILE__, __LINE__)
#define CHECK_EQ_INT(a, b) check_eq_int_((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_STREQ(a, b) check_streq_((a), (b), #a, #b, __FILE__, __LINE__)
#define CHECK_NULL(p) check_null_((const void *)(p), true, #p, __FILE__, __LINE__)
#define CHECK_NOT_NULL(p) check_null_((const void *)(p), false, #p, __FILE__, __LINE__)

/* Adds free text to the last failure, e.g. the loop index. */
#define CHECK_NOTE(...)                                                                            \
  do {                                                                                             \
    fprintf(stderr, "    note: ");                                                                 \
    fprintf(stderr, __VA_ARGS__);                                                                  \
    fputc('\n', stderr);                                                                           \
  } while (0)

/* Defines a test function. */
#define TEST(name) static void name(void)

/* A program may define CHECK_AFTER_EACH_TEST() before including this header:
 * it runs after each test's body, and its checks count for that test. */
#ifndef CHECK_AFTER_EACH_TEST
#define CHECK_AFTER_EACH_TEST() ((void)0)
#endif

/* Runs a test, printing its name and whether its checks passed. */
#define RUN_TEST(name)                                                                             \
  do {                                                                                             \
    check_test_name_ = #name;                                                                      \
    long check_failures_at_test_start_ = atomic_load(&check_failures_);                            \
    atomic_fetch_add(&check_tests_, 1);                                                            \
    printf("[ RUN  ] %s\n", #name);                                                                \
    fflush(stdout);                                                                                \
    name();                                                                                        \
    CHECK_AFTER_EACH_TEST();                                                                       \
    long failed_ = atomic_load(&check_failures_) - check_failures_at_test_start_;                 \
    if (failed_ != 0) {                                                                            \
      atomic_fetch_add(&check_failed_tests_, 1);                                                   \
      printf("[ FAIL ] %s (%ld failed check(s))\n", #name, failed_);                               \
    } else {                                                                                       \
      printf("[  OK  ] %s\n", #name);                                                              \
    }                                                                                              \
    fflush(stdout);                                                                                \
  } while (0)

/* Prints the summary; evaluates to the exit status (0 all passed, 1 otherwise). */
static inline int check_summary_(void) {
  long checks = atomic_load(&check_count_);
  long failures = atomic_load(&check_failures_);
  int tests = atomic_load(&check_tests_);
  int failed_tests = atomic_load(&check_failed_tests_);
  printf("\n%d test(s), %d failed; %ld check(s), %ld failed\n", tests, failed_tests, checks,
         failures);
  printf("%s\n", failures == 0 ? "ALL PASSED" : "FAILED");
  fflush(stdout);
  return failures == 0 ? 0 : 1;
}
#define CHECK_SUMMARY() check_summary_()

#endif /* TEAMSOP_TESTS_CHECK_H */
