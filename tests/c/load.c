/*
 * load.c: T threads share one client and each makes C teamsop_get calls of the
 * seed operation, against an emulator that answers 10% of requests with a fault
 * (tests/c/load-scenarios.json: 429 or 503, both with Retry-After: 0 and a Graph
 * error body, or a TCP reset before any response byte; picked uniformly by a
 * seeded generator). Every call must end in one of the documented results for
 * those answers; the per-result counts are printed and must add up to T x C.
 *
 *   scripts/with-emulator.sh --no-record --scenarios tests/c/load-scenarios.json -- \
 *     out/load [--threads T] [--calls C] [--max-retries K] [--counts-file PATH]
 *
 * Defaults: 8 threads, 10000 calls each, the client's default retries (3).
 *
 * What a call may end in, and what is checked for each:
 *   TEAMSOP_OK             out is the seed operation (its id is checked);
 *   TEAMSOP_ERR_THROTTLED  the last answer was the 429: http status 429, graph code
 *                          "TooManyRequests";
 *   TEAMSOP_ERR_HTTP       the last answer was the 503: http status 503, graph code
 *                          "ServiceUnavailable";
 *   TEAMSOP_ERR_TRANSPORT  the last try was reset. With --max-retries 0 no response
 *                          was had, so http status 0; with retries, the status of
 *                          an earlier answer of the same call (0, 429 or 503).
 * On every failure out must be NULL and teamsop_last_error_message non-empty and
 * free of the token. Anything else is counted as "unexpected" and fails the run.
 *
 * --counts-file writes the counts as shell assignments (OK=, THROTTLED=, HTTP=,
 * TRANSPORT=, OTHER=, TOTAL=) for the runner (mk/memcheck.mk), which compares them
 * with the emulator's GET /_emulator/stats. The identities it checks, exactly:
 *   - Every answer the scenario does not script is the seed operation, which ends
 *     its call with TEAMSOP_OK; every scripted answer either is retried or ends
 *     its call with THROTTLED, HTTP or TRANSPORT. So each OK call made
 *     (scripted answers + 1) requests and each failed call (scripted answers)
 *     requests, and in total
 *         requests - scripted == OK                          (any max_retries)
 *     and, as OK + THROTTLED + HTTP + TRANSPORT == T x C,
 *         requests - T x C == scripted - (THROTTLED + HTTP + TRANSPORT),
 *     the number of retries the library made (which this program cannot see).
 *   - With --max-retries 0 there are no retries: requests == T x C and
 *     scripted == THROTTLED + HTTP + TRANSPORT. A request sent twice by the HTTP
 *     stack (a hidden retry of a reset) breaks both.
 *   - With retries, a failed call used all of them: scripted >= (K + 1) x failures.
 *
 * The process keeps SIGPIPE's default disposition, as a C host does: if the
 * library raised SIGPIPE, the run dies and fails. Exit status 0 when every check
 * passed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teamsop.h"
/* SEED_CHAT, SEED_OP, now_s, streq. */
#include "test_support.h"

#define MAX_THREADS 256
/* Results are 0..12; one slot more for a value outside the enum. */
#define RESULT_SLOTS 14

static teamsop_client *g_client;
static const char *g_token;
static long g_calls = 10000;
static bool g_retries_off;
static pthread_barrier_t g_start;
static atomic_long g_counts[RESULT_SLOTS];
static atomic_long g_check_failures;

struct worker {
  int index;
  long counts[RESULT_SLOTS];
};

static void check_fail(int thread, long call, teamsop_result r, const char *what) {
  long n = atomic_fetch_add(&g_check_failures, 1) + 1;
  if (n <= 20) {
    /* The message is the library's; it was checked free of the token before any
     * print, or this is that check's failure, which prints no message. */
    fprintf(stderr, "load: FAIL thread %d call %ld: %s gave %s (http %d)\n", thread, call, what,
            teamsop_result_str((uint32_t)r), (int)teamsop_last_http_status());
  } else if (n == 21) {
    fprintf(stderr, "load: (further failures not printed)\n");
  }
}

/* Checks one result against what the scripted answers allow (see the top). */
static void check_call(struct worker *w, long call, teamsop_result r, const teamsop_operation *op) {
  if (r == TEAMSOP_OK) {
    if (op == NULL) {
      check_fail(w->index, call, r, "TEAMSOP_OK with a NULL operation");
    } else if (!streq(teamsop_operation_id(op), SEED_OP)) {
      check_fail(w->index, call, r, "TEAMSOP_OK with another operation than the seed");
    }
    return;
  }
  if (op != NULL) {
    check_fail(w->index, call, r, "a failure left out non-NULL");
  }
  const char *msg = teamsop_last_error_message();
  if (msg == NULL || msg[0] == '\0') {
    check_fail(w->index, call, r, "a failure with no teamsop_last_error_message");
    return;
  }
  if (strstr(msg, g_token) != NULL) {
    check_fail(w->index, call, r, "THE TOKEN IS IN teamsop_last_error_message (not printed)");
    return;
  }
  int status = (int)teamsop_last_http_status();
  const char *code = teamsop_last_graph_code();
  switch (r) {
    case TEAMSOP_ERR_THROTTLED:
      if (status != 429 || !streq(code, "TooManyRequests")) {
        check_fail(w->index, call, r, "THROTTLED without http 429 / TooManyRequests");
      }
      break;
    case TEAMSOP_ERR_HTTP:
      if (status != 503 || !streq(code, "ServiceUnavailable")) {
        check_fail(w->index, call, r, "HTTP without http 503 / ServiceUnavailable");
      }
      break;
    case TEAMSOP_ERR_TRANSPORT:
      if (g_retries_off ? status != 0 : (status != 0 && status != 429 && status != 503)) {
        check_fail(w->index, call, r, "TRANSPORT with an unexpected http status");
      }
      break;
    default: {
      char what[600];
      snprintf(what, sizeof what, "an undocumented result for these answers (%s)", msg);
      check_fail(w->index, call, r, what);
      break;
    }
  }
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  pthread_barrier_wait(&g_start);
  for (long i = 1; i <= g_calls; i++) {
    teamsop_operation *op = (teamsop_operation *)(void *)&op; /* must be overwritten */
    teamsop_result r = teamsop_get(g_client, SEED_CHAT, SEED_OP, &op);
    check_call(w, i, r, op);
    unsigned slot = (unsigned)r < RESULT_SLOTS - 1 ? (unsigned)r : RESULT_SLOTS - 1;
    w->counts[slot]++;
    if (r == TEAMSOP_OK) {
      teamsop_free(op);
    }
  }
  for (int s = 0; s < RESULT_SLOTS; s++) {
    atomic_fetch_add(&g_counts[s], w->counts[s]);
  }
  return NULL;
}

static int usage(void) {
  fprintf(stderr,
          "usage: load [--threads T] [--calls C] [--max-retries K] [--counts-file PATH]\n"
          "       (under scripts/with-emulator.sh --scenarios tests/c/load-scenarios.json)\n");
  return 2;
}

static bool parse_long(const char *text, long min, long max, long *out) {
  if (text == NULL) {
    return false;
  }
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
    return false;
  }
  *out = v;
  return true;
}

int main(int argc, char **argv) {
  long threads = 8;
  long max_retries = -1; /* the client's default */
  const char *counts_file = NULL;
  for (int a = 1; a < argc; a += 2) {
    const char *v = a + 1 < argc ? argv[a + 1] : NULL;
    if (v == NULL) {
      return usage();
    } else if (strcmp(argv[a], "--threads") == 0) {
      if (!parse_long(v, 1, MAX_THREADS, &threads)) {
        return usage();
      }
    } else if (strcmp(argv[a], "--calls") == 0) {
      if (!parse_long(v, 1, 100000000, &g_calls)) {
        return usage();
      }
    } else if (strcmp(argv[a], "--max-retries") == 0) {
      if (!parse_long(v, 0, 10, &max_retries)) {
        return usage();
      }
    } else if (strcmp(argv[a], "--counts-file") == 0) {
      counts_file = v;
    } else {
      return usage();
    }
  }
  const char *base_url = getenv("TEAMSOP_BASE_URL");
  g_token = getenv("TEAMSOP_TOKEN");
  if (base_url == NULL || g_token == NULL || g_token[0] == '\0') {
    fprintf(stderr, "load: TEAMSOP_BASE_URL and TEAMSOP_TOKEN must be set\n");
    return usage();
  }

  g_client = teamsop_client_new(g_token);
  if (g_client == NULL) {
    fprintf(stderr, "load: teamsop_client_new failed: %s\n", teamsop_last_error_message());
    return 1;
  }
  if (teamsop_client_set_base_url(g_client, base_url) != TEAMSOP_OK ||
      (max_retries >= 0 &&
       teamsop_client_set_max_retries(g_client, (uint32_t)max_retries) != TEAMSOP_OK)) {
    fprintf(stderr, "load: configuring the client failed: %s\n", teamsop_last_error_message());
    teamsop_client_free(g_client);
    return 1;
  }
  g_retries_off = max_retries == 0;

  char retries_text[32];
  if (max_retries >= 0) {
    snprintf(retries_text, sizeof retries_text, "%ld", max_retries);
  } else {
    snprintf(retries_text, sizeof retries_text, "the default (3)");
  }
  printf("load: %ld threads x %ld calls on one client, max retries %s\n", threads, g_calls,
         retries_text);
  fflush(stdout);

  static struct worker workers[MAX_THREADS];
  static pthread_t tids[MAX_THREADS];
  pthread_barrier_init(&g_start, NULL, (unsigned)threads + 1);
  long started = 0;
  for (long t = 0; t < threads; t++) {
    workers[t].index = (int)t;
    int e = pthread_create(&tids[t], NULL, worker_main, &workers[t]);
    if (e != 0) {
      fprintf(stderr, "load: pthread_create: %s\n", strerror(e));
      return 1; /* the barrier cannot be passed now; nothing left to clean */
    }
    started++;
  }
  double start = now_s();
  pthread_barrier_wait(&g_start);
  for (long t = 0; t < started; t++) {
    pthread_join(tids[t], NULL);
  }
  double elapsed = now_s() - start;
  pthread_barrier_destroy(&g_start);
  teamsop_client_free(g_client);

  long total = 0;
  long counts[RESULT_SLOTS];
  for (int s = 0; s < RESULT_SLOTS; s++) {
    counts[s] = atomic_load(&g_counts[s]);
    total += counts[s];
  }
  long expected = threads * g_calls;
  long ok = counts[TEAMSOP_OK];
  long throttled = counts[TEAMSOP_ERR_THROTTLED];
  long http = counts[TEAMSOP_ERR_HTTP];
  long transport = counts[TEAMSOP_ERR_TRANSPORT];
  long other = total - ok - throttled - http - transport;

  printf("load: %ld calls in %.1f s (%.0f calls/s)\n", total, elapsed,
         elapsed > 0 ? (double)total / elapsed : 0.0);
  for (int s = 0; s < RESULT_SLOTS; s++) {
    if (counts[s] != 0) {
      printf("load:   %-30s %ld\n",
             s < RESULT_SLOTS - 1 ? teamsop_result_str((uint32_t)s) : "(outside the enum)",
             counts[s]);
    }
  }

  bool pass = true;
  if (total != expected) {
    fprintf(stderr, "load: FAIL: the results add up to %ld, not %ld\n", total, expected);
    pass = false;
  }
  if (other != 0) {
    fprintf(stderr, "load: FAIL: %ld call(s) ended in an undocumented result\n", other);
    pass = false;
  }
  long check_failures = atomic_load(&g_check_failures);
  if (check_failures != 0) {
    fprintf(stderr, "load: FAIL: %ld failed check(s)\n", check_failures);
    pass = false;
  }

  if (counts_file != NULL) {
    FILE *f = fopen(counts_file, "w");
    if (f == NULL ||
        fprintf(f, "OK=%ld\nTHROTTLED=%ld\nHTTP=%ld\nTRANSPORT=%ld\nOTHER=%ld\nTOTAL=%ld\n", ok,
                throttled, http, transport, other, total) < 0 ||
        fclose(f) != 0) {
      fprintf(stderr, "load: cannot write %s\n", counts_file);
      pass = false;
    }
  }
  printf("%s\n", pass ? "load: PASSED" : "load: FAILED");
  return pass ? 0 : 1;
}
