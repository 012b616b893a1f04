/*
 * soak.c: one client, N x (teamsop_get of the seed operation, a few accessors,
 * teamsop_free); every call must be TEAMSOP_OK, and the resident set size must
 * not grow: RSS at the end must be within 10% of RSS after the first 1,000 calls.
 *
 *   scripts/with-emulator.sh --no-record -- out/soak [N] [--no-rss-check]
 *
 * N defaults to 100000. The baseline is taken after min(1000, N) calls; RSS is
 * printed then, at 10%, 25%, 50%, 75% of N, and at the end. --no-rss-check keeps
 * the printing but not the 10% limit: under valgrind or AddressSanitizer the RSS
 * is the tool's (ASan's quarantine alone grows by design), so those runs look
 * for leaks and memory errors instead.
 *
 * Reads TEAMSOP_BASE_URL and TEAMSOP_TOKEN, as exported by
 * scripts/with-emulator.sh. Run the emulator with --no-record, or its request
 * record (not this program) is what grows. Exit status 0 when every check
 * passed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
/* SEED_CHAT, SEED_OP, SEED_CREATED_MS, now_s, streq. */
#include "test_support.h"

#define BASELINE_CALLS 1000L
#define DEFAULT_CALLS 100000L
/* End RSS may be at most this many percent above the baseline. */
#define RSS_GROWTH_LIMIT_PERCENT 10

static long g_failures;

static void fail(long i, const char *what) {
  g_failures++;
  if (g_failures <= 10) {
    fprintf(stderr, "soak: FAIL at call %ld: %s\n", i, what);
  } else if (g_failures == 11) {
    fprintf(stderr, "soak: (further failures not printed)\n");
  }
}

/* Resident set size in KiB, from /proc/self/statm (pages); -1 if unreadable. */
static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) {
    return -1;
  }
  long size = 0;
  long resident = -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
    resident = -1;
  }
  fclose(f);
  if (resident < 0) {
    return -1;
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int usage(void) {
  fprintf(stderr, "usage: soak [N] [--no-rss-check]  (under scripts/with-emulator.sh)\n");
  return 2;
}

int main(int argc, char **argv) {
  long n = DEFAULT_CALLS;
  bool rss_check = true;
  for (int a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--no-rss-check") == 0) {
      rss_check = false;
    } else {
      char *end = NULL;
      long v = strtol(argv[a], &end, 10);
      if (end == argv[a] || *end != '\0' || v < 1) {
        return usage();
      }
      n = v;
    }
  }
  const char *base_url = getenv("TEAMSOP_BASE_URL");
  const char *token = getenv("TEAMSOP_TOKEN");
  if (base_url == NULL || token == NULL) {
    fprintf(stderr, "soak: TEAMSOP_BASE_URL and TEAMSOP_TOKEN must be set\n");
    return usage();
  }

  teamsop_client *c = teamsop_client_new(token);
  if (c == NULL) {
    fprintf(stderr, "soak: teamsop_client_new failed: %s\n", teamsop_last_error_message());
    return 1;
  }
  if (teamsop_client_set_base_url(c, base_url) != TEAMSOP_OK) {
    fprintf(stderr, "soak: teamsop_client_set_base_url failed: %s\n",
            teamsop_last_error_message());
    teamsop_client_free(c);
    return 1;
  }

  long baseline_at = n < BASELINE_CALLS ? n : BASELINE_CALLS;
  long marks[] = {n / 10, n / 4, n / 2, (n / 4) * 3};
  long rss_baseline = -1;
  long rss_max = -1;
  double start = now_s();
  printf("soak: %ld calls on one client, baseline after %ld\n", n, baseline_at);
  fflush(stdout);

  for (long i = 1; i <= n; i++) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
    if (r != TEAMSOP_OK) {
      char what[512];
      snprintf(what, sizeof what, "teamsop_get gave %s: %s (http %d)",
               teamsop_result_str((uint32_t)r), teamsop_last_error_message(),
               (int)teamsop_last_http_status());
      fail(i, what);
      if (op != NULL) {
        fail(i, "out is not NULL after a failure");
      }
    } else if (op == NULL) {
      fail(i, "TEAMSOP_OK but out is NULL");
    } else {
      if (!streq(teamsop_operation_id(op), SEED_OP)) {
        fail(i, "teamsop_operation_id is not the seed id");
      }
      if (teamsop_operation_status(op) != TEAMSOP_STATUS_SUCCEEDED) {
        fail(i, "status is not TEAMSOP_STATUS_SUCCEEDED");
      }
      if (teamsop_operation_type(op) != TEAMSOP_TYPE_CREATE_CHAT) {
        fail(i, "type is not TEAMSOP_TYPE_CREATE_CHAT");
      }
      if (teamsop_operation_created_unix_ms(op) != SEED_CREATED_MS) {
        fail(i, "created_unix_ms is not the seed's");
      }
      if (teamsop_operation_attempts_count(op) != 1) {
        fail(i, "attempts_count is not 1");
      }
      if (!streq(teamsop_operation_target_resource_id(op), SEED_CHAT)) {
        fail(i, "target_resource_id is not the seed chat");
      }
      if (teamsop_operation_error_code(op) != NULL) {
        fail(i, "error_code is not NULL");
      }
      const char *json = teamsop_operation_json(op);
      if (json == NULL || strstr(json, SEED_OP) == NULL) {
        fail(i, "teamsop_operation_json does not hold the seed id");
      }
      if (!teamsop_operation_is_terminal(op)) {
        fail(i, "is_terminal is false");
      }
    }
    teamsop_free(op);

    bool mark = i == baseline_at || i == n;
    for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
      mark |= i == marks[m];
    }
    if (mark) {
      long rss = rss_kib();
      if (i == baseline_at) {
        rss_baseline = rss;
      }
      if (rss > rss_max) {
        rss_max = rss;
      }
      printf("soak: after %7ld calls: RSS %ld KiB (%.1f s)\n", i, rss, now_s() - start);
      fflush(stdout);
    }
  }
  double elapsed = now_s() - start;
  long rss_end = rss_kib();
  teamsop_client_free(c);

  printf("soak: %ld calls in %.1f s (%.0f calls/s), %ld failed\n", n, elapsed,
         elapsed > 0 ? (double)n / elapsed : 0.0, g_failures);
  printf("soak: RSS after %ld calls %ld KiB, at the end %ld KiB (%+.1f%%), max %ld KiB\n",
         baseline_at, rss_baseline, rss_end,
         rss_baseline > 0 ? 100.0 * (double)(rss_end - rss_baseline) / (double)rss_baseline
                          : 0.0,
         rss_max);
  bool ok = g_failures == 0;
  if (rss_check) {
    if (rss_baseline <= 0 || rss_end <= 0) {
      fprintf(stderr, "soak: FAIL: cannot read RSS from /proc/self/statm\n");
      ok = false;
    } else if (rss_end * 100 > rss_baseline * (100 + RSS_GROWTH_LIMIT_PERCENT)) {
      fprintf(stderr, "soak: FAIL: RSS grew from %ld KiB to %ld KiB, more than %d%%\n",
              rss_baseline, rss_end, RSS_GROWTH_LIMIT_PERCENT);
      ok = false;
    }
  } else {
    printf("soak: RSS limit not checked (--no-rss-check)\n");
  }
  printf("%s\n", ok ? "soak: PASSED" : "soak: FAILED");
  return ok ? 0 : 1;
}
