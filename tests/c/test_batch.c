/*
 * test_batch.c: many operations at once, from C through the ABI (issue "Many
 * operations at once: teamsop_batch over Graph JSON batching, under a rate
 * budget"). Each rule of docs/API.md's "Many operations at once", against the
 * emulator:
 *
 *   - the handles and arguments: NULL everywhere, Locations add refuses (nothing
 *     added), rates 0 and above 1000, a zero timeout, tags handed back as given;
 *   - every operation reported exactly once, with its terminal operation or the
 *     error that ended it (inner 401/403/404/429/500/503/504, bodies that are not
 *     operations, the 404 grace from an operation's first poll), and
 *     teamsop_last_* telling why inside on_done;
 *   - the pacing: first poll at once, then the client's poll interval doubling,
 *     Retry-After first; soonest due first; never more GETs in a second than the
 *     rate (the emulator's busiest_second, and its rate limiter at that very rate
 *     sending no 429); a 429 pausing every GET; groups of at most 20 and never more
 *     than the rate; a lone due operation as a single GET; batching on and off;
 *   - the wire: $batch bodies, inner headers, $select, one $batch per Graph
 *     version (/v1.0 Locations in a /v1.0/$batch);
 *   - $batch answers that cannot be read (not JSON, no `responses`, an id twice
 *     or missing, an unknown id, over the body cap) and $batch requests that fail
 *     as a whole (429, 5xx, resets, 401, 400, every third one reset);
 *   - ending a run: cancel (in a $batch in flight, in a pause, between polls,
 *     before it starts), the deadline, on_done returning false, each with the
 *     others still pending and a second run finishing them; on_done calling back
 *     into its own batch (refused, free a no-op) or into anything else;
 *   - 8 batches on 8 threads sharing one client; 100,000 operations pending in
 *     bounded memory.
 *
 * Run it under scripts/with-emulator.sh (plain http: it drives the emulator
 * through emulator_control.h):
 *
 *   scripts/with-emulator.sh -- out/test_batch [NAME...]
 *
 * It resets the emulator before each test and loads the scenarios each needs.
 * TEAMSOP_TEST_TIME_FACTOR (default 1) multiplies every upper time limit,
 * TEAMSOP_TEST_MANY (default 100000) is the count of the memory test, and
 * TEAMSOP_TEST_RSS_CHECK=0 leaves out its bounds on resident memory, for runs
 * under valgrind and ASan. Exit status 0 when every check passed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
#include "emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; now_s, CHECK_RESULT,
 * test_client_ready, is_guid. */
#include "test_support.h"

static const char *g_base_url; /* TEAMSOP_BASE_URL */
static const char *g_token;    /* TEAMSOP_TOKEN */
static int g_port;             /* the emulator's port */
static double g_time_factor = 1.0;
static long g_many = 100000;
static bool g_rss_check = true; /* off under valgrind and ASan, whose own memory is in RSS */

/* The promise of teamsop_cancel_trigger: the call returns within this. */
#define CANCEL_LIMIT_S 0.100
/* The 404 grace of API.md, from an operation's first poll. */
#define GRACE_S 10.0

/* The preloaded team of the emulator and its operations. */
#define TEAM "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
#define TEAM_SUCCEEDED "/teams('" TEAM "')/operations('create-succeeded')"
#define TEAM_FAILED "/teams('" TEAM "')/operations('archive-failed')"

/* An upper time limit, scaled for slow runs. */
static double limit_s(double seconds) { return seconds * g_time_factor; }

/* ------------------------------------------------------------- the emulator */

static void emu_reset(void) {
  int status = 0;
  free(emu_control_request(g_port, "POST", "/_emulator/reset", NULL, NULL, &status, NULL));
  CHECK_EQ_INT(status, 204);
}

static void load(const char *scenarios) {
  CHECK_EQ_INT(emu_control_load_scenarios(g_port, scenarios), 204);
}

static void clear_scenarios(void) {
  int status = 0;
  free(emu_control_request(g_port, "DELETE", "/_emulator/scenarios", NULL, NULL, &status, NULL));
  CHECK_EQ_INT(status, 204);
}

static struct emu_batch_stats stats(void) {
  struct emu_batch_stats s;
  memset(&s, 0, sizeof s);
  CHECK(emu_control_batch_stats(g_port, &s));
  return s;
}

/* What the request record says of the traffic: GETs sent alone, $batch requests
 * and the requests inside them, the size of the largest and smallest $batch. */
struct traffic {
  int singles;
  int batches;
  int inner;
  int largest;
  int smallest;
};

static struct traffic traffic(void) {
  struct traffic t = {0, 0, 0, 0, 1 << 30};
  char *log = emu_control_requests(g_port);
  CHECK_NOT_NULL(log);
  if (log == NULL) {
    return t;
  }
  int count = emu_json_length(log);
  int *sizes = calloc((size_t)(count > 0 ? count : 1), sizeof *sizes);
  const char *it = log, *req;
  while ((req = emu_json_next_element(&it)) != NULL) {
    char *path = emu_json_member_string(req, "path");
    long long batch = emu_json_member_int(req, "batch", -1);
    if (batch >= 0 && batch < count) {
      t.inner++;
      sizes[batch]++;
    } else if (path != NULL && strstr(path, "/$batch") != NULL) {
      t.batches++;
    } else {
      t.singles++;
    }
    free(path);
  }
  for (int i = 0; i < count; i++) {
    if (sizes[i] > 0) {
      t.largest = sizes[i] > t.largest ? sizes[i] : t.largest;
      t.smallest = sizes[i] < t.smallest ? sizes[i] : t.smallest;
    }
  }
  if (t.smallest == 1 << 30) {
    t.smallest = 0;
  }
  free(sizes);
  free(log);
  return t;
}

/* The times (elapsed_ms of the emulator) of the requests whose path, without
 * the query, is `path` (alone or inside a $batch), up to `max`; returns how many. */
static int times_of(const char *path, long long *out, int max) {
  char *log = emu_control_requests(g_port);
  CHECK_NOT_NULL(log);
  int n = 0;
  const char *it = log, *req;
  while (log != NULL && (req = emu_json_next_element(&it)) != NULL) {
    char *p = emu_json_member_string(req, "path");
    if (p != NULL) {
      char *q = strchr(p, '?');
      if (q != NULL) {
        *q = '\0';
      }
      if (strcmp(p, path) == 0) {
        if (n < max) {
          out[n] = emu_json_member_int(req, "elapsed_ms", -1);
        }
        n++;
      }
    }
    free(p);
  }
  free(log);
  return n;
}

/* ----------------------------------------------------------------- clients */

static teamsop_client *new_client(void) {
  teamsop_client *c = test_client_ready(teamsop_client_new(g_token), g_base_url, NULL);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 100), TEAMSOP_OK);
  return c;
}

static teamsop_batch *new_batch(const teamsop_client *c, uint32_t rate) {
  teamsop_batch *b = teamsop_batch_new(c);
  CHECK_NOT_NULL(b);
  if (rate != 0) {
    CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, rate), TEAMSOP_OK);
  }
  return b;
}

/* ---------------------------------------------------------------- reports */

#define MAX_TAGS 4096

/* What on_done saw, by tag (tags are 0..MAX_TAGS-1 in these tests). */
struct reports {
  int count[MAX_TAGS];
  teamsop_result result[MAX_TAGS];
  teamsop_status status[MAX_TAGS];
  int http_status[MAX_TAGS];
  char *message[MAX_TAGS]; /* teamsop_last_error_message() for an error */
  char *graph_code[MAX_TAGS];
  double at[MAX_TAGS]; /* now_s() of the report */
  uint64_t order[MAX_TAGS];
  int total;
  int bad_tags;   /* tags outside 0..MAX_TAGS-1 */
  int bad_shapes; /* op NULL with TEAMSOP_OK, or not NULL with an error, or not terminal */
  int stop_at;    /* return false on this report (1-based); 0: never */
  /* What to do inside on_done, for the tests of calls back into the library. */
  teamsop_batch *own;          /* the batch being run */
  void (*also)(struct reports *r, uint64_t tag, teamsop_result result);
};

static struct reports *reports_new(void) {
  struct reports *r = calloc(1, sizeof *r);
  if (r == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return r;
}

static void reports_free(struct reports *r) {
  for (int i = 0; i < MAX_TAGS; i++) {
    free(r->message[i]);
    free(r->graph_code[i]);
  }
  free(r);
}

static bool on_done(void *user_data, uint64_t tag, teamsop_result result,
                    const teamsop_operation *op) {
  struct reports *r = user_data;
  if (tag >= MAX_TAGS) {
    r->bad_tags++;
    return true;
  }
  if ((result == TEAMSOP_OK) != (op != NULL) ||
      (op != NULL && !teamsop_operation_is_terminal(op))) {
    r->bad_shapes++;
  }
  if (r->total < MAX_TAGS) {
    r->order[r->total] = tag;
  }
  r->total++;
  r->count[tag]++;
  r->result[tag] = result;
  r->status[tag] = op != NULL ? teamsop_operation_status(op) : TEAMSOP_STATUS_ABSENT;
  r->at[tag] = now_s();
  if (result != TEAMSOP_OK) {
    free(r->message[tag]);
    free(r->graph_code[tag]);
    const char *code = teamsop_last_graph_code();
    r->message[tag] = strdup(teamsop_last_error_message());
    r->graph_code[tag] = code != NULL ? strdup(code) : NULL;
    r->http_status[tag] = teamsop_last_http_status();
  }
  if (r->also != NULL) {
    r->also(r, tag, result);
  }
  return r->stop_at == 0 || r->total != r->stop_at;
}

/* Each of tags 0..n-1 reported exactly once, and nothing else. */
static void check_each_once(const struct reports *r, int n) {
  CHECK_EQ_INT(r->total, n);
  CHECK_EQ_INT(r->bad_tags, 0);
  CHECK_EQ_INT(r->bad_shapes, 0);
  int wrong = 0;
  for (int i = 0; i < n && i < MAX_TAGS; i++) {
    if (r->count[i] != 1) {
      if (wrong++ < 5) {
        CHECK_NOTE("tag %d reported %d times", i, r->count[i]);
      }
    }
  }
  CHECK_EQ_INT(wrong, 0);
}

/* Adds `n` Locations with tags 0..n-1. */
static void add_all(teamsop_batch *b, char *const *locations, size_t n) {
  for (size_t i = 0; i < n; i++) {
    CHECK_RESULT(teamsop_batch_add(b, locations[i], (uint64_t)i), TEAMSOP_OK);
  }
}

/* Adds `n` copies of one Location with tags `first`... */
static void add_copies(teamsop_batch *b, const char *location, int n, int first) {
  for (int i = 0; i < n; i++) {
    CHECK_RESULT(teamsop_batch_add(b, location, (uint64_t)(first + i)), TEAMSOP_OK);
  }
}

/* `count` operations created by the clock, from a JSON spec. */
static char **create(const char *spec, size_t *count) {
  char **locations = emu_control_create_operations(g_port, spec, count);
  CHECK_NOT_NULL(locations);
  return locations;
}

/* The outcome the emulator drew for the created operation at `location`
 * ("succeeded", "failed", "invalid"), from its report; TEAMSOP_STATUS_ABSENT if
 * not found. */
static teamsop_status outcome_of(const char *report, const char *location) {
  const char *it = report, *op;
  while (report != NULL && (op = emu_json_next_element(&it)) != NULL) {
    char *l = emu_json_member_string(op, "location");
    bool same = l != NULL && strcmp(l, location) == 0;
    free(l);
    if (same) {
      char *o = emu_json_member_string(op, "outcome");
      teamsop_status s = o == NULL                      ? TEAMSOP_STATUS_ABSENT
                         : strcmp(o, "succeeded") == 0 ? TEAMSOP_STATUS_SUCCEEDED
                         : strcmp(o, "failed") == 0    ? TEAMSOP_STATUS_FAILED
                         : strcmp(o, "invalid") == 0   ? TEAMSOP_STATUS_INVALID
                                                       : TEAMSOP_STATUS_UNRECOGNIZED;
      free(o);
      return s;
    }
  }
  return TEAMSOP_STATUS_ABSENT;
}

/* Every report TEAMSOP_OK with the status the emulator drew for its Location. */
static void check_outcomes(const struct reports *r, char *const *locations, size_t n) {
  char *report = emu_control_operations(g_port);
  CHECK_NOT_NULL(report);
  int wrong = 0;
  for (size_t i = 0; i < n; i++) {
    teamsop_status want = outcome_of(report, locations[i]);
    if (r->result[i] != TEAMSOP_OK || r->status[i] != want) {
      if (wrong++ < 5) {
        CHECK_NOTE("tag %zu: %s, status %d, expected OK with %d", i,
                   teamsop_result_str((uint32_t)r->result[i]), (int)r->status[i], (int)want);
      }
    }
  }
  CHECK_EQ_INT(wrong, 0);
  free(report);
}

/* A scenario answering `path` (an inner path such as /beta/teams/T/operations/O)
 * with `responses` (a JSON array), the last one repeated. */
static void script(const char *path, const char *responses) {
  size_t len = strlen(path) + strlen(responses) + 64;
  char *json = malloc(len);
  snprintf(json, len, "{\"path\":\"%s\",\"responses\":%s}", path, responses);
  load(json);
  free(json);
}

#define OP_JSON(status) "{\"status\":200,\"json\":{\"id\":\"op\",\"status\":\"" status "\"}}"

/* ------------------------------------------------------- a trigger thread */

/* A thread that pulls `cancel` `delay_s` after it starts, noting when. */
struct trigger {
  pthread_t thread;
  teamsop_cancel *cancel;
  double delay_s;
  double at;
};

static void *trigger_main(void *arg) {
  struct trigger *t = arg;
  struct timespec pause = {(time_t)t->delay_s,
                           (long)((t->delay_s - (double)(time_t)t->delay_s) * 1e9)};
  nanosleep(&pause, NULL);
  t->at = now_s();
  teamsop_cancel_trigger(t->cancel);
  return NULL;
}

static void trigger_start(struct trigger *t, teamsop_cancel *cancel, double delay_s) {
  t->cancel = cancel;
  t->delay_s = delay_s;
  t->at = 0;
  CHECK_EQ_INT(pthread_create(&t->thread, NULL, trigger_main, t), 0);
}

/* ---------------------------------------------------------------- log lines */

#define MAX_LINES 512
struct lines {
  pthread_mutex_t lock;
  int count;
  teamsop_log_level level[MAX_LINES];
  char *text[MAX_LINES];
};

static void on_log(void *user_data, teamsop_log_level level, const char *line) {
  struct lines *l = user_data;
  pthread_mutex_lock(&l->lock);
  if (l->count < MAX_LINES) {
    l->level[l->count] = level;
    l->text[l->count] = strdup(line);
    l->count++;
  }
  pthread_mutex_unlock(&l->lock);
}

/* How many lines of `level` contain `needle`. */
static int lines_with(struct lines *l, teamsop_log_level level, const char *needle) {
  int n = 0;
  for (int i = 0; i < l->count; i++) {
    if (l->level[i] == level && strstr(l->text[i], needle) != NULL) {
      n++;
    }
  }
  return n;
}

static void lines_free(struct lines *l) {
  for (int i = 0; i < l->count; i++) {
    free(l->text[i]);
  }
  l->count = 0;
}

/* ======================================================================== */
/*                              the arguments                               */
/* ======================================================================== */

TEST(test_null_handles_everywhere) {
  CHECK_NULL(teamsop_batch_new(NULL));
  CHECK(strstr(teamsop_last_error_message(), "client") != NULL);
  teamsop_batch_free(NULL);
  CHECK_EQ_INT(teamsop_batch_pending(NULL), 0);
  CHECK_EQ_INT(teamsop_batch_current_gets_per_second(NULL), 0);
  CHECK_RESULT(teamsop_batch_add(NULL, TEAM_SUCCEEDED, 1), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(NULL, 10), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_batch_set_json_batching(NULL, true), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_batch_run(NULL, 1000, on_done, NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);

  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  CHECK_RESULT(teamsop_batch_add(b, NULL, 1), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  /* Nothing pending: a run ends at once, whatever on_done and cancel are. */
  CHECK_RESULT(teamsop_batch_run(b, 1000, NULL, NULL, NULL), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_run(b, 1000, on_done, NULL, NULL), TEAMSOP_OK);
  /* A zero timeout is refused, as teamsop_wait's. */
  CHECK_RESULT(teamsop_batch_run(b, 0, NULL, NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  /* NULL on_done: the operations are still followed to their end. */
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 7), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_pending(b), 1);
  CHECK_RESULT(teamsop_batch_run(b, 10000, NULL, NULL, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_bad_locations_add_nothing) {
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  char other_host[256], other_port[256];
  snprintf(other_host, sizeof other_host, "http://elsewhere.example/beta/teams/a/operations/b");
  snprintf(other_port, sizeof other_port, "http://127.0.0.1:1/beta/teams/a/operations/b");
  const char *bad[] = {
      "",
      "/nope('x')",
      "teams('a')/operations('b')",
      "/teams('')/operations('b')",
      "/teams('a')/operations('')",
      "/teams('.')/operations('b')",
      "/teams('a')/operations('..')",
      "/teams{a}/operations(b)",
      "/teams('a')/operations('b')?x=1",
      "/teams('a')/operations('b')#f",
      "/teams('a')/operations('b')/more",
      "/teams('a\tb')/operations('c')",
      "/teams('a\\b')/operations('c')",
      "//elsewhere.example/teams/a/operations/b",
      other_host,
      other_port,
      "ftp://127.0.0.1/beta/teams/a/operations/b",
      "\xff\xfe",
      "/teams('\xc3\x28')/operations('b')",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    teamsop_operation *op = DUMMY_OP;
    /* Refused exactly when teamsop_get_location refuses it, before sending. */
    CHECK_EQ_INT(teamsop_get_location(c, bad[i], &op), TEAMSOP_ERR_INVALID_ARGUMENT);
    if (!CHECK_RESULT(teamsop_batch_add(b, bad[i], i), TEAMSOP_ERR_INVALID_ARGUMENT)) {
      CHECK_NOTE("location %zu", i);
    }
    CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  }
  /* A run has nothing to do: nothing was added, nothing is sent. */
  CHECK_EQ_INT(emu_control_clear_requests(g_port), 204);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 1000, on_done, r, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(r->total, 0);
  struct traffic t = traffic();
  CHECK_EQ_INT(t.singles + t.batches, 0);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_location_forms_and_tags) {
  emu_reset();
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  char absolute[256];
  snprintf(absolute, sizeof absolute, "%s/teams/" TEAM "/operations/create-succeeded",
           g_base_url);
  const char *forms[] = {
      TEAM_SUCCEEDED,
      "/teams(" TEAM ")/operations(create-succeeded)",
      "/teams/" TEAM "/operations/create-succeeded",
      "/groups('" TEAM "')/team/operations('create-succeeded')",
      "/beta/teams('" TEAM "')/operations('create-succeeded')",
      absolute,
      "/chats('" SEED_CHAT "')/operations('" SEED_OP "')",
      "/chats('19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2')/operations('" SEED_OP "')",
  };
  size_t n = sizeof forms / sizeof forms[0];
  /* Tags are the caller's: any value, the same one twice, handed back as given. */
  const uint64_t tags[] = {0, UINT64_MAX, 42, 42, 1ULL << 63, 7, 8, 9};
  for (size_t i = 0; i < n; i++) {
    CHECK_RESULT(teamsop_batch_add(b, forms[i], tags[i]), TEAMSOP_OK);
    CHECK_EQ_INT(teamsop_batch_pending(b), i + 1);
  }
  /* The same Location twice is two operations to follow. */
  CHECK_RESULT(teamsop_batch_add(b, TEAM_FAILED, 100), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_FAILED, 101), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_pending(b), n + 2);

  struct reports *r = reports_new();
  /* Tags beyond MAX_TAGS land in bad_tags (test_extreme_tags_come_back_as_given
   * checks their values). */
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  CHECK_EQ_INT(r->total, (int)n); /* the 10 reported, but the two beyond the table */
  CHECK_EQ_INT(r->bad_shapes, 0);
  CHECK_EQ_INT(r->bad_tags, 2); /* UINT64_MAX and 1 << 63 */
  CHECK_EQ_INT(r->count[0], 1);
  CHECK_EQ_INT(r->count[42], 2);
  CHECK_EQ_INT(r->count[7], 1);
  CHECK_EQ_INT(r->count[8], 1);
  CHECK_EQ_INT(r->count[9], 1);
  CHECK_EQ_INT(r->status[0], TEAMSOP_STATUS_SUCCEEDED);
  CHECK_EQ_INT(r->status[8], TEAMSOP_STATUS_SUCCEEDED); /* the seed chat operation */
  CHECK_EQ_INT(r->status[100], TEAMSOP_STATUS_FAILED);
  CHECK_EQ_INT(r->status[101], TEAMSOP_STATUS_FAILED);
  /* The ids were re-encoded: every GET names the same two resources. */
  long long at[16];
  CHECK_EQ_INT(times_of("/beta/teams/" TEAM "/operations/create-succeeded", at, 16), 6);
  CHECK_EQ_INT(times_of("/beta/chats/" SEED_CHAT "/operations/" SEED_OP, at, 16) +
                   times_of("/beta/chats/19%3Ac253a29b5f694b55a6baad8e83510af7%40thread.v2/"
                            "operations/" SEED_OP,
                            at, 16),
               2);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* Tags outside the reports table: a callback counting them by value. */
struct big_tags {
  int max_tag;
  int min_tag;
  int count;
};

static bool on_done_big(void *user_data, uint64_t tag, teamsop_result result,
                        const teamsop_operation *op) {
  struct big_tags *t = user_data;
  (void)op;
  if (result == TEAMSOP_OK) {
    t->count++;
    t->max_tag += tag == UINT64_MAX;
    t->min_tag += tag == 0;
  }
  return true;
}

TEST(test_extreme_tags_come_back_as_given) {
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, UINT64_MAX), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, UINT64_MAX), TEAMSOP_OK);
  struct big_tags t = {0, 0, 0};
  CHECK_RESULT(teamsop_batch_run(b, 10000, on_done_big, &t, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(t.count, 3);
  CHECK_EQ_INT(t.max_tag, 2);
  CHECK_EQ_INT(t.min_tag, 1);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_rate_bounds) {
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  const uint32_t bad[] = {0, 1001, 5000, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, bad[i]), TEAMSOP_ERR_INVALID_ARGUMENT);
    CHECK(strstr(teamsop_last_error_message(), "1000") != NULL);
  }
  CHECK_EQ_INT(teamsop_batch_current_gets_per_second(b), 10);
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, 1), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_current_gets_per_second(b), 1);
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, 1000), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_current_gets_per_second(b), 1000);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, false), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, true), TEAMSOP_OK);
  /* A refused rate leaves the one in force: 5, so groups of at most 5. */
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, 5), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(b, 0), TEAMSOP_ERR_INVALID_ARGUMENT);
  emu_reset();
  add_copies(b, TEAM_SUCCEEDED, 12, 0);
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  double took = now_s() - t0;
  check_each_once(r, 12);
  struct traffic t = traffic();
  CHECK(t.largest <= 5);
  CHECK_EQ_INT(t.inner + t.singles, 12);
  /* 12 GETs at 5 per sliding second: the last ones start 2 windows later. */
  CHECK(took >= 2.0);
  struct emu_batch_stats s = stats();
  CHECK(s.busiest_second <= 5);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_default_rate_is_10) {
  emu_reset();
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  add_copies(b, TEAM_SUCCEEDED, 25, 0);
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  double took = now_s() - t0;
  check_each_once(r, 25);
  struct traffic t = traffic();
  CHECK_EQ_INT(t.largest, 10);
  CHECK(took >= 2.0);
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.busiest_second, 10);
  CHECK_EQ_INT(s.inner_requests + (s.requests - s.batches), 25);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* ======================================================================== */
/*                                 the wire                                 */
/* ======================================================================== */

TEST(test_groups_of_at_most_20_and_a_lone_operation_alone) {
  emu_reset();
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 45, 0);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 45);
  struct traffic t = traffic();
  CHECK_EQ_INT(t.batches, 3);
  CHECK_EQ_INT(t.inner, 45);
  CHECK_EQ_INT(t.largest, 20);
  CHECK_EQ_INT(t.smallest, 5);
  CHECK_EQ_INT(t.singles, 0);
  /* One due operation: a $batch of one costs as much as a GET, so a GET. */
  emu_reset();
  CHECK_RESULT(teamsop_batch_add(b, TEAM_FAILED, 0), TEAMSOP_OK);
  memset(r, 0, sizeof *r);
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 1);
  CHECK_EQ_INT(r->status[0], TEAMSOP_STATUS_FAILED);
  t = traffic();
  CHECK_EQ_INT(t.batches, 0);
  CHECK_EQ_INT(t.singles, 1);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_batch_body_headers_and_select) {
  emu_reset();
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_select(c, "status,error"), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 3, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/chats('" SEED_CHAT "')/operations('" SEED_OP "')", 3),
               TEAMSOP_OK);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 4);
  char *log = emu_control_requests(g_port);
  CHECK_NOT_NULL(log);
  CHECK_EQ_INT(emu_json_length(log), 5);
  const char *batch = emu_json_element(log, 0);
  char *method = emu_json_member_string(batch, "method");
  char *path = emu_json_member_string(batch, "path");
  CHECK_STREQ(method, "POST");
  CHECK_STREQ(path, "/beta/$batch");
  char *auth = emu_request_header(batch, "authorization");
  char want_auth[512];
  snprintf(want_auth, sizeof want_auth, "Bearer %s", g_token);
  CHECK_STREQ(auth, want_auth);
  char *content_type = emu_request_header(batch, "content-type");
  CHECK(content_type != NULL && strncmp(content_type, "application/json", 16) == 0);
  free(method);
  free(path);
  free(auth);
  free(content_type);
  char *ids[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < 4; i++) {
    const char *inner = emu_json_element(log, i + 1);
    CHECK_EQ_INT(emu_json_member_int(inner, "batch", -1), 0);
    char *inner_id = emu_json_member_string(inner, "inner_id");
    char want_id[8];
    snprintf(want_id, sizeof want_id, "%d", i + 1);
    CHECK_STREQ(inner_id, want_id);
    free(inner_id);
    char *m = emu_json_member_string(inner, "method");
    CHECK_STREQ(m, "GET");
    free(m);
    char *p = emu_json_member_string(inner, "path");
    CHECK(p != NULL && strstr(p, "?$select=status,error") != NULL);
    if (i == 3) {
      CHECK_STREQ(p, "/beta/chats/" SEED_CHAT "/operations/" SEED_OP "?$select=status,error");
    } else {
      CHECK_STREQ(p, "/beta/teams/" TEAM "/operations/create-succeeded?$select=status,error");
    }
    free(p);
    /* The headers a single GET sends, but Authorization (on the $batch). */
    char *accept = emu_request_header(inner, "accept");
    char *prefer = emu_request_header(inner, "prefer");
    CHECK_STREQ(accept, "application/json");
    CHECK_STREQ(prefer, "include-unknown-enum-members");
    free(accept);
    free(prefer);
    char *agent = emu_request_header(inner, "user-agent");
    char *batch_agent = emu_request_header(batch, "user-agent");
    CHECK(agent != NULL && strncmp(agent, "libteamsop/", 11) == 0);
    CHECK_STREQ(agent, batch_agent);
    free(agent);
    free(batch_agent);
    CHECK(!emu_request_headers_contain(inner, "uthorization"));
    CHECK(!emu_request_headers_contain(inner, g_token));
    ids[i] = emu_request_header(inner, "client-request-id");
    CHECK(is_guid(ids[i]));
  }
  for (int i = 0; i < 4; i++) {
    for (int j = i + 1; j < 4; j++) {
      CHECK(!streq(ids[i], ids[j]));
    }
  }
  for (int i = 0; i < 4; i++) {
    free(ids[i]);
  }
  free(log);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_each_version_in_a_batch_of_its_own) {
  emu_reset();
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  char absolute[256];
  snprintf(absolute, sizeof absolute, "%.*s/v1.0/teams/" TEAM "/operations/archive-failed",
           (int)(strlen(g_base_url) - strlen("/beta")), g_base_url);
  /* Interleaved: the groups are by version, whatever the order of adding. */
  for (int i = 0; i < 4; i++) {
    CHECK_RESULT(teamsop_batch_add(b, "/v1.0/teams('" TEAM "')/operations('create-succeeded')",
                                   (uint64_t)(3 * i)),
                 TEAMSOP_OK);
    CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, (uint64_t)(3 * i + 1)), TEAMSOP_OK);
    CHECK_RESULT(teamsop_batch_add(b, absolute, (uint64_t)(3 * i + 2)), TEAMSOP_OK);
  }
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 12);
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(r->status[3 * i], TEAMSOP_STATUS_SUCCEEDED);
    CHECK_EQ_INT(r->status[3 * i + 1], TEAMSOP_STATUS_SUCCEEDED);
    CHECK_EQ_INT(r->status[3 * i + 2], TEAMSOP_STATUS_FAILED);
  }
  char *log = emu_control_requests(g_port);
  CHECK_NOT_NULL(log);
  int v1_batches = 0, beta_batches = 0, mixed = 0;
  const char *it = log, *req;
  int index = 0;
  char *batch_paths[64] = {NULL};
  while ((req = emu_json_next_element(&it)) != NULL) {
    char *path = emu_json_member_string(req, "path");
    long long batch = emu_json_member_int(req, "batch", -1);
    if (batch < 0) {
      if (path != NULL && strcmp(path, "/v1.0/$batch") == 0) {
        v1_batches++;
      } else if (path != NULL && strcmp(path, "/beta/$batch") == 0) {
        beta_batches++;
      } else {
        CHECK_NOTE("not a $batch: %s", path != NULL ? path : "(null)");
        mixed++;
      }
      if (index < 64) {
        batch_paths[index] = path;
        path = NULL;
      }
    } else if (batch < 64 && batch_paths[batch] != NULL && path != NULL) {
      /* /v1.0/$batch holds /v1.0/... requests, /beta/$batch /beta/... ones. */
      const char *version = strcmp(batch_paths[batch], "/v1.0/$batch") == 0 ? "/v1.0/" : "/beta/";
      if (strncmp(path, version, strlen(version)) != 0) {
        CHECK_NOTE("%s inside %s", path, batch_paths[batch]);
        mixed++;
      }
    }
    free(path);
    index++;
  }
  for (int i = 0; i < 64; i++) {
    free(batch_paths[i]);
  }
  CHECK_EQ_INT(v1_batches, 1);
  CHECK_EQ_INT(beta_batches, 1);
  CHECK_EQ_INT(mixed, 0);
  free(log);
  /* A lone one of another version goes alone to its version. */
  emu_reset();
  CHECK_RESULT(teamsop_batch_add(b, "/v1.0/teams/" TEAM "/operations/archive-failed", 0),
               TEAMSOP_OK);
  memset(r, 0, sizeof *r);
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 1);
  long long at[4];
  CHECK_EQ_INT(times_of("/v1.0/teams/" TEAM "/operations/archive-failed", at, 4), 1);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* ======================================================================== */
/*                          every operation, once                          */
/* ======================================================================== */

TEST(test_every_operation_reported_once) {
  emu_reset();
  size_t n_team = 0, n_chat = 0;
  char **team = create("{\"count\":250,\"parent\":\"team\",\"duration_ms\":{\"min\":0,\"max\":3000},"
                       "\"outcome\":{\"succeeded\":8,\"failed\":1,\"invalid\":1},\"seed\":11}",
                       &n_team);
  char **chat = create("{\"count\":50,\"parent\":\"chat\",\"duration_ms\":{\"min\":0,\"max\":3000},"
                       "\"outcome\":{\"succeeded\":1,\"failed\":1},\"seed\":12}",
                       &n_chat);
  CHECK_EQ_INT(n_team, 250);
  CHECK_EQ_INT(n_chat, 50);
  size_t n = n_team + n_chat;
  char **all = malloc(n * sizeof *all);
  memcpy(all, team, n_team * sizeof *all);
  memcpy(all + n_team, chat, n_chat * sizeof *all);
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 200), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  add_all(b, all, n);
  CHECK_EQ_INT(teamsop_batch_pending(b), n);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  check_each_once(r, (int)n);
  check_outcomes(r, all, n);
  struct emu_batch_stats s = stats();
  CHECK(s.busiest_second <= 100);
  CHECK_EQ_INT(s.throttled, 0);
  CHECK(s.batches > 0);
  /* Mostly full groups: far fewer HTTP requests than GETs. */
  if (!CHECK(s.requests * 5 <= s.inner_requests + (s.requests - s.batches))) {
    CHECK_NOTE("requests %lld, batches %lld, inner %lld", s.requests, s.batches,
               s.inner_requests);
  }
  /* A second run has nothing left to do. */
  CHECK_RESULT(teamsop_batch_run(b, 1000, on_done, r, NULL), TEAMSOP_OK);
  CHECK_EQ_INT(r->total, (int)n);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
  free(all);
  emu_free_strings(team, n_team);
  emu_free_strings(chat, n_chat);
}

/* Runs `n` created operations with batching on or off at `rate`; returns the
 * stats, the operations all reported once with their outcome. */
static struct emu_batch_stats run_created(bool batching, uint32_t rate, size_t want) {
  emu_reset();
  size_t n = 0;
  char **locations = create("{\"count\":60,\"duration_ms\":{\"min\":0,\"max\":1500},"
                            "\"outcome\":{\"succeeded\":3,\"failed\":1},\"seed\":5}",
                            &n);
  CHECK_EQ_INT(n, want);
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 250), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, rate);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, batching), TEAMSOP_OK);
  add_all(b, locations, n);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, (int)n);
  check_outcomes(r, locations, n);
  struct emu_batch_stats s = stats();
  CHECK(s.busiest_second <= rate);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
  emu_free_strings(locations, n);
  return s;
}

TEST(test_batching_on_and_off) {
  struct emu_batch_stats off = run_created(false, 40, 60);
  CHECK_EQ_INT(off.batches, 0);
  CHECK_EQ_INT(off.inner_requests, 0);
  struct emu_batch_stats on = run_created(true, 40, 60);
  CHECK(on.batches > 0);
  /* The same GETs, in far fewer HTTP requests. */
  long long gets_on = on.inner_requests + (on.requests - on.batches);
  CHECK(gets_on >= 60);
  if (!CHECK(on.requests * 3 <= off.requests)) {
    CHECK_NOTE("batching on: %lld requests (%lld GETs); off: %lld requests", on.requests,
               gets_on, off.requests);
  }
}

/* ======================================================================== */
/*                                the pacing                                */
/* ======================================================================== */

TEST(test_first_poll_at_once_then_paced_as_a_wait) {
  emu_reset();
  script("/beta/teams/pace/operations/lone",
         "[" OP_JSON("notStarted") "," OP_JSON("inProgress") "," OP_JSON("inProgress") "," OP_JSON(
             "unknownFutureValue") "," OP_JSON("succeeded") "]");
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 250), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('pace')/operations('lone')", 0), TEAMSOP_OK);
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  double took = now_s() - t0;
  check_each_once(r, 1);
  CHECK_EQ_INT(r->status[0], TEAMSOP_STATUS_SUCCEEDED);
  long long at[8];
  CHECK_EQ_INT(times_of("/beta/teams/pace/operations/lone", at, 8), 5);
  /* 250, 500, 1000, 2000 ms between the polls (a few ms early at most: the
   * emulator's clock stamps arrivals), unknownFutureValue polled on. */
  const long long gaps[] = {250, 500, 1000, 2000};
  for (int i = 0; i < 4; i++) {
    if (!CHECK(at[i + 1] - at[i] >= gaps[i] - 5)) {
      CHECK_NOTE("gap %d: %lld ms, expected %lld", i, at[i + 1] - at[i], gaps[i]);
    }
    CHECK(at[i + 1] - at[i] <= gaps[i] + (long long)(limit_s(0.3) * 1000));
  }
  CHECK(took >= 3.75);
  CHECK(took <= 3.75 + limit_s(1.0));
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_retry_after_on_inner_answers) {
  emu_reset();
  /* Two due together: a $batch, whose inner answers carry Retry-After. */
  const char *answers = "[{\"status\":200,\"headers\":{\"Retry-After\":\"2\"},"
                        "\"json\":{\"id\":\"op\",\"status\":\"inProgress\"}}," OP_JSON(
                            "succeeded") "]";
  script("/beta/teams/ra/operations/a", answers);
  script("/beta/teams/ra/operations/b", answers);
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('ra')/operations('a')", 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('ra')/operations('b')", 1), TEAMSOP_OK);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 2);
  long long a[4], bb[4];
  CHECK_EQ_INT(times_of("/beta/teams/ra/operations/a", a, 4), 2);
  CHECK_EQ_INT(times_of("/beta/teams/ra/operations/b", bb, 4), 2);
  CHECK(a[1] - a[0] >= 1995);
  CHECK(bb[1] - bb[0] >= 1995);
  CHECK(a[1] - a[0] <= 2000 + (long long)(limit_s(0.5) * 1000));
  struct traffic t = traffic();
  CHECK(t.batches >= 1);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_soonest_due_first) {
  emu_reset();
  /* At 1 GET per second, one by one: the order of the polls is the order of
   * their due times; among those due together, the order of adding. */
  script("/beta/teams/order/operations/slow",
         "[" OP_JSON("inProgress") "," OP_JSON("succeeded") "]");
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 10000), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 1);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, false), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('order')/operations('slow')", 0), TEAMSOP_OK);
  for (int i = 1; i <= 3; i++) {
    CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, (uint64_t)i), TEAMSOP_OK);
  }
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 4);
  /* 1, 2, 3 in the order added, then 0, due 10 s after its first poll. */
  CHECK_EQ_INT(r->order[0], 1);
  CHECK_EQ_INT(r->order[1], 2);
  CHECK_EQ_INT(r->order[2], 3);
  CHECK_EQ_INT(r->order[3], 0);
  /* 1 per sliding second: 0 at once, then 1, 2, 3 a second apart. */
  CHECK(r->at[1] - t0 >= 1.0);
  CHECK(r->at[3] - t0 >= 3.0);
  CHECK(r->at[0] - t0 >= 10.0);
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.busiest_second, 1);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_busiest_second_never_above_the_rate) {
  emu_reset();
  /* The emulator limiting at exactly the rate: a client that kept to it in
   * every sliding second never sees a 429. */
  CHECK_EQ_INT(emu_control_set_rate_limit(
                   g_port, "{\"per_second\":30,\"scope\":\"inner\",\"retry_after_s\":1}"),
               200);
  size_t n = 0;
  char **locations = create("{\"count\":150,\"duration_ms\":{\"min\":0,\"max\":2000},\"seed\":3}", &n);
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 200), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 30);
  add_all(b, locations, n);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, (int)n);
  check_outcomes(r, locations, n);
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.throttled, 0);
  CHECK(s.busiest_second <= 30);
  CHECK(s.busiest_second >= 25); /* and it used its budget */
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
  emu_free_strings(locations, n);
}

TEST(test_inner_429_pauses_every_get_and_lowers_the_rate) {
  emu_reset();
  script("/beta/teams/th/operations/a",
         "[{\"status\":429,\"headers\":{\"Retry-After\":\"2\"},\"json\":{\"error\":{\"code\":"
         "\"TooManyRequests\",\"message\":\"slow down\"}}}," OP_JSON("succeeded") "]");
  script("/beta/teams/th/operations/b", "[" OP_JSON("inProgress") "," OP_JSON("succeeded") "]");
  script("/beta/teams/th/operations/c", "[" OP_JSON("inProgress") "," OP_JSON("succeeded") "]");
  teamsop_client *c = new_client();
  struct lines lines = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, {0}};
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &lines), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('th')/operations('a')", 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('th')/operations('b')", 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('th')/operations('c')", 2), TEAMSOP_OK);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 3);
  CHECK_EQ_INT(r->result[0], TEAMSOP_OK);
  long long a[4], bb[4], cc[4];
  CHECK_EQ_INT(times_of("/beta/teams/th/operations/a", a, 4), 2);
  CHECK_EQ_INT(times_of("/beta/teams/th/operations/b", bb, 4), 2);
  CHECK_EQ_INT(times_of("/beta/teams/th/operations/c", cc, 4), 2);
  /* b and c were due 100 ms later, but every GET waited for a's Retry-After. */
  CHECK(bb[1] - bb[0] >= 1995);
  CHECK(cc[1] - cc[0] >= 1995);
  CHECK(a[1] - a[0] >= 1995);
  /* The rate halved: 10 -> 5 GETs per second, and climbs back (1 per second). */
  unsigned rate_after = teamsop_batch_current_gets_per_second(b);
  CHECK(rate_after >= 5 && rate_after < 10);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_WARN, "throttled (429)"), 1);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_WARN, "rate now 5 GETs/s"), 1);
  /* The three again in one $batch when the pause ended (all due by then). */
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_INFO, "(3 requests)"), 2);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_DEBUG, "/teams/th/operations/a -> 429"), 1);
  for (int i = 0; i < lines.count; i++) {
    CHECK(strstr(lines.text[i], g_token) == NULL);
  }
  lines_free(&lines);
  /* Without Retry-After: a short backoff, and still reported. */
  emu_reset();
  script("/beta/teams/th/operations/a",
         "[{\"status\":429,\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"x\"}}},"
         "{\"status\":429,\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"x\"}}}," OP_JSON(
             "failed") "]");
  CHECK_RESULT(teamsop_batch_add(b, "/teams('th')/operations('a')", 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 1), TEAMSOP_OK);
  memset(r, 0, sizeof *r);
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 2);
  CHECK_EQ_INT(r->status[0], TEAMSOP_STATUS_FAILED);
  CHECK(now_s() - t0 <= limit_s(3.0));
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, NULL, NULL), TEAMSOP_OK);
  lines_free(&lines);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_server_limiting_at_half_the_rate) {
  const char *limits[] = {
      "{\"per_second\":20,\"scope\":\"inner\",\"retry_after_s\":1}",
      "{\"per_second\":20,\"scope\":\"batch\",\"retry_after_s\":null}",
  };
  for (int k = 0; k < 2; k++) {
    emu_reset();
    CHECK_EQ_INT(emu_control_set_rate_limit(g_port, limits[k]), 200);
    size_t n = 0;
    char **locations = create("{\"count\":120,\"duration_ms\":{\"min\":0,\"max\":2000},"
                              "\"outcome\":{\"succeeded\":1,\"invalid\":1},\"seed\":9}",
                              &n);
    teamsop_client *c = new_client();
    CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 200), TEAMSOP_OK);
    teamsop_batch *b = new_batch(c, 40);
    add_all(b, locations, n);
    struct reports *r = reports_new();
    CHECK_RESULT(teamsop_batch_run(b, 120000, on_done, r, NULL), TEAMSOP_OK);
    check_each_once(r, (int)n);
    check_outcomes(r, locations, n);
    struct emu_batch_stats s = stats();
    CHECK(s.throttled > 0);
    long long gets = s.inner_requests + (s.requests - s.batches);
    /* The first second's GETs over the server's limit (20), then a few as the
     * rate climbs back (make bench-batch measures the share at 2,000). */
    if (!CHECK(s.throttled <= 20 + 10)) {
      CHECK_NOTE("%s: %lld 429s for %lld GETs", limits[k], s.throttled, gets);
    }
    reports_free(r);
    teamsop_batch_free(b);
    teamsop_client_free(c);
    emu_free_strings(locations, n);
  }
}

/* ======================================================================== */
/*                         how each operation ends                          */
/* ======================================================================== */

#define GRAPH_ERROR(status, code, message)                                                         \
  "{\"status\":" #status ",\"json\":{\"error\":{\"code\":\"" code "\",\"message\":\"" message    \
  "\"}}}"

TEST(test_inner_errors_end_their_operation) {
  emu_reset();
  script("/beta/teams/e/operations/forbidden", "[" GRAPH_ERROR(403, "Forbidden", "no access") "]");
  script("/beta/teams/e/operations/server", "[" GRAPH_ERROR(500, "InternalServerError", "oops") "]");
  script("/beta/teams/e/operations/teapot", "[" GRAPH_ERROR(418, "Teapot", "short and stout") "]");
  script("/beta/teams/e/operations/busy-once",
         "[" GRAPH_ERROR(503, "ServiceUnavailable", "busy") "," OP_JSON("succeeded") "]");
  script("/beta/teams/e/operations/gateway-once",
         "[" GRAPH_ERROR(504, "GatewayTimeout", "late") "," OP_JSON("succeeded") "]");
  script("/beta/teams/e/operations/busy-always", "[" GRAPH_ERROR(503, "ServiceUnavailable", "busy") "]");
  script("/beta/teams/e/operations/unauthorized",
         "[" GRAPH_ERROR(401, "InvalidAuthenticationToken", "expired") "]");
  script("/beta/teams/e/operations/array", "[{\"status\":200,\"json\":[1,2,3]}]");
  script("/beta/teams/e/operations/html",
         "[{\"status\":200,\"body\":\"<html>sign in</html>\",\"content_type\":\"text/html\"}]");
  script("/beta/teams/e/operations/wrong-type", "[{\"status\":200,\"json\":{\"status\":5}}]");
  script("/beta/teams/e/operations/invalid", "[" OP_JSON("invalid") "]");
  const char *names[] = {"forbidden", "server",      "teapot", "busy-once",  "gateway-once",
                         "busy-always", "unauthorized", "array",  "html", "wrong-type", "invalid"};
  const teamsop_result want[] = {TEAMSOP_ERR_FORBIDDEN,    TEAMSOP_ERR_HTTP,  TEAMSOP_ERR_HTTP,
                                 TEAMSOP_OK,               TEAMSOP_OK,        TEAMSOP_ERR_HTTP,
                                 TEAMSOP_ERR_UNAUTHORIZED, TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE,
                                 TEAMSOP_ERR_PARSE,        TEAMSOP_OK};
  const int want_http[] = {403, 500, 418, 0, 0, 503, 401, 200, 200, 200, 0};
  const int want_polls[] = {1, 1, 1, 2, 2, 3, 1, 1, 1, 1, 1};
  size_t n = sizeof names / sizeof names[0];
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, 2), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  for (size_t i = 0; i < n; i++) {
    char location[128];
    snprintf(location, sizeof location, "/teams('e')/operations('%s')", names[i]);
    CHECK_RESULT(teamsop_batch_add(b, location, i), TEAMSOP_OK);
  }
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, (int)n);
  for (size_t i = 0; i < n; i++) {
    if (!CHECK_EQ_INT(r->result[i], want[i])) {
      CHECK_NOTE("%s: %s (%s)", names[i], teamsop_result_str((uint32_t)r->result[i]),
                 r->message[i] != NULL ? r->message[i] : "");
    }
    if (want[i] != TEAMSOP_OK) {
      /* teamsop_last_* inside on_done told why that operation ended. */
      CHECK_EQ_INT(r->http_status[i], want_http[i]);
      CHECK(r->message[i] != NULL && r->message[i][0] != '\0');
      CHECK(r->message[i] != NULL && strstr(r->message[i], g_token) == NULL);
    }
    char path[128];
    snprintf(path, sizeof path, "/beta/teams/e/operations/%s", names[i]);
    long long at[8];
    if (!CHECK_EQ_INT(times_of(path, at, 8), want_polls[i])) {
      CHECK_NOTE("polls of %s", names[i]);
    }
  }
  CHECK_STREQ(r->graph_code[0], "Forbidden");
  CHECK(r->message[0] != NULL && strstr(r->message[0], "no access") != NULL);
  CHECK_STREQ(r->graph_code[1], "InternalServerError");
  CHECK_STREQ(r->graph_code[5], "ServiceUnavailable");
  CHECK(r->message[8] != NULL && strstr(r->message[8], "text/html") != NULL);
  CHECK_EQ_INT(r->status[10], TEAMSOP_STATUS_INVALID);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* A token provider counting its calls, answering the emulator's token. */
static atomic_int g_provider_calls;

static bool provide_token(void *user_data, const char *claims, char *buf, size_t buf_len,
                          int64_t *expires_unix_ms) {
  (void)user_data;
  (void)claims;
  atomic_fetch_add(&g_provider_calls, 1);
  snprintf(buf, buf_len, "%s", g_token);
  *expires_unix_ms = TEAMSOP_NO_TIME;
  return true;
}

TEST(test_inner_401_renews_the_token_once_per_operation) {
  emu_reset();
  script("/beta/teams/auth/operations/once",
         "[" GRAPH_ERROR(401, "InvalidAuthenticationToken", "expired") "," OP_JSON("succeeded") "]");
  script("/beta/teams/auth/operations/always",
         "[" GRAPH_ERROR(401, "InvalidAuthenticationToken", "expired") "]");
  teamsop_client *c = new_client();
  atomic_store(&g_provider_calls, 0);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide_token, NULL), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('auth')/operations('once')", 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('auth')/operations('always')", 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 2), TEAMSOP_OK);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 3);
  CHECK_EQ_INT(r->result[0], TEAMSOP_OK);
  CHECK_EQ_INT(r->result[1], TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(r->http_status[1], 401);
  CHECK_EQ_INT(r->result[2], TEAMSOP_OK);
  long long at[8];
  CHECK_EQ_INT(times_of("/beta/teams/auth/operations/once", at, 8), 2);
  CHECK_EQ_INT(times_of("/beta/teams/auth/operations/always", at, 8), 2);
  /* The token set at first, then one renewal for the two 401s of one $batch. */
  int calls = atomic_load(&g_provider_calls);
  if (!CHECK_EQ_INT(calls, 1)) {
    CHECK_NOTE("the provider was called %d times", calls);
  }
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_404_grace_counts_from_the_first_poll) {
  emu_reset();
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 500), TEAMSOP_OK);
  /* At 1 GET per second, one by one: the missing operation is first polled
   * some 5 s into the run, behind five others, and is NOT_FOUND only 10 s
   * after that, not 10 s after the run started. */
  teamsop_batch *b = new_batch(c, 1);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, false), TEAMSOP_OK);
  add_copies(b, TEAM_SUCCEEDED, 5, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('" TEAM "')/operations('never')", 5), TEAMSOP_OK);
  size_t n = 0;
  char **late = create("{\"count\":1,\"duration_ms\":0,\"not_visible_ms\":2500}", &n);
  CHECK_RESULT(teamsop_batch_add(b, late[0], 6), TEAMSOP_OK);
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 7);
  CHECK_EQ_INT(r->result[5], TEAMSOP_ERR_NOT_FOUND);
  CHECK_EQ_INT(r->http_status[5], 404);
  CHECK_STREQ(r->graph_code[5], "NotFound");
  long long at[64];
  int polls = times_of("/beta/teams/" TEAM "/operations/never", at, 64);
  CHECK(polls >= 3 && polls < 64);
  if (polls >= 3 && polls < 64) {
    /* Polled again while within the grace; NOT_FOUND at the first poll after. */
    double first = (double)at[0] / 1000.0;
    double before_last = (double)at[polls - 2] / 1000.0;
    double last = (double)at[polls - 1] / 1000.0;
    if (!CHECK(last - first >= GRACE_S - 0.05)) {
      CHECK_NOTE("404s for %.2f s", last - first);
    }
    CHECK(before_last - first < GRACE_S + 0.05);
  }
  CHECK(r->at[5] - t0 >= 5.0 + GRACE_S - 0.1);
  /* Seen late, but within the grace: its outcome. */
  CHECK_EQ_INT(r->result[6], TEAMSOP_OK);
  CHECK_EQ_INT(r->status[6], TEAMSOP_STATUS_SUCCEEDED);
  emu_free_strings(late, n);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* ======================================================================== */
/*                   $batch answers that cannot be read                     */
/* ======================================================================== */

/* The $batch path answers `response` (a scripted response) once, then as the
 * emulator does. */
static void script_batch_once(const char *response) {
  size_t len = strlen(response) + 128;
  char *json = malloc(len);
  snprintf(json, len, "{\"path\":\"/beta/$batch\",\"responses\":[%s],\"after\":\"fallthrough\"}",
           response);
  load(json);
  free(json);
}

#define INNER_OK(id) "{\"id\":\"" id "\",\"status\":200,\"body\":{\"id\":\"o\",\"status\":\"succeeded\"}}"

/* Runs 3 operations against the $batch answer `response`; each must end with
 * want[i] (ids "1", "2", "3" are the operations in the order added). */
static void unreadable_case(const char *name, const char *response, const teamsop_result want[3],
                            size_t max_body) {
  emu_reset();
  script_batch_once(response);
  teamsop_client *c = new_client();
  if (max_body != 0) {
    CHECK_RESULT(teamsop_client_set_max_body_bytes(c, max_body), TEAMSOP_OK);
  }
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 3, 0);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 20000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 3);
  for (int i = 0; i < 3; i++) {
    if (!CHECK_EQ_INT(r->result[i], want[i])) {
      CHECK_NOTE("%s: operation %d ended %s (%s)", name, i + 1,
                 teamsop_result_str((uint32_t)r->result[i]),
                 r->message[i] != NULL ? r->message[i] : "");
    }
    if (want[i] != TEAMSOP_OK) {
      CHECK(r->message[i] != NULL && r->message[i][0] != '\0');
    }
  }
  /* One $batch, never sent again: the run does not loop on a broken answer. */
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.batches, 1);
  CHECK_EQ_INT(s.requests, 1);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_batch_answer_not_json) {
  const teamsop_result parse3[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE};
  unreadable_case("not JSON",
                  "{\"status\":200,\"body\":\"<html>proxy</html>\",\"content_type\":\"text/html\"}",
                  parse3, 0);
  unreadable_case("truncated JSON", "{\"status\":200,\"body\":\"{\\\"responses\\\":[\"}", parse3, 0);
  unreadable_case("empty body", "{\"status\":200}", parse3, 0);
}

TEST(test_batch_answer_without_responses) {
  const teamsop_result parse3[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE};
  unreadable_case("no responses", "{\"status\":200,\"json\":{\"value\":[]}}", parse3, 0);
  unreadable_case("responses not an array", "{\"status\":200,\"json\":{\"responses\":{}}}", parse3,
                  0);
  unreadable_case("a response without status",
                  "{\"status\":200,\"json\":{\"responses\":[{\"id\":\"1\"}]}}", parse3, 0);
  unreadable_case("an array", "{\"status\":200,\"json\":[]}", parse3, 0);
}

TEST(test_batch_answer_repeats_or_omits_an_id) {
  const teamsop_result repeated[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_OK, TEAMSOP_OK};
  unreadable_case("id repeated",
                  "{\"status\":200,\"json\":{\"responses\":[" INNER_OK("1") "," INNER_OK(
                      "2") "," INNER_OK("1") "," INNER_OK("3") "]}}",
                  repeated, 0);
  const teamsop_result omitted[3] = {TEAMSOP_OK, TEAMSOP_ERR_PARSE, TEAMSOP_OK};
  unreadable_case("id omitted",
                  "{\"status\":200,\"json\":{\"responses\":[" INNER_OK("3") "," INNER_OK("1") "]}}",
                  omitted, 0);
  const teamsop_result none[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE};
  unreadable_case("no response at all", "{\"status\":200,\"json\":{\"responses\":[]}}", none, 0);
}

TEST(test_batch_answer_with_an_unknown_id_or_numbers) {
  const teamsop_result ok3[3] = {TEAMSOP_OK, TEAMSOP_OK, TEAMSOP_OK};
  unreadable_case("an id never sent",
                  "{\"status\":200,\"json\":{\"responses\":[" INNER_OK("99") "," INNER_OK(
                      "2") "," INNER_OK("3") "," INNER_OK("1") "," INNER_OK("0") "]}}",
                  ok3, 0);
  unreadable_case("numeric ids",
                  "{\"status\":200,\"json\":{\"responses\":[{\"id\":1,\"status\":200,\"body\":{"
                  "\"status\":\"succeeded\"}},{\"id\":2,\"status\":200,\"body\":{\"status\":"
                  "\"failed\"}},{\"id\":3,\"status\":200,\"body\":{\"status\":\"invalid\"}}]}}",
                  ok3, 0);
}

TEST(test_batch_answer_inner_body_not_an_operation) {
  const teamsop_result want[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_ERR_PARSE, TEAMSOP_OK};
  unreadable_case("inner body not an operation",
                  "{\"status\":200,\"json\":{\"responses\":["
                  "{\"id\":\"1\",\"status\":200,\"body\":[1,2,3]},"
                  "{\"id\":\"2\",\"status\":200,\"headers\":{\"Content-Type\":\"text/plain\"},"
                  "\"body\":\"aGVsbG8=\"}," INNER_OK("3") "]}}",
                  want, 0);
  /* No body for a 200; a 403; a status that is no HTTP status. */
  const teamsop_result mixed[3] = {TEAMSOP_ERR_PARSE, TEAMSOP_ERR_FORBIDDEN, TEAMSOP_ERR_PARSE};
  unreadable_case("inner statuses",
                  "{\"status\":200,\"json\":{\"responses\":["
                  "{\"id\":\"1\",\"status\":200},"
                  "{\"id\":\"2\",\"status\":403,\"body\":{\"error\":{\"code\":\"Forbidden\"}}},"
                  "{\"id\":\"3\",\"status\":99999,\"body\":null}]}}",
                  mixed, 0);
}

TEST(test_batch_answer_over_the_body_cap) {
  const teamsop_result large[3] = {TEAMSOP_ERR_TOO_LARGE, TEAMSOP_ERR_TOO_LARGE,
                                   TEAMSOP_ERR_TOO_LARGE};
  /* Over the default cap (1 MiB), announced and streamed. */
  unreadable_case("over 1 MiB",
                  "{\"status\":200,\"generate\":{\"prefix\":\"{\\\"responses\\\":[\",\"repeat\":"
                  "\" \",\"count\":1100000,\"suffix\":\"]}\"}}",
                  large, 0);
  unreadable_case("over 1 MiB, chunked",
                  "{\"status\":200,\"chunked\":true,\"generate\":{\"prefix\":\"{\\\"responses\\\":"
                  "[\",\"repeat\":\" \",\"count\":1100000,\"suffix\":\"]}\"}}",
                  large, 0);
  /* A well-formed answer over a smaller cap set on the client. */
  unreadable_case("over the client's cap",
                  "{\"status\":200,\"json\":{\"responses\":[" INNER_OK("1") "," INNER_OK(
                      "2") "," INNER_OK("3") "]}}",
                  large, 64);
}

/* ======================================================================== */
/*                    $batch requests that fail as a whole                  */
/* ======================================================================== */

/* Runs 3 operations with the $batch path scripted by `scenario`; returns the
 * result of the run; `r` gets the reports. */
static teamsop_result failing_batch(const char *scenario, uint32_t retries, struct reports *r,
                                    teamsop_batch **out_b, teamsop_client **out_c) {
  emu_reset();
  load(scenario);
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_retries(c, retries), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 3, 0);
  teamsop_result result = teamsop_batch_run(b, 30000, on_done, r, NULL);
  *out_b = b;
  *out_c = c;
  return result;
}

TEST(test_failing_batch_is_retried_then_ends_the_run) {
  struct reports *r = reports_new();
  teamsop_batch *b;
  teamsop_client *c;
  /* 429 for the whole $batch: every GET pauses for its Retry-After, then on. */
  double t0 = now_s();
  CHECK_RESULT(
      failing_batch("{\"path\":\"/beta/$batch\",\"responses\":[" GRAPH_ERROR(
                        429, "TooManyRequests", "slow") "],\"after\":\"fallthrough\"}",
                    3, r, &b, &c),
      TEAMSOP_OK);
  check_each_once(r, 3);
  CHECK(now_s() - t0 >= 0.0);
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.batches, 2);
  CHECK_EQ_INT(s.throttled, 1);
  teamsop_batch_free(b);
  teamsop_client_free(c);
  emu_reset();
  load("{\"path\":\"/beta/$batch\",\"responses\":[{\"status\":429,\"headers\":{\"Retry-After\":"
       "\"1\"}}],\"after\":\"fallthrough\"}");
  c = new_client();
  b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 3, 0);
  memset(r, 0, sizeof *r);
  t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 3);
  CHECK(now_s() - t0 >= 1.0);
  teamsop_batch_free(b);
  teamsop_client_free(c);

  /* 503 twice, then answered: within the retries. */
  memset(r, 0, sizeof *r);
  CHECK_RESULT(failing_batch("{\"path\":\"/beta/$batch\",\"responses\":[" GRAPH_ERROR(
                                 503, "ServiceUnavailable", "busy") "," GRAPH_ERROR(
                                 503, "ServiceUnavailable", "busy") "],\"after\":\"fallthrough\"}",
                             3, r, &b, &c),
               TEAMSOP_OK);
  check_each_once(r, 3);
  s = stats();
  CHECK_EQ_INT(s.batches, 3);
  teamsop_batch_free(b);
  teamsop_client_free(c);

  /* Each failure that lasts: the run ends with it after the retries, nothing
   * reported, all still pending; a second run, the server mended, ends them. */
  const struct {
    const char *response;
    uint32_t retries;
    teamsop_result want;
    int http_status;
    int tries;
  } lasting[] = {
      {GRAPH_ERROR(500, "InternalServerError", "down"), 2, TEAMSOP_ERR_HTTP, 500, 3},
      {GRAPH_ERROR(502, "BadGateway", "down"), 1, TEAMSOP_ERR_HTTP, 502, 2},
      {GRAPH_ERROR(429, "TooManyRequests", "slow"), 1, TEAMSOP_ERR_THROTTLED, 429, 2},
      {"{\"fault\":\"reset\"}", 2, TEAMSOP_ERR_TRANSPORT, 0, 3},
      {"{\"status\":200,\"fault\":\"close_mid_body\",\"json\":{\"responses\":[]}}", 1,
       TEAMSOP_ERR_TRANSPORT, 200, 2},
      {GRAPH_ERROR(401, "InvalidAuthenticationToken", "no"), 3, TEAMSOP_ERR_UNAUTHORIZED, 401, 1},
      {GRAPH_ERROR(400, "BadRequest", "malformed"), 3, TEAMSOP_ERR_HTTP, 400, 1},
      {GRAPH_ERROR(404, "NotFound", "no $batch here"), 3, TEAMSOP_ERR_NOT_FOUND, 404, 1},
  };
  for (size_t i = 0; i < sizeof lasting / sizeof lasting[0]; i++) {
    char scenario[512];
    snprintf(scenario, sizeof scenario,
             "{\"path\":\"/beta/$batch\",\"responses\":[%s],\"after\":\"repeat_last\"}",
             lasting[i].response);
    memset(r, 0, sizeof *r);
    teamsop_result got = failing_batch(scenario, lasting[i].retries, r, &b, &c);
    if (!CHECK_RESULT(got, lasting[i].want)) {
      CHECK_NOTE("case %zu: %s", i, lasting[i].response);
    }
    CHECK_EQ_INT(teamsop_last_http_status(), lasting[i].http_status);
    CHECK_EQ_INT(r->total, 0);
    CHECK_EQ_INT(teamsop_batch_pending(b), 3);
    s = stats();
    if (!CHECK_EQ_INT(s.batches, lasting[i].tries)) {
      CHECK_NOTE("case %zu: %s", i, lasting[i].response);
    }
    clear_scenarios();
    CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
    check_each_once(r, 3);
    teamsop_batch_free(b);
    teamsop_client_free(c);
  }
  reports_free(r);
}

/* API.md: a pause that would end past the deadline ends the call at once with
 * the result of the last answer (THROTTLED for a 429); a failing $batch is
 * retried as a GET would be. So a run whose 429 (for the whole $batch, for one
 * request in it, or for a GET when batching is off) asks for longer than its
 * deadline leaves ends now, nothing reported, everything still pending; a 503
 * whose Retry-After outlasts the deadline ends it with that 503. */
TEST(test_a_pause_past_the_deadline_ends_the_run_at_once) {
#define SLOW_429                                                                                   \
  "{\"status\":429,\"headers\":{\"Retry-After\":\"30\"},\"json\":{\"error\":{\"code\":"             \
  "\"TooManyRequests\",\"message\":\"slow down\"}}}"
#define SLOW_503                                                                                   \
  "{\"status\":503,\"headers\":{\"Retry-After\":\"30\"},\"json\":{\"error\":{\"code\":"             \
  "\"ServiceUnavailable\",\"message\":\"busy\"}}}"
  const struct {
    const char *what;
    const char *scenario; /* NULL: the inner answers below */
    bool batching;
    teamsop_result want;
    int http_status;
  } cases[] = {
      {"the whole $batch answered 429",
       "{\"path\":\"/beta/$batch\",\"responses\":[" SLOW_429 "],\"after\":\"repeat_last\"}", true,
       TEAMSOP_ERR_THROTTLED, 429},
      {"the whole $batch answered 503",
       "{\"path\":\"/beta/$batch\",\"responses\":[" SLOW_503 "],\"after\":\"repeat_last\"}", true,
       TEAMSOP_ERR_HTTP, 503},
      {"one request in the $batch answered 429", NULL, true, TEAMSOP_ERR_THROTTLED, 429},
      {"a GET answered 429, batching off", NULL, false, TEAMSOP_ERR_THROTTLED, 429},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    emu_reset();
    if (cases[i].scenario != NULL) {
      load(cases[i].scenario);
    } else {
      script("/beta/teams/slow/operations/a", "[" SLOW_429 "]");
    }
    teamsop_client *c = new_client();
    teamsop_batch *b = new_batch(c, 100);
    CHECK_RESULT(teamsop_batch_set_json_batching(b, cases[i].batching), TEAMSOP_OK);
    CHECK_RESULT(teamsop_batch_add(b, "/teams('slow')/operations('a')", 0), TEAMSOP_OK);
    add_copies(b, TEAM_SUCCEEDED, 2, 1);
    struct reports *r = reports_new();
    double t0 = now_s();
    teamsop_result got = teamsop_batch_run(b, 5000, on_done, r, NULL);
    double took = now_s() - t0;
    if (!CHECK_RESULT(got, cases[i].want)) {
      CHECK_NOTE("%s: %s", cases[i].what, teamsop_last_error_message());
    }
    CHECK_EQ_INT(teamsop_last_http_status(), cases[i].http_status);
    const char *message = teamsop_last_error_message();
    CHECK(message != NULL && strstr(message, "Retry-After of 30 s would end past") != NULL);
    if (!CHECK(took < limit_s(1.5))) {
      CHECK_NOTE("%s: %.3f s", cases[i].what, took);
    }
    /* The throttled operation stays pending; the copies of the succeeded one
     * answered alongside it (in the same $batch) are reported, and only them. */
    CHECK(teamsop_batch_pending(b) >= 1);
    CHECK_EQ_INT((int)teamsop_batch_pending(b) + r->total, 3);
    CHECK_EQ_INT(r->count[0], 0);
    for (int tag = 1; tag <= 2; tag++) {
      CHECK(r->count[tag] == 0 || r->result[tag] == TEAMSOP_OK);
    }
    if (cases[i].scenario != NULL) {
      CHECK_EQ_INT(r->total, 0); /* the $batch itself failed: nothing was read */
    }
    reports_free(r);
    teamsop_batch_free(b);
    teamsop_client_free(c);
  }
#undef SLOW_429
#undef SLOW_503
}

TEST(test_a_server_resetting_every_third_batch) {
  emu_reset();
  /* Every third $batch is reset; the others answer all 20 ids. */
  char answer[8192];
  size_t o = (size_t)snprintf(answer, sizeof answer, "{\"status\":200,\"json\":{\"responses\":[");
  for (int id = 1; id <= 20; id++) {
    o += (size_t)snprintf(answer + o, sizeof answer - o,
                          "%s{\"id\":\"%d\",\"status\":200,\"body\":{\"id\":\"o%d\",\"status\":"
                          "\"succeeded\"}}",
                          id > 1 ? "," : "", id, id);
  }
  snprintf(answer + o, sizeof answer - o, "]}}");
  size_t len = 2 * strlen(answer) + 256;
  char *scenario = malloc(len);
  snprintf(scenario, len,
           "{\"path\":\"/beta/$batch\",\"responses\":[%s,%s,{\"fault\":\"reset\"}],\"after\":"
           "\"cycle\"}",
           answer, answer);
  load(scenario);
  free(scenario);
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 40);
  for (int i = 0; i < 100; i++) {
    char location[96];
    snprintf(location, sizeof location, "/teams('cycle')/operations('op-%d')", i);
    CHECK_RESULT(teamsop_batch_add(b, location, (uint64_t)i), TEAMSOP_OK);
  }
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 100);
  for (int i = 0; i < 100; i++) {
    CHECK_EQ_INT(r->status[i], TEAMSOP_STATUS_SUCCEEDED);
  }
  /* 5 $batches of 20, and one more for each of the two resets among them. */
  struct emu_batch_stats s = stats();
  CHECK_EQ_INT(s.batches, 7);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* ======================================================================== */
/*                               ending a run                               */
/* ======================================================================== */

/* A run of 5 operations cancelled `delay_s` after it starts, with the $batch
 * path scripted by `scenario`; checks the latency and that all stay pending,
 * then that a second run (scenarios cleared) ends them. */
static void cancelled_run(const char *what, const char *scenario, double delay_s, bool batching) {
  emu_reset();
  if (scenario != NULL) {
    load(scenario);
  }
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  CHECK_RESULT(teamsop_batch_set_json_batching(b, batching), TEAMSOP_OK);
  add_copies(b, TEAM_SUCCEEDED, 5, 0);
  teamsop_cancel *cancel = teamsop_cancel_new();
  struct reports *r = reports_new();
  struct trigger t;
  trigger_start(&t, cancel, delay_s);
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, cancel), TEAMSOP_ERR_CANCELLED);
  double returned = now_s();
  pthread_join(t.thread, NULL);
  double latency = returned - t.at;
  if (!CHECK(latency <= limit_s(CANCEL_LIMIT_S))) {
    CHECK_NOTE("%s: returned %.1f ms after the trigger", what, latency * 1000);
  }
  CHECK_EQ_INT(teamsop_batch_pending(b), 5 - r->total);
  int reported = r->total;
  /* The same trigger still pulled: a run ends at once, nothing sent. */
  struct emu_batch_stats before = stats();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, cancel), TEAMSOP_ERR_CANCELLED);
  struct emu_batch_stats after = stats();
  CHECK_EQ_INT(after.requests, before.requests);
  teamsop_cancel_free(cancel);
  clear_scenarios();
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 5);
  CHECK_EQ_INT(teamsop_batch_pending(b), 0);
  (void)reported;
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_cancel_in_a_batch_in_flight) {
  cancelled_run("in a $batch",
                "{\"path\":\"/beta/$batch\",\"responses\":[{\"status\":200,\"delay_ms\":20000,"
                "\"json\":{\"responses\":[]}}]}",
                0.3, true);
  cancelled_run("in a GET, batching off",
                "{\"path\":\"/beta/teams/" TEAM "/operations/create-succeeded\",\"responses\":["
                "{\"status\":200,\"delay_ms\":20000,\"json\":{\"status\":\"succeeded\"}}]}",
                0.3, false);
}

TEST(test_cancel_in_a_pause) {
  /* A 429 for the whole $batch asks for 3 s: cancelled in that pause (the next
   * run then waits out the rest of it). */
  cancelled_run("in a 429's pause",
                "{\"path\":\"/beta/$batch\",\"responses\":[{\"status\":429,\"headers\":{"
                "\"Retry-After\":\"3\"}}]}",
                0.5, true);
  /* A reset, then the backoff before the retry; the trigger comes meanwhile. */
  cancelled_run("in a backoff", "{\"path\":\"/beta/$batch\",\"responses\":[{\"fault\":\"reset\"}]}",
                0.05, true);
}

TEST(test_cancel_between_polls_and_before_the_run) {
  emu_reset();
  script("/beta/teams/wait/operations/long", "[" OP_JSON("inProgress") "]");
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 5000), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('wait')/operations('long')", 0), TEAMSOP_OK);
  teamsop_cancel *cancel = teamsop_cancel_new();
  struct trigger t;
  trigger_start(&t, cancel, 0.5);
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, NULL, cancel), TEAMSOP_ERR_CANCELLED);
  double latency = now_s() - t.at;
  pthread_join(t.thread, NULL);
  CHECK(latency <= limit_s(CANCEL_LIMIT_S));
  CHECK_EQ_INT(teamsop_batch_pending(b), 1);
  teamsop_cancel_free(cancel);
  /* Pulled before the run: nothing is sent. */
  emu_reset();
  cancel = teamsop_cancel_new();
  teamsop_cancel_trigger(cancel);
  add_copies(b, TEAM_SUCCEEDED, 3, 1);
  CHECK_RESULT(teamsop_batch_run(b, 60000, on_done, NULL, cancel), TEAMSOP_ERR_CANCELLED);
  CHECK_EQ_INT(stats().requests, 0);
  CHECK_EQ_INT(teamsop_batch_pending(b), 4);
  teamsop_cancel_free(cancel);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_deadline_ends_the_run_promptly) {
  emu_reset();
  script("/beta/teams/dl/operations/forever", "[" OP_JSON("inProgress") "]");
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 200), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  for (int i = 0; i < 6; i++) {
    CHECK_RESULT(teamsop_batch_add(b, "/teams('dl')/operations('forever')", (uint64_t)i),
                 TEAMSOP_OK);
  }
  struct reports *r = reports_new();
  double t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 1200, on_done, r, NULL), TEAMSOP_ERR_TIMEOUT);
  double took = now_s() - t0;
  CHECK(took >= 1.19);
  if (!CHECK(took <= 1.2 + limit_s(0.15))) {
    CHECK_NOTE("the run took %.3f s", took);
  }
  CHECK(strstr(teamsop_last_error_message(), "6 operation") != NULL);
  CHECK_EQ_INT(r->total, 0);
  CHECK_EQ_INT(teamsop_batch_pending(b), 6);
  /* In a $batch that takes long: cut at the deadline. */
  load("{\"path\":\"/beta/$batch\",\"responses\":[{\"status\":200,\"delay_ms\":20000,"
       "\"json\":{\"responses\":[]}}],\"after\":\"fallthrough\"}");
  t0 = now_s();
  CHECK_RESULT(teamsop_batch_run(b, 800, on_done, r, NULL), TEAMSOP_ERR_TIMEOUT);
  took = now_s() - t0;
  CHECK(took >= 0.79);
  CHECK(took <= 0.8 + limit_s(0.15));
  CHECK_EQ_INT(teamsop_batch_pending(b), 6);
  /* The operations end: a second run reports them all. */
  clear_scenarios();
  script("/beta/teams/dl/operations/forever", "[" OP_JSON("succeeded") "]");
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 6);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_on_done_returning_false_stops_the_run) {
  for (int batching = 1; batching >= 0; batching--) {
    emu_reset();
    teamsop_client *c = new_client();
    teamsop_batch *b = new_batch(c, 100);
    CHECK_RESULT(teamsop_batch_set_json_batching(b, batching != 0), TEAMSOP_OK);
    add_copies(b, TEAM_SUCCEEDED, 10, 0);
    struct reports *r = reports_new();
    r->stop_at = 3;
    CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_ERR_CANCELLED);
    CHECK(strstr(teamsop_last_error_message(), "on_done") != NULL);
    /* That one counts as reported; the others stay pending. */
    CHECK_EQ_INT(r->total, 3);
    CHECK_EQ_INT(teamsop_batch_pending(b), 7);
    r->stop_at = 0;
    CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
    check_each_once(r, 10);
    CHECK_EQ_INT(teamsop_batch_pending(b), 0);
    reports_free(r);
    teamsop_batch_free(b);
    teamsop_client_free(c);
  }
  /* Stopping while an unreadable answer is reported to each of its operations. */
  emu_reset();
  script_batch_once("{\"status\":200,\"body\":\"not json\"}");
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 4, 0);
  struct reports *r = reports_new();
  r->stop_at = 2;
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_ERR_CANCELLED);
  CHECK_EQ_INT(r->total, 2);
  CHECK_EQ_INT(r->result[0], TEAMSOP_ERR_PARSE);
  CHECK_EQ_INT(teamsop_batch_pending(b), 2);
  r->stop_at = 0;
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 4);
  CHECK_EQ_INT(r->result[3], TEAMSOP_OK);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* on_done calling back into the library. */
static const teamsop_client *g_reentry_client;
static int g_reentry_checks;

static void call_back_in(struct reports *r, uint64_t tag, teamsop_result result) {
  teamsop_batch *own = r->own;
  /* First what the library told about this operation: teamsop_last_*. */
  if (result != TEAMSOP_OK) {
    CHECK(strstr(teamsop_last_error_message(), "no access") != NULL);
    CHECK_EQ_INT(teamsop_last_http_status(), 403);
    CHECK_STREQ(teamsop_last_graph_code(), "Forbidden");
    CHECK(is_guid(teamsop_last_client_request_id()));
  }
  size_t pending = teamsop_batch_pending(own);
  /* Changing, running or freeing its own batch: refused, or nothing. */
  CHECK_RESULT(teamsop_batch_add(own, TEAM_SUCCEEDED, 1000), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK(strstr(teamsop_last_error_message(), "on_done") != NULL);
  CHECK_RESULT(teamsop_batch_set_max_gets_per_second(own, 5), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_batch_set_json_batching(own, false), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_batch_run(own, 1000, on_done, r, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  teamsop_batch_free(own);
  CHECK_EQ_INT(teamsop_batch_pending(own), pending);
  /* Anything else: a GET on the same client, another batch run to its end. */
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get_location(g_reentry_client, TEAM_FAILED, &op), TEAMSOP_OK);
  teamsop_free(op);
  if (tag == 0) {
    teamsop_batch *other = teamsop_batch_new(g_reentry_client);
    CHECK_RESULT(teamsop_batch_add(other, TEAM_FAILED, 5), TEAMSOP_OK);
    CHECK_RESULT(teamsop_batch_run(other, 10000, NULL, NULL, NULL), TEAMSOP_OK);
    CHECK_EQ_INT(teamsop_batch_pending(other), 0);
    teamsop_batch_free(other);
  }
  g_reentry_checks++;
}

TEST(test_on_done_calling_back_into_the_library) {
  emu_reset();
  script("/beta/teams/re/operations/forbidden", "[" GRAPH_ERROR(403, "Forbidden", "no access") "]");
  teamsop_client *c = new_client();
  g_reentry_client = c;
  g_reentry_checks = 0;
  teamsop_batch *b = new_batch(c, 100);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 0), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('re')/operations('forbidden')", 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 2), TEAMSOP_OK);
  struct reports *r = reports_new();
  r->own = b;
  r->also = call_back_in;
  /* A failure before the run: a run that succeeds leaves it as it was. */
  CHECK_RESULT(teamsop_batch_add(b, "/not/a/location", 9), TEAMSOP_ERR_INVALID_ARGUMENT);
  char *before = strdup(teamsop_last_error_message());
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  CHECK_STREQ(teamsop_last_error_message(), before);
  free(before);
  check_each_once(r, 3);
  CHECK_EQ_INT(r->result[1], TEAMSOP_ERR_FORBIDDEN);
  CHECK_EQ_INT(g_reentry_checks, 3);
  /* The batch lives on and works: add and run again. */
  r->also = NULL;
  CHECK_RESULT(teamsop_batch_add(b, TEAM_SUCCEEDED, 3), TEAMSOP_OK);
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 4);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

/* ======================================================================== */
/*                          threads, memory, logs                           */
/* ======================================================================== */

#define THREADS 8
#define PER_THREAD 40

struct thread_job {
  const teamsop_client *client;
  char **locations;
  struct reports *reports;
  teamsop_result result;
};

static void *thread_main(void *arg) {
  struct thread_job *job = arg;
  teamsop_batch *b = teamsop_batch_new(job->client);
  if (b == NULL) {
    job->result = TEAMSOP_ERR_INTERNAL;
    return NULL;
  }
  teamsop_batch_set_max_gets_per_second(b, 40);
  for (int i = 0; i < PER_THREAD; i++) {
    teamsop_batch_add(b, job->locations[i], (uint64_t)i);
  }
  job->result = teamsop_batch_run(b, 60000, on_done, job->reports, NULL);
  teamsop_batch_free(b);
  return NULL;
}

TEST(test_eight_batches_on_eight_threads_share_one_client) {
  emu_reset();
  size_t n = 0;
  char **locations = create("{\"count\":320,\"duration_ms\":{\"min\":0,\"max\":2000},"
                            "\"outcome\":{\"succeeded\":2,\"failed\":1,\"invalid\":1},\"seed\":21}",
                            &n);
  CHECK_EQ_INT(n, THREADS * PER_THREAD);
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 200), TEAMSOP_OK);
  pthread_t threads[THREADS];
  struct thread_job jobs[THREADS];
  for (int t = 0; t < THREADS; t++) {
    jobs[t].client = c;
    jobs[t].locations = locations + t * PER_THREAD;
    jobs[t].reports = reports_new();
    jobs[t].result = TEAMSOP_ERR_INTERNAL;
    CHECK_EQ_INT(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(threads[t], NULL);
    CHECK_RESULT(jobs[t].result, TEAMSOP_OK);
    check_each_once(jobs[t].reports, PER_THREAD);
    check_outcomes(jobs[t].reports, jobs[t].locations, PER_THREAD);
    reports_free(jobs[t].reports);
  }
  struct emu_batch_stats s = stats();
  if (!CHECK(s.busiest_second <= THREADS * 40)) {
    CHECK_NOTE("busiest second %lld", s.busiest_second);
  }
  CHECK_EQ_INT(s.throttled, 0);
  teamsop_client_free(c);
  emu_free_strings(locations, n);
}

/* Resident memory of this process, in bytes (/proc/self/statm). */
static long rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL) {
    return -1;
  }
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) {
    resident = -1;
  }
  fclose(f);
  return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* `count` adds of GUID-shaped team operations (as Graph's Locations are). */
static void add_many(teamsop_batch *b, long count) {
  for (long i = 0; i < count; i++) {
    char location[128];
    snprintf(location, sizeof location,
             "/teams('%08lx-4792-4def-b2c9-c363a1bf41d5')/operations('%08lx-0abd-43db-aa7b-"
             "16eadd115d34')",
             (unsigned long)i, (unsigned long)(i * 7919));
    if (teamsop_batch_add(b, location, (uint64_t)i) != TEAMSOP_OK) {
      CHECK_RESULT(teamsop_batch_add(b, location, (uint64_t)i), TEAMSOP_OK);
      return;
    }
  }
}

TEST(test_many_pending_operations_in_bounded_memory) {
  teamsop_client *c = new_client();
  /* Warm up: the allocator's arenas and the first batch's tables. */
  teamsop_batch *warm = new_batch(c, 0);
  add_many(warm, 1000);
  teamsop_batch_free(warm);
  long before = rss_bytes();
  double t0 = now_s();
  teamsop_batch *b = new_batch(c, 0);
  add_many(b, g_many);
  double took = now_s() - t0;
  long after = rss_bytes();
  CHECK_EQ_INT(teamsop_batch_pending(b), g_many);
  double per_op = (double)(after - before) / (double)g_many;
  printf("    %ld operations pending: RSS +%.1f MiB, %.0f bytes each, added in %.2f s\n", g_many,
         (double)(after - before) / 1048576.0, per_op, took);
  /* A pending operation keeps its path, tag and pacing: a few hundred bytes. */
  if (g_rss_check) {
    CHECK(per_op <= 400.0);
  }
  teamsop_batch_free(b);
  /* Freed, and again: the second round reuses what the first gave back. */
  long freed = rss_bytes();
  b = new_batch(c, 0);
  add_many(b, g_many);
  teamsop_batch_free(b);
  long again = rss_bytes();
  printf("    after free: RSS %.1f MiB; after a second round: %.1f MiB\n",
         (double)freed / 1048576.0, (double)again / 1048576.0);
  if (g_rss_check) {
    CHECK(again - before <= (after - before) + (long)(g_many * 50));
  }
  teamsop_client_free(c);
}

TEST(test_log_lines_of_a_run) {
  emu_reset();
  script("/beta/teams/log/operations/gone", "[" GRAPH_ERROR(403, "Forbidden", "no") "]");
  teamsop_client *c = new_client();
  struct lines lines = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, {0}};
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &lines), TEAMSOP_OK);
  teamsop_batch *b = new_batch(c, 100);
  add_copies(b, TEAM_SUCCEEDED, 4, 0);
  CHECK_RESULT(teamsop_batch_add(b, "/teams('log')/operations('gone')", 4), TEAMSOP_OK);
  struct reports *r = reports_new();
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_OK);
  check_each_once(r, 5);
  /* One INFO line for the $batch with its inner count; a DEBUG line per inner
   * request; a WARN line for the operation ending in an error; no ERROR. */
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_INFO, "POST "), 1);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_INFO, "$batch (5 requests)"), 1);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_DEBUG, "/operations/create-succeeded -> 200"), 4);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_DEBUG, "/teams/log/operations/gone -> 403"), 1);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_WARN, "operation 4 ended with an error (forbidden)"),
               1);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_ERROR, ""), 0);
  /* A run that ends in an error: an ERROR line. */
  add_copies(b, TEAM_SUCCEEDED, 2, 0);
  load("{\"path\":\"/beta/$batch\",\"responses\":[" GRAPH_ERROR(400, "BadRequest", "no") "]}");
  CHECK_RESULT(teamsop_batch_run(b, 30000, on_done, r, NULL), TEAMSOP_ERR_HTTP);
  CHECK_EQ_INT(lines_with(&lines, TEAMSOP_LOG_ERROR, "batch run"), 1);
  for (int i = 0; i < lines.count; i++) {
    CHECK(strstr(lines.text[i], g_token) == NULL);
  }
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, NULL, NULL), TEAMSOP_OK);
  lines_free(&lines);
  reports_free(r);
  teamsop_batch_free(b);
  teamsop_client_free(c);
}

TEST(test_free_with_operations_pending) {
  emu_reset();
  teamsop_client *c = new_client();
  teamsop_batch *b = new_batch(c, 0);
  add_copies(b, TEAM_SUCCEEDED, 50, 0);
  CHECK_EQ_INT(teamsop_batch_pending(b), 50);
  teamsop_batch_free(b); /* not reported, nothing leaked (valgrind, ASan) */
  /* Several batches on one client, freed in any order, the client last. */
  teamsop_batch *x = new_batch(c, 0), *y = new_batch(c, 0);
  add_copies(x, TEAM_SUCCEEDED, 2, 0);
  add_copies(y, TEAM_SUCCEEDED, 2, 0);
  teamsop_batch_free(x);
  CHECK_RESULT(teamsop_batch_run(y, 10000, NULL, NULL, NULL), TEAMSOP_OK);
  teamsop_batch_free(y);
  teamsop_client_free(c);
}

static check_test g_tests[] = {
    CHECK_TEST_ENTRY(test_null_handles_everywhere),
    CHECK_TEST_ENTRY(test_bad_locations_add_nothing),
    CHECK_TEST_ENTRY(test_location_forms_and_tags),
    CHECK_TEST_ENTRY(test_extreme_tags_come_back_as_given),
    CHECK_TEST_ENTRY(test_rate_bounds),
    CHECK_TEST_ENTRY(test_default_rate_is_10),
    CHECK_TEST_ENTRY(test_groups_of_at_most_20_and_a_lone_operation_alone),
    CHECK_TEST_ENTRY(test_batch_body_headers_and_select),
    CHECK_TEST_ENTRY(test_each_version_in_a_batch_of_its_own),
    CHECK_TEST_ENTRY(test_every_operation_reported_once),
    CHECK_TEST_ENTRY(test_batching_on_and_off),
    CHECK_TEST_ENTRY(test_first_poll_at_once_then_paced_as_a_wait),
    CHECK_TEST_ENTRY(test_retry_after_on_inner_answers),
    CHECK_TEST_ENTRY(test_soonest_due_first),
    CHECK_TEST_ENTRY(test_busiest_second_never_above_the_rate),
    CHECK_TEST_ENTRY(test_inner_429_pauses_every_get_and_lowers_the_rate),
    CHECK_TEST_ENTRY(test_server_limiting_at_half_the_rate),
    CHECK_TEST_ENTRY(test_inner_errors_end_their_operation),
    CHECK_TEST_ENTRY(test_inner_401_renews_the_token_once_per_operation),
    CHECK_TEST_ENTRY(test_404_grace_counts_from_the_first_poll),
    CHECK_TEST_ENTRY(test_batch_answer_not_json),
    CHECK_TEST_ENTRY(test_batch_answer_without_responses),
    CHECK_TEST_ENTRY(test_batch_answer_repeats_or_omits_an_id),
    CHECK_TEST_ENTRY(test_batch_answer_with_an_unknown_id_or_numbers),
    CHECK_TEST_ENTRY(test_batch_answer_inner_body_not_an_operation),
    CHECK_TEST_ENTRY(test_batch_answer_over_the_body_cap),
    CHECK_TEST_ENTRY(test_failing_batch_is_retried_then_ends_the_run),
    CHECK_TEST_ENTRY(test_a_pause_past_the_deadline_ends_the_run_at_once),
    CHECK_TEST_ENTRY(test_a_server_resetting_every_third_batch),
    CHECK_TEST_ENTRY(test_cancel_in_a_batch_in_flight),
    CHECK_TEST_ENTRY(test_cancel_in_a_pause),
    CHECK_TEST_ENTRY(test_cancel_between_polls_and_before_the_run),
    CHECK_TEST_ENTRY(test_deadline_ends_the_run_promptly),
    CHECK_TEST_ENTRY(test_on_done_returning_false_stops_the_run),
    CHECK_TEST_ENTRY(test_on_done_calling_back_into_the_library),
    CHECK_TEST_ENTRY(test_eight_batches_on_eight_threads_share_one_client),
    CHECK_TEST_ENTRY(test_many_pending_operations_in_bounded_memory),
    CHECK_TEST_ENTRY(test_log_lines_of_a_run),
    CHECK_TEST_ENTRY(test_free_with_operations_pending),
};

int main(int argc, char **argv) {
  int status = check_parse_args(argc, argv, "test_batch", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe("SIGPIPE raised", NULL);
  struct emu_env env = emu_env_plain_http("test_batch");
  g_base_url = env.base_url;
  g_token = env.token;
  g_port = env.port;
  g_time_factor = test_time_factor();
  const char *rss = getenv("TEAMSOP_TEST_RSS_CHECK");
  g_rss_check = rss == NULL || strcmp(rss, "0") != 0;
  const char *many = getenv("TEAMSOP_TEST_MANY");
  if (many != NULL && atol(many) > 0) {
    g_many = atol(many);
  }
  test_set_secrets(g_token, NULL, 0);

  double t0 = now_s();
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  printf("test_batch: %.2f s\n", now_s() - t0);
  return CHECK_SUMMARY();
}
