/*
 * batch_clients: the clients of `make bench-batch` (bench/batch_bench.py), each
 * following the same operations to their end and noting when each was reported:
 *
 *   batch    one teamsop_batch (teamsop_batch_run), at --rate GETs per second,
 *            JSON batching on or off (--no-batching);
 *   threads  the naive peer: one thread per operation, each calling teamsop_wait
 *            on one shared client (the library's defaults: no rate of its own);
 *   loop     the other naive peer: one thread, rounds of teamsop_get_location
 *            over the operations not ended yet, each round at most once a second;
 *   memory   no network: --count operations added to a batch, and the resident
 *            memory that costs (then freed).
 *
 *   batch_clients MODE --locations FILE --out FILE [--rate N] [--no-batching] [--limit-s S]
 *   batch_clients memory --count N
 *
 * Reads TEAMSOP_TOKEN and TEAMSOP_BASE_URL (scripts/with-emulator.sh sets both).
 * Writes one JSON object to --out: the wall time from the start to the last
 * report, the client's CPU and peak RSS, and per operation [index, report time in
 * Unix ms, result, status]. An operation never reported within --limit-s
 * (default 120) is written with result "PENDING".
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "teamsop.h"

struct outcome {
  int64_t at_unix_ms; /* 0: not reported */
  teamsop_result result;
  teamsop_status status;
};

static char **g_locations;
static size_t g_count;
static struct outcome *g_outcomes;
static const char *g_token;
static const char *g_base_url;

static int64_t unix_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void die(const char *what) {
  fprintf(stderr, "batch_clients: %s: %s\n", what, teamsop_last_error_message());
  exit(2);
}

static void read_locations(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "batch_clients: %s: %s\n", path, strerror(errno));
    exit(2);
  }
  size_t cap = 1024;
  g_locations = malloc(cap * sizeof *g_locations);
  char *line = NULL;
  size_t line_cap = 0;
  ssize_t n;
  while ((n = getline(&line, &line_cap, f)) > 0) {
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
      line[--n] = '\0';
    }
    if (n == 0) {
      continue;
    }
    if (g_count == cap) {
      cap *= 2;
      g_locations = realloc(g_locations, cap * sizeof *g_locations);
    }
    g_locations[g_count++] = strdup(line);
  }
  free(line);
  fclose(f);
  g_outcomes = calloc(g_count ? g_count : 1, sizeof *g_outcomes);
}

static teamsop_client *new_client(void) {
  teamsop_client *c = teamsop_client_new(g_token);
  if (c == NULL || teamsop_client_set_base_url(c, g_base_url) != TEAMSOP_OK) {
    die("client");
  }
  return c;
}

static void note(size_t i, teamsop_result result, const teamsop_operation *op) {
  g_outcomes[i].at_unix_ms = unix_ms();
  g_outcomes[i].result = result;
  g_outcomes[i].status = op != NULL ? teamsop_operation_status(op) : TEAMSOP_STATUS_ABSENT;
}

/* ------------------------------------------------------------------ batch */

static bool on_done(void *user_data, uint64_t tag, teamsop_result result,
                    const teamsop_operation *op) {
  (void)user_data;
  if (tag < g_count) {
    note((size_t)tag, result, op);
  }
  return true;
}

static teamsop_result run_batch(long rate, bool batching, double limit_s) {
  teamsop_client *c = new_client();
  teamsop_batch *b = teamsop_batch_new(c);
  if (b == NULL || teamsop_batch_set_max_gets_per_second(b, (uint32_t)rate) != TEAMSOP_OK ||
      teamsop_batch_set_json_batching(b, batching) != TEAMSOP_OK) {
    die("batch");
  }
  for (size_t i = 0; i < g_count; i++) {
    if (teamsop_batch_add(b, g_locations[i], i) != TEAMSOP_OK) {
      die(g_locations[i]);
    }
  }
  teamsop_result r = teamsop_batch_run(b, (uint32_t)(limit_s * 1000), on_done, NULL, NULL);
  teamsop_batch_free(b);
  teamsop_client_free(c);
  return r;
}

/* ---------------------------------------------------------------- threads */

struct waiter {
  const teamsop_client *client;
  size_t index;
  uint32_t limit_ms;
};

static void *wait_main(void *arg) {
  struct waiter *w = arg;
  teamsop_operation *op = NULL;
  teamsop_result r = teamsop_wait(w->client, g_locations[w->index], w->limit_ms, NULL, NULL, &op);
  note(w->index, r, op);
  teamsop_free(op);
  return NULL;
}

static teamsop_result run_threads(double limit_s) {
  /* A connection per thread: as many descriptors as the hard limit allows. */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  teamsop_client *c = new_client();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t *threads = calloc(g_count, sizeof *threads);
  struct waiter *waiters = calloc(g_count, sizeof *waiters);
  size_t started = 0;
  for (size_t i = 0; i < g_count; i++) {
    waiters[i] = (struct waiter){c, i, (uint32_t)(limit_s * 1000)};
    if (pthread_create(&threads[i], &attr, wait_main, &waiters[i]) != 0) {
      fprintf(stderr, "batch_clients: thread %zu: %s\n", i, strerror(errno));
      break;
    }
    started++;
  }
  for (size_t i = 0; i < started; i++) {
    pthread_join(threads[i], NULL);
  }
  pthread_attr_destroy(&attr);
  free(threads);
  free(waiters);
  teamsop_client_free(c);
  return started == g_count ? TEAMSOP_OK : TEAMSOP_ERR_INTERNAL;
}

/* ------------------------------------------------------------------- loop */

static teamsop_result run_loop(double limit_s) {
  teamsop_client *c = new_client();
  size_t left = g_count;
  uint64_t start = bench_now_ns();
  uint64_t limit_ns = (uint64_t)(limit_s * 1e9);
  while (left > 0 && bench_now_ns() - start < limit_ns) {
    uint64_t round = bench_now_ns();
    for (size_t i = 0; i < g_count && bench_now_ns() - start < limit_ns; i++) {
      if (g_outcomes[i].at_unix_ms != 0) {
        continue;
      }
      teamsop_operation *op = NULL;
      teamsop_result r = teamsop_get_location(c, g_locations[i], &op);
      bool ended = r == TEAMSOP_OK ? teamsop_operation_is_terminal(op)
                                   : r != TEAMSOP_ERR_THROTTLED && r != TEAMSOP_ERR_NOT_FOUND;
      if (ended) {
        note(i, r, op);
        left--;
      }
      teamsop_free(op);
    }
    /* At most one round a second: a naive loop's only courtesy. */
    uint64_t spent = bench_now_ns() - round;
    if (left > 0 && spent < 1000000000ull) {
      struct timespec pause = {0, (long)(1000000000ull - spent)};
      nanosleep(&pause, NULL);
    }
  }
  teamsop_client_free(c);
  return left == 0 ? TEAMSOP_OK : TEAMSOP_ERR_TIMEOUT;
}

/* ----------------------------------------------------------------- memory */

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2) {
    resident = -1;
  }
  if (f != NULL) {
    fclose(f);
  }
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int run_memory(long count) {
  g_token = "memory-only";
  g_base_url = "http://127.0.0.1:1/beta";
  teamsop_client *c = new_client();
  teamsop_batch *warm = teamsop_batch_new(c);
  teamsop_batch_add(warm, "/teams('a')/operations('b')", 0);
  teamsop_batch_free(warm);
  long before = rss_kib();
  uint64_t t0 = bench_now_ns();
  teamsop_batch *b = teamsop_batch_new(c);
  for (long i = 0; i < count; i++) {
    char location[128];
    snprintf(location, sizeof location,
             "/teams('%08lx-4792-4def-b2c9-c363a1bf41d5')/operations('%08lx-0abd-43db-aa7b-"
             "16eadd115d34')",
             (unsigned long)i, (unsigned long)(i * 7919));
    if (teamsop_batch_add(b, location, (uint64_t)i) != TEAMSOP_OK) {
      die("add");
    }
  }
  uint64_t add_ns = bench_now_ns() - t0;
  long after = rss_kib();
  size_t pending = teamsop_batch_pending(b);
  teamsop_batch_free(b);
  long freed = rss_kib();
  teamsop_client_free(c);
  printf("{\"mode\":\"memory\",\"count\":%ld,\"pending\":%zu,\"rss_before_kib\":%ld,"
         "\"rss_after_kib\":%ld,\"rss_freed_kib\":%ld,\"bytes_per_operation\":%.1f,"
         "\"add_ns_per_operation\":%.0f,\"peak_rss_kib\":%ld}\n",
         count, pending, before, after, freed, (double)(after - before) * 1024.0 / (double)count,
         (double)add_ns / (double)count, bench_peak_rss_kib());
  return 0;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: batch_clients batch|threads|loop --locations FILE --out FILE "
                    "[--rate N] [--no-batching] [--limit-s S]\n"
                    "       batch_clients memory --count N\n");
    return 64;
  }
  const char *mode = argv[1], *locations = NULL, *out = NULL;
  long rate = 10, count = 100000;
  bool batching = true;
  double limit_s = 120;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--locations") == 0 && i + 1 < argc) {
      locations = argv[++i];
    } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
      rate = atol(argv[++i]);
    } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
      count = atol(argv[++i]);
    } else if (strcmp(argv[i], "--limit-s") == 0 && i + 1 < argc) {
      limit_s = atof(argv[++i]);
    } else if (strcmp(argv[i], "--no-batching") == 0) {
      batching = false;
    } else {
      fprintf(stderr, "batch_clients: unknown argument %s\n", argv[i]);
      return 64;
    }
  }
  if (strcmp(mode, "memory") == 0) {
    return run_memory(count);
  }
  g_token = getenv("TEAMSOP_TOKEN");
  g_base_url = getenv("TEAMSOP_BASE_URL");
  if (g_token == NULL || g_base_url == NULL || locations == NULL || out == NULL) {
    fprintf(stderr, "batch_clients: needs --locations, --out, TEAMSOP_TOKEN, TEAMSOP_BASE_URL\n");
    return 64;
  }
  read_locations(locations);
  uint64_t user0, sys0;
  bench_cpu_ns(&user0, &sys0);
  int64_t start = unix_ms();
  teamsop_result r;
  if (strcmp(mode, "batch") == 0) {
    r = run_batch(rate, batching, limit_s);
  } else if (strcmp(mode, "threads") == 0) {
    r = run_threads(limit_s);
  } else if (strcmp(mode, "loop") == 0) {
    r = run_loop(limit_s);
  } else {
    fprintf(stderr, "batch_clients: unknown mode %s\n", mode);
    return 64;
  }
  uint64_t user1, sys1;
  bench_cpu_ns(&user1, &sys1);
  int64_t last = start;
  for (size_t i = 0; i < g_count; i++) {
    if (g_outcomes[i].at_unix_ms > last) {
      last = g_outcomes[i].at_unix_ms;
    }
  }
  FILE *f = fopen(out, "w");
  if (f == NULL) {
    fprintf(stderr, "batch_clients: %s: %s\n", out, strerror(errno));
    return 2;
  }
  fprintf(f,
          "{\"mode\":\"%s\",\"run_result\":\"%s\",\"start_unix_ms\":%lld,\"last_report_unix_ms\":%lld,"
          "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"peak_rss_kib\":%ld,\"outcomes\":[",
          mode, teamsop_result_str((uint32_t)r), (long long)start, (long long)last,
          (double)(user1 - user0) / 1e9, (double)(sys1 - sys0) / 1e9, bench_peak_rss_kib());
  for (size_t i = 0; i < g_count; i++) {
    const struct outcome *o = &g_outcomes[i];
    fprintf(f, "%s[%zu,%lld,\"%s\",%d]", i ? "," : "", i, (long long)o->at_unix_ms,
            o->at_unix_ms != 0 ? teamsop_result_str((uint32_t)o->result) : "PENDING",
            (int)o->status);
  }
  fprintf(f, "]}\n");
  fclose(f);
  for (size_t i = 0; i < g_count; i++) {
    free(g_locations[i]);
  }
  free(g_locations);
  free(g_outcomes);
  return 0;
}
