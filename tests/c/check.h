/*
 * check.h: a tiny assertion toolkit and test runner for libteamsop's C tests.
 *
 *   TEST(test_name) { CHECK(x); CHECK_EQ_INT(a, b); CHECK_STREQ(s, "t"); }
 *
 *   static check_test tests[] = {CHECK_TEST_ENTRY(test_name), ...};
 *   int main(int argc, char **argv) {
 *     int status = check_parse_args(argc, argv, "prog", tests, CHECK_COUNT(tests));
 *     if (status >= 0) return status;       (--list, --help, or a bad name)
 *     ... set up ...
 *     check_run_selected(tests, CHECK_COUNT(tests));
 *     return CHECK_SUMMARY();
 *   }
 *
 * The command line names the tests to run (all of them when it names none), as
 * listed by --list: `out/test_abi test_wait`, or without the test_ prefix
 * (`out/test_abi wait`), or a shell pattern (`out/test_abi 'set_*'`). A name that
 * matches no test is an error (exit status 64). The chosen tests run in the
 * table's order, whatever the order on the command line.
 *
 * A failing check prints file:line, the expression and both values, counts the
 * failure, and the test goes on (checks do not return). CHECK_SUMMARY() prints
 * the counts and gives the process exit status: 0 when every check passed, 1
 * otherwise. The counters are atomic, so checks may run on any thread.
 *
 * Header-only. A program of one translation unit needs nothing more (the state
 * is static). A program of several (test_abi) defines CHECK_SHARED_STATE before
 * including this header in every unit, and CHECK_DEFINE_STATE too in exactly
 * one: the counters are then one set for the whole program, and TEST() functions
 * have external linkage, so that the unit holding main() can list them.
 * libteamsop's programs include it through test_support.h.
 */
#ifndef TEAMSOP_TESTS_CHECK_H
#define TEAMSOP_TESTS_CHECK_H

#include <fnmatch.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* CHECK_STATE_: how the state of this header and of test_support.h is declared;
 * CHECK_TEST_LINKAGE_: how TEST() functions are. */
#if defined(CHECK_SHARED_STATE) && defined(CHECK_DEFINE_STATE)
#define CHECK_STATE_
#define CHECK_TEST_LINKAGE_
#elif defined(CHECK_SHARED_STATE)
#define CHECK_STATE_ extern
#define CHECK_TEST_LINKAGE_
#else
#define CHECK_STATE_ static
#define CHECK_TEST_LINKAGE_ static
#endif

CHECK_STATE_ atomic_long check_count_;
CHECK_STATE_ atomic_long check_failures_;
CHECK_STATE_ atomic_int check_tests_;
CHECK_STATE_ atomic_int check_failed_tests_;
/* The running test's name, for messages (NULL before the first: "(none)"). */
CHECK_STATE_ const char *check_running_test_;

static inline const char *check_test_name_(void) {
  return check_running_test_ != NULL ? check_running_test_ : "(none)";
}

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
    fprintf(stderr, "%s:%d: FAIL in %s: CHECK(%s)\n", file, line, check_test_name_(), expr);
  }
  return ok;
}

static inline bool check_eq_int_(long long a, long long b, const char *ea, const char *eb,
                                 const char *file, int line) {
  bool ok = a == b;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s == %s: %lld != %lld\n", file, line, check_test_name_(),
            ea, eb, a, b);
  }
  return ok;
}

static inline bool check_streq_(const char *a, const char *b, const char *ea, const char *eb,
                                const char *file, int line) {
  bool ok = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
  if (!check_record_(ok)) {
    fprintf(stderr, "%s:%d: FAIL in %s: %s == %s: ", file, line, check_test_name_(), ea, eb);
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
    fprintf(stderr, "%s:%d: FAIL in %s: %s is %p, expected %s\n", file, line, check_test_name_(),
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
#define TEST(name) CHECK_TEST_LINKAGE_ void name(void)

/* A program may define CHECK_AFTER_EACH_TEST() before including this header:
 * it runs after each test's body, and its checks count for that test. */
#ifndef CHECK_AFTER_EACH_TEST
#define CHECK_AFTER_EACH_TEST() ((void)0)
#endif

/* Runs a test, printing its name and whether its checks passed. */
static inline void check_run_test_(const char *name, void (*fn)(void)) {
  check_running_test_ = name;
  long failures_at_start = atomic_load(&check_failures_);
  atomic_fetch_add(&check_tests_, 1);
  printf("[ RUN  ] %s\n", name);
  fflush(stdout);
  fn();
  CHECK_AFTER_EACH_TEST();
  long failed = atomic_load(&check_failures_) - failures_at_start;
  if (failed != 0) {
    atomic_fetch_add(&check_failed_tests_, 1);
    printf("[ FAIL ] %s (%ld failed check(s))\n", name, failed);
  } else {
    printf("[  OK  ] %s\n", name);
  }
  fflush(stdout);
}
#define RUN_TEST(name) check_run_test_(#name, name)

/* ------------------------------------------------------------ the registry */

/* One test of a program's table; `selected` is set by check_parse_args. */
typedef struct {
  const char *name;
  void (*fn)(void);
  bool selected;
} check_test;

#define CHECK_TEST_ENTRY(fn) {#fn, fn, true}
#define CHECK_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Does `arg` name `name`: equal, or equal to it without its "test_" prefix, or a
 * shell pattern (fnmatch) matching either. */
static inline bool check_name_matches_(const char *arg, const char *name) {
  const char *bare = strncmp(name, "test_", 5) == 0 ? name + 5 : name;
  return fnmatch(arg, name, 0) == 0 || fnmatch(arg, bare, 0) == 0;
}

static inline void check_usage_(FILE *to, const char *program) {
  fprintf(to,
          "usage: %s [--list] [NAME...]\n"
          "  Runs the tests NAME... (all of them when none is given), in the program's order.\n"
          "  NAME is a test's name as --list prints it, with or without its test_ prefix,\n"
          "  or a shell pattern ('set_*'). A NAME that matches no test is an error.\n",
          program);
}

/* Reads the command line: test names, --list, --help. Marks the tests to run
 * (`selected`). Returns -1 when the program should go on and run them, or the
 * exit status to return at once: 0 after --list or --help, 64 for an unknown
 * option or a name matching no test. */
static inline int check_parse_args(int argc, char **argv, const char *program, check_test *tests,
                                   size_t n) {
  bool any_name = false;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--list") == 0) {
      for (size_t i = 0; i < n; i++) {
        printf("%s\n", tests[i].name);
      }
      return 0;
    }
    if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
      check_usage_(stdout, program);
      return 0;
    }
    if (argv[a][0] == '-') {
      fprintf(stderr, "%s: unknown option %s\nTry '%s --help'.\n", program, argv[a], program);
      return 64;
    }
    any_name = true;
  }
  for (size_t i = 0; i < n; i++) {
    tests[i].selected = !any_name;
  }
  int unknown = 0;
  for (int a = 1; a < argc; a++) {
    bool found = false;
    for (size_t i = 0; i < n; i++) {
      if (check_name_matches_(argv[a], tests[i].name)) {
        tests[i].selected = true;
        found = true;
      }
    }
    if (!found) {
      fprintf(stderr, "%s: no test named '%s' ('%s --list' lists them)\n", program, argv[a],
              program);
      unknown++;
    }
  }
  return unknown != 0 ? 64 : -1;
}

/* Runs the selected tests, in the table's order. */
static inline void check_run_selected(const check_test *tests, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (tests[i].selected) {
      check_run_test_(tests[i].name, tests[i].fn);
    }
  }
}

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
