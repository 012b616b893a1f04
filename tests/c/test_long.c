/*
 * test_long.c: unattended long runs, from C through the ABI (issue "Unattended
 * long runs: tokens that renew themselves, a log, cancel from another thread").
 * Each rule of docs/API.md's "Cancelling from another thread", "Tokens that renew
 * themselves" and "Seeing what the library does", against the emulator:
 *
 *   - cancel: a trigger from another thread ends teamsop_wait_cancellable within
 *     100 ms wherever it is (in a GET, in a retry's pause, between polls); a
 *     trigger pulled before the call sends nothing; NULL cancel is teamsop_wait;
 *     NULL handles; many triggers; a trigger from inside on_poll; the client
 *     fully usable afterwards; and a latency measurement over 100 tries;
 *   - token provider: renewal before expiry (tokens minted by the emulator with
 *     a lifetime), one renewal and one resend after a 401 with the CAE claims
 *     handed over exactly, no 401 loop, never two provider calls at once, bad
 *     answers, a provider that blocks past the client timeout or calls back into
 *     the library, removing it, and the token never in a message, a log line or
 *     a request to another host;
 *   - log: the levels and what each line carries (the request ids checked against
 *     the emulator's record), bad levels, logging off (TEAMSOP_LOG included), a
 *     callback that asks for the last error, TEAMSOP_LOG in a child process's
 *     stderr, and lines that never hold the token, even a one-character one.
 *
 * Run it under scripts/with-emulator.sh (plain http: it drives the emulator
 * through emulator_control.h):
 *
 *   scripts/with-emulator.sh -- out/test_long [NAME...]
 *
 * It loads its scenarios itself, and resets the emulator before each test.
 * TEAMSOP_TEST_TIME_FACTOR (default 1) multiplies every time limit, for runs
 * under valgrind. Exit status 0 when every check passed.
 */
#include <errno.h>
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
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
#include "emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; now_s, CHECK_RESULT,
 * test_client_ready. */
#include "test_support.h"

static const char *g_base_url; /* TEAMSOP_BASE_URL */
static const char *g_token;    /* TEAMSOP_TOKEN: the emulator's configured token */
static int g_port;             /* the emulator's port */
static char *g_self;           /* this program, for the TEAMSOP_LOG child */
static double g_time_factor = 1.0;

/* The promise of teamsop_cancel_trigger: the call returns within this. */
#define CANCEL_LIMIT_S 0.100
/* How many tries the latency measurement makes. */
#define LATENCY_TRIES 100

/* A team operation the emulator serves through its token check (succeeded). */
#define TEAM "8b081ef6-4792-4def-b2c9-c363a1bf41d5"
#define TEAM_OP "create-succeeded"
#define TEAM_OP_PATH "/beta/teams/" TEAM "/operations/" TEAM_OP
/* Claims demanded by a revocation, handed to the provider decoded. */
#define CAE_CLAIMS                                                                                 \
  "{\"access_token\":{\"nbf\":{\"essential\":true,\"value\":\"1604106651\"},"                     \
  "\"xms_cc\":{\"values\":[\"cp1\"]}}}"

/* Scripted answers come before the token check: these answer whatever the token. */
static const char *const k_scenarios =
    "["
    "{\"path\":\"/beta/teams/long/operations/slow\",\"responses\":[{\"status\":200,"
    "\"delay_ms\":30000,\"json\":{\"id\":\"slow\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/throttled\",\"responses\":[{\"status\":429,"
    "\"headers\":{\"Retry-After\":\"30\"},"
    "\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Slow down\"}}}]},"
    "{\"path\":\"/beta/teams/long/operations/progress\",\"responses\":[{\"status\":200,"
    "\"json\":{\"id\":\"progress\",\"status\":\"inProgress\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/done\",\"responses\":[{\"status\":200,"
    "\"headers\":{\"request-id\":\"rid-done\"},"
    "\"json\":{\"id\":\"done\",\"status\":\"succeeded\"}}]},"
    /* Retried at once (Retry-After: 0), then with a pause of a second. */
    "{\"path\":\"/beta/teams/long/operations/retried\",\"responses\":["
    "{\"status\":429,\"headers\":{\"Retry-After\":\"0\",\"request-id\":\"rid-1\"},"
    "\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Slow down\"}}},"
    "{\"status\":503,\"headers\":{\"Retry-After\":\"0\",\"request-id\":\"rid-2\"},"
    "\"json\":{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"Busy\"}}},"
    "{\"status\":200,\"headers\":{\"request-id\":\"rid-3\"},"
    "\"json\":{\"id\":\"retried\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/paced\",\"responses\":["
    "{\"status\":429,\"headers\":{\"Retry-After\":\"1\"},"
    "\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Slow down\"}}},"
    "{\"status\":503,\"headers\":{\"Retry-After\":\"1\"},"
    "\"json\":{\"error\":{\"code\":\"ServiceUnavailable\",\"message\":\"Busy\"}}},"
    "{\"status\":200,\"json\":{\"id\":\"paced\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/late\",\"responses\":["
    "{\"status\":404,\"json\":{\"error\":{\"code\":\"NotFound\",\"message\":\"No such operation\"}}},"
    "{\"status\":200,\"json\":{\"id\":\"late\",\"status\":\"inProgress\"}},"
    "{\"status\":200,\"json\":{\"id\":\"late\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/gone\",\"responses\":[{\"status\":404,"
    "\"headers\":{\"request-id\":\"rid-gone\"},"
    "\"json\":{\"error\":{\"code\":\"NotFound\",\"message\":\"Unknown operation\"}}}]},"
    "{\"path\":\"/beta/teams/long/operations/forbidden\",\"responses\":[{\"status\":403,"
    "\"json\":{\"error\":{\"code\":\"NoRoom\",\"message\":\"Grim sound\"}}}]},"
    /* Server text without the letter t, for the one-character token "t". */
    "{\"path\":\"/beta/teams/long/operations/calm\",\"responses\":["
    "{\"status\":429,\"headers\":{\"Retry-After\":\"0\"},"
    "\"json\":{\"error\":{\"code\":\"Calm\",\"message\":\"Slow down\"}}},"
    "{\"status\":503,\"headers\":{\"Retry-After\":\"0\"},"
    "\"json\":{\"error\":{\"code\":\"Busy\",\"message\":\"Come back soon\"}}},"
    "{\"status\":200,\"json\":{\"id\":\"calm\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/long/operations/nowhere\",\"responses\":[{\"status\":404,"
    "\"json\":{\"error\":{\"code\":\"NoSuchOp\",\"message\":\"Unknown job\"}}}]}"
    "]";

#define LOC(op) "/teams('long')/operations('" op "')"

/* ---------------------------------------------------------------- helpers */

static void sleep_ms(double ms) {
  struct timespec t = {(time_t)(ms / 1000), (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

/* A time limit, stretched under valgrind (TEAMSOP_TEST_TIME_FACTOR). */
static double limit_s(double seconds) {
  return seconds * g_time_factor;
}

/* The emulator back to its start, with this program's scenarios. */
static void fresh(void) {
  CHECK_EQ_INT(emu_control_reset(g_port), 204);
  CHECK_EQ_INT(emu_control_load_scenarios(g_port, k_scenarios), 204);
}

/* Failed checks so far in the run: a test notes it first, to print details
 * after a failure. */
static long failures_now(void) {
  return atomic_load(&check_failures_);
}

static teamsop_client *new_client(const char *token) {
  return test_client_ready(teamsop_client_new(token), g_base_url, NULL);
}

static struct emu_stats stats(void) {
  struct emu_stats s;
  memset(&s, 0xff, sizeof s);
  CHECK(emu_control_stats(g_port, &s));
  return s;
}

/* How many requests the emulator recorded to `path` (under /beta). */
static int requests_to(const char *path) {
  char *log = emu_control_requests(g_port);
  int n = emu_requests_to(log, path, NULL, 0);
  free(log);
  return n;
}

/* The Authorization header of the index-th recorded request (malloc'd), or NULL. */
static char *recorded_authorization(int index) {
  char *log = emu_control_requests(g_port);
  char *value = log != NULL ? emu_request_header(emu_json_element(log, index), "authorization")
                            : NULL;
  free(log);
  return value;
}

/* "Bearer TOKEN" for comparisons. */
static bool is_bearer(const char *header, const char *token) {
  return header != NULL && token != NULL && strncmp(header, "Bearer ", 7) == 0 &&
         strcmp(header + 7, token) == 0;
}

/* Does `haystack` contain `needle`, ignoring ASCII case? */
static bool contains_nocase(const char *haystack, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = haystack; *p != '\0'; p++) {
    if (strncasecmp(p, needle, n) == 0) {
      return true;
    }
  }
  return false;
}

static teamsop_result get_team_op(const teamsop_client *c) {
  teamsop_operation *op = NULL;
  teamsop_result r = teamsop_get_team_operation(c, TEAM, TEAM_OP, &op);
  teamsop_free(op);
  return r;
}

static teamsop_result get_long(const teamsop_client *c, const char *op_id) {
  teamsop_operation *op = NULL;
  teamsop_result r = teamsop_get_team_operation(c, "long", op_id, &op);
  teamsop_free(op);
  return r;
}

/* ------------------------------------------------------------ log capture */

#define MAX_LINES 1024

struct capture {
  pthread_mutex_t lock;
  int n;
  int dropped;
  teamsop_log_level level[MAX_LINES];
  char *line[MAX_LINES];
  atomic_int warns;  /* WARN lines so far: a retry's pause has begun */
  atomic_int errors; /* ERROR lines so far */
  /* What teamsop_last_error_message() said inside the last ERROR line. */
  char last_error_seen[1024];
};

static void capture_init(struct capture *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->lock, NULL);
}

static void capture_free(struct capture *c) {
  for (int i = 0; i < c->n; i++) {
    free(c->line[i]);
  }
  pthread_mutex_destroy(&c->lock);
}

static void capture_clear(struct capture *c) {
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->n; i++) {
    free(c->line[i]);
  }
  c->n = 0;
  c->dropped = 0;
  atomic_store(&c->warns, 0);
  atomic_store(&c->errors, 0);
  c->last_error_seen[0] = '\0';
  pthread_mutex_unlock(&c->lock);
}

static void on_log(void *user_data, teamsop_log_level level, const char *line) {
  struct capture *c = user_data;
  if (level == TEAMSOP_LOG_ERROR) {
    /* The failure this line reports is already this thread's last error. */
    const char *m = teamsop_last_error_message();
    pthread_mutex_lock(&c->lock);
    snprintf(c->last_error_seen, sizeof c->last_error_seen, "%s", m != NULL ? m : "(NULL)");
    pthread_mutex_unlock(&c->lock);
  }
  pthread_mutex_lock(&c->lock);
  if (c->n < MAX_LINES) {
    c->level[c->n] = level;
    c->line[c->n] = strdup(line != NULL ? line : "(NULL)");
    c->n++;
  } else {
    c->dropped++;
  }
  pthread_mutex_unlock(&c->lock);
  if (level == TEAMSOP_LOG_WARN) {
    atomic_fetch_add(&c->warns, 1);
  }
  if (level == TEAMSOP_LOG_ERROR) {
    atomic_fetch_add(&c->errors, 1);
  }
}

/* Lines of `level` (0: any) containing `needle` (NULL: any). */
static int count_lines(struct capture *c, int level, const char *needle) {
  pthread_mutex_lock(&c->lock);
  int n = 0;
  for (int i = 0; i < c->n; i++) {
    if ((level == 0 || (int)c->level[i] == level) &&
        (needle == NULL || strstr(c->line[i], needle) != NULL)) {
      n++;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return n;
}

/* The index-th line of `level` (0: any) containing `needle`, copied into `out`. */
static bool find_line(struct capture *c, int level, const char *needle, int index, char *out,
                      size_t out_len) {
  pthread_mutex_lock(&c->lock);
  bool found = false;
  for (int i = 0; i < c->n && !found; i++) {
    if ((level == 0 || (int)c->level[i] == level) &&
        (needle == NULL || strstr(c->line[i], needle) != NULL) && index-- == 0) {
      snprintf(out, out_len, "%s", c->line[i]);
      found = true;
    }
  }
  pthread_mutex_unlock(&c->lock);
  if (!found && out_len > 0) {
    out[0] = '\0';
  }
  return found;
}

/* Every line is whole (no newline, not empty), and none holds `secret`. */
static void check_lines_clean(struct capture *c, const char *secret) {
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->n; i++) {
    const char *line = c->line[i];
    if (!CHECK(line[0] != '\0' && strchr(line, '\n') == NULL && strchr(line, '\r') == NULL)) {
      CHECK_NOTE("line %d: %s", i, line);
    }
    if (secret != NULL && !CHECK(strstr(line, secret) == NULL)) {
      CHECK_NOTE("a token in line %d", i);
    }
  }
  CHECK_EQ_INT(c->dropped, 0);
  pthread_mutex_unlock(&c->lock);
}

static void print_lines(struct capture *c) {
  static const char *const names[] = {"?", "ERROR", "WARN", "INFO", "DEBUG"};
  pthread_mutex_lock(&c->lock);
  for (int i = 0; i < c->n; i++) {
    fprintf(stderr, "    | %-5s %s\n", names[c->level[i] <= 4 ? c->level[i] : 0], c->line[i]);
  }
  pthread_mutex_unlock(&c->lock);
}

/* ---------------------------------------------------------- token provider */

enum provider_mode {
  PROVIDE_MINT,    /* mint a token from the emulator (lifetime, the claims asked) */
  PROVIDE_FIXED,   /* `fixed`, NUL-terminated */
  PROVIDE_DECLINE, /* return false */
  PROVIDE_FILL,    /* fill the whole buffer with 'A', no NUL */
};

#define MAX_CALLS 32

struct provider {
  pthread_mutex_t lock;
  enum provider_mode mode;
  long long lifetime_ms; /* PROVIDE_MINT: -1 never expires */
  bool no_time;          /* write TEAMSOP_NO_TIME whatever the expiry */
  const char *fixed;     /* PROVIDE_FIXED */
  int sleep_ms;          /* before answering */
  int decline_from;      /* calls numbered this and later (from 1) decline; 0 never */
  int calls;
  int active, max_active;
  size_t min_buf_len;
  bool claims_given[MAX_CALLS];
  char *claims[MAX_CALLS]; /* each call's claims (NULL when none) */
  char *tokens[MAX_CALLS]; /* the token each call gave (NULL when none) */
  /* Calling back into the library from inside the provider. */
  const teamsop_client *nested_client;
  teamsop_result nested_result;
  char nested_message[512];
  int nested_calls;
};

static void provider_init(struct provider *p, enum provider_mode mode) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->lock, NULL);
  p->mode = mode;
  p->lifetime_ms = -1;
}

static void provider_free(struct provider *p) {
  for (int i = 0; i < MAX_CALLS; i++) {
    free(p->claims[i]);
    free(p->tokens[i]);
  }
  pthread_mutex_destroy(&p->lock);
}

static int provider_calls(struct provider *p) {
  pthread_mutex_lock(&p->lock);
  int n = p->calls;
  pthread_mutex_unlock(&p->lock);
  return n;
}

/* The token the last call gave (borrowed), or NULL. */
static const char *provider_last_token(struct provider *p) {
  pthread_mutex_lock(&p->lock);
  const char *t = p->calls > 0 && p->calls <= MAX_CALLS ? p->tokens[p->calls - 1] : NULL;
  pthread_mutex_unlock(&p->lock);
  return t;
}

static bool provide(void *user_data, const char *claims, char *buf, size_t buf_len,
                    int64_t *expires_unix_ms) {
  struct provider *p = user_data;
  pthread_mutex_lock(&p->lock);
  int call = p->calls++;
  p->active++;
  if (p->active > p->max_active) {
    p->max_active = p->active;
  }
  if (p->min_buf_len == 0 || buf_len < p->min_buf_len) {
    p->min_buf_len = buf_len;
  }
  if (call < MAX_CALLS) {
    p->claims_given[call] = claims != NULL;
    p->claims[call] = claims != NULL ? strdup(claims) : NULL;
  }
  pthread_mutex_unlock(&p->lock);

  if (p->sleep_ms > 0) {
    sleep_ms(p->sleep_ms);
  }
  if (p->nested_client != NULL) {
    /* A call on the same client from inside the provider: it uses the token
     * already set, and never asks the provider again. */
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get_team_operation(p->nested_client, TEAM, TEAM_OP, &op);
    teamsop_free(op);
    pthread_mutex_lock(&p->lock);
    p->nested_calls++;
    p->nested_result = r;
    snprintf(p->nested_message, sizeof p->nested_message, "%s",
             r == TEAMSOP_OK ? "" : teamsop_last_error_message());
    pthread_mutex_unlock(&p->lock);
  }

  bool given = true;
  char *token = NULL;
  int64_t expiry = TEAMSOP_NO_TIME;
  bool declines = p->mode == PROVIDE_DECLINE || (p->decline_from > 0 && call + 1 >= p->decline_from);
  if (declines) {
    given = false;
  } else if (p->mode == PROVIDE_MINT) {
    token = emu_control_mint_token(g_port, p->lifetime_ms, claims, &expiry);
    given = token != NULL && strlen(token) < buf_len;
    if (given) {
      memcpy(buf, token, strlen(token) + 1);
    }
  } else if (p->mode == PROVIDE_FIXED) {
    token = strdup(p->fixed);
    memcpy(buf, p->fixed, strlen(p->fixed) + 1);
  } else if (p->mode == PROVIDE_FILL) {
    memset(buf, 'A', buf_len);
  }
  *expires_unix_ms = p->no_time ? TEAMSOP_NO_TIME : expiry;

  pthread_mutex_lock(&p->lock);
  if (call < MAX_CALLS) {
    p->tokens[call] = token;
  } else {
    free(token);
  }
  p->active--;
  pthread_mutex_unlock(&p->lock);
  return given;
}

/* ------------------------------------------------------------ the trigger */

/* A thread that waits until `*ready` is not 0 (when `ready` is not NULL), then
 * `delay_ms`, then pulls the trigger and notes when. */
struct trigger {
  teamsop_cancel *cancel;
  atomic_int *ready;
  double delay_ms;
  double at; /* now_s() just before teamsop_cancel_trigger */
  pthread_t thread;
};

static void *trigger_main(void *arg) {
  struct trigger *t = arg;
  if (t->ready != NULL) {
    double give_up = now_s() + limit_s(20);
    while (atomic_load(t->ready) == 0 && now_s() < give_up) {
      sleep_ms(1);
    }
  }
  sleep_ms(t->delay_ms);
  t->at = now_s();
  teamsop_cancel_trigger(t->cancel);
  return NULL;
}

static void trigger_start(struct trigger *t, teamsop_cancel *cancel, atomic_int *ready,
                          double delay_ms) {
  t->cancel = cancel;
  t->ready = ready;
  t->delay_ms = delay_ms;
  t->at = 0;
  pthread_create(&t->thread, NULL, trigger_main, t);
}

/* Joins the thread; the seconds from the trigger to `returned_at`. */
static double trigger_latency(struct trigger *t, double returned_at) {
  pthread_join(t->thread, NULL);
  return returned_at - t->at;
}

/* on_poll: notes that a poll arrived, keeps waiting. */
static bool note_poll(const teamsop_operation *current, void *user_data) {
  (void)current;
  atomic_fetch_add((atomic_int *)user_data, 1);
  return true;
}

/* The three places a call can be when the trigger comes. */
enum where { IN_A_GET, IN_A_RETRY_PAUSE, BETWEEN_POLLS };
static const char *const k_where[] = {"in a GET", "in a retry's pause", "between polls"};

/* One cancelled wait: `where` it is, the trigger `delay_ms` after it got there.
 * `c` is a client made for it by where_client. Returns the latency in seconds
 * (negative when the call did not end CANCELLED). */
static double cancelled_wait(teamsop_client *c, struct capture *log, enum where where,
                             double delay_ms) {
  teamsop_cancel *cancel = teamsop_cancel_new();
  CHECK_NOT_NULL(cancel);
  atomic_int polls = 0;
  atomic_int *ready = NULL;
  const char *location = LOC("slow");
  if (where == IN_A_RETRY_PAUSE) {
    capture_clear(log);
    ready = &log->warns;
    location = LOC("throttled");
  } else if (where == BETWEEN_POLLS) {
    ready = &polls;
    location = LOC("progress");
  }
  struct trigger t;
  trigger_start(&t, cancel, ready, delay_ms);
  teamsop_operation *op = DUMMY_OP;
  teamsop_result r = teamsop_wait_cancellable(c, location, 120000, note_poll, &polls, cancel, &op);
  double latency = trigger_latency(&t, now_s());
  bool ok = CHECK_RESULT(r, TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(op);
  CHECK(teamsop_cancel_is_triggered(cancel));
  teamsop_cancel_free(cancel);
  if (!ok) {
    CHECK_NOTE("%s", k_where[where]);
    return -1;
  }
  return latency;
}

/* A client for cancelled_wait: a long client timeout (a Retry-After of 30 s
 * must fit in it) and poll interval, logging WARN lines to `log`. */
static teamsop_client *where_client(struct capture *log) {
  teamsop_client *c = new_client(g_token);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 60000), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 30000), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_WARN, on_log, log), TEAMSOP_OK);
  return c;
}

/* =============================================================== cancel */

TEST(test_cancel_null_and_many_triggers) {
  teamsop_cancel_trigger(NULL);
  CHECK(!teamsop_cancel_is_triggered(NULL));
  teamsop_cancel_free(NULL);

  teamsop_cancel *cancel = teamsop_cancel_new();
  if (!CHECK_NOT_NULL(cancel)) {
    return;
  }
  CHECK(!teamsop_cancel_is_triggered(cancel));
  teamsop_cancel_trigger(cancel);
  CHECK(teamsop_cancel_is_triggered(cancel));
  for (int i = 0; i < 1000; i++) {
    teamsop_cancel_trigger(cancel);
  }
  CHECK(teamsop_cancel_is_triggered(cancel));
  teamsop_cancel_free(cancel);
}

struct hammer {
  teamsop_cancel *cancel;
  atomic_int *go;
  int seen_untriggered_after;
};

static void *hammer_main(void *arg) {
  struct hammer *h = arg;
  while (atomic_load(h->go) == 0) {
  }
  for (int i = 0; i < 2000; i++) {
    teamsop_cancel_trigger(h->cancel);
    if (!teamsop_cancel_is_triggered(h->cancel)) {
      h->seen_untriggered_after++;
    }
  }
  return NULL;
}

TEST(test_cancel_triggered_from_many_threads_at_once) {
  fresh();
  teamsop_client *c = new_client(g_token);
  teamsop_cancel *cancel = teamsop_cancel_new();
  atomic_int go = 0;
  struct hammer h[8];
  pthread_t threads[8];
  for (int i = 0; i < 8; i++) {
    h[i] = (struct hammer){cancel, &go, 0};
    pthread_create(&threads[i], NULL, hammer_main, &h[i]);
  }
  atomic_store(&go, 1);
  for (int i = 0; i < 8; i++) {
    pthread_join(threads[i], NULL);
    CHECK_EQ_INT(h[i].seen_untriggered_after, 0);
  }
  CHECK(teamsop_cancel_is_triggered(cancel));
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, cancel, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(op);
  CHECK_EQ_INT(requests_to("/beta/teams/long/operations/done"), 0);
  teamsop_cancel_free(cancel);
  teamsop_client_free(c);
}

TEST(test_cancel_before_the_call_sends_nothing) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  teamsop_cancel *cancel = teamsop_cancel_new();
  teamsop_cancel_trigger(cancel);
  atomic_int polls = 0;
  teamsop_operation *op = DUMMY_OP;
  double start = now_s();
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, note_poll, &polls, cancel, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK(now_s() - start < limit_s(CANCEL_LIMIT_S));
  CHECK_NULL(op);
  CHECK_EQ_INT(atomic_load(&polls), 0);
  CHECK(strstr(teamsop_last_error_message(), "cancel") != NULL);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  /* Nothing sent, not even the provider asked. */
  struct emu_stats s = stats();
  CHECK_EQ_INT(s.requests, 0);
  CHECK_EQ_INT(provider_calls(&p), 0);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), 0);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, "cancel"), 1);
  /* The same trigger again: still nothing. */
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, cancel, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK_EQ_INT(stats().requests, 0);
  teamsop_cancel_free(cancel);
  /* A new trigger, not pulled: the wait goes through. */
  cancel = teamsop_cancel_new();
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, cancel, &op),
               TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_status_str(op), "succeeded");
  teamsop_free(op);
  teamsop_cancel_free(cancel);
  teamsop_client_free(c);
  capture_free(&log);
  provider_free(&p);
}

static bool stop_at_once(const teamsop_operation *current, void *user_data) {
  (void)current;
  (void)user_data;
  return false;
}

TEST(test_cancel_null_is_teamsop_wait) {
  fresh();
  teamsop_client *c = new_client(g_token);
  teamsop_operation *a = NULL, *b = NULL;
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, NULL, &a), TEAMSOP_OK);
  CHECK_RESULT(teamsop_wait(c, LOC("done"), 10000, NULL, NULL, &b), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_json(a), teamsop_operation_json(b));
  teamsop_free(a);
  teamsop_free(b);
  a = DUMMY_OP;
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("progress"), 10000, stop_at_once, NULL, NULL, &a),
               TEAMSOP_ERR_CANCELLED);
  CHECK_NULL(a);
  char by_callback[512];
  snprintf(by_callback, sizeof by_callback, "%s", teamsop_last_error_message());
  CHECK_RESULT(teamsop_wait(c, LOC("progress"), 10000, stop_at_once, NULL, &a),
               TEAMSOP_ERR_CANCELLED);
  CHECK_STREQ(teamsop_last_error_message(), by_callback);
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("gone"), 300, NULL, NULL, NULL, &a),
               TEAMSOP_ERR_NOT_FOUND);
  CHECK_RESULT(teamsop_wait_cancellable(NULL, LOC("done"), 1000, NULL, NULL, NULL, &a),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_wait_cancellable(c, NULL, 1000, NULL, NULL, NULL, &a),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 1000, NULL, NULL, NULL, NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 0, NULL, NULL, NULL, &a),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  teamsop_client_free(c);
}

/* After a cancelled call the client is whole: the next call works, and so does
 * a wait with a fresh trigger. */
static void check_client_still_works(teamsop_client *c) {
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_OK);
  teamsop_cancel *fresh_cancel = teamsop_cancel_new();
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, fresh_cancel, &op),
               TEAMSOP_OK);
  teamsop_free(op);
  teamsop_cancel_free(fresh_cancel);
}

static void cancel_at(enum where where) {
  fresh();
  struct capture log;
  capture_init(&log);
  teamsop_client *c = where_client(&log);
  /* In a GET: well inside the request (the emulator holds its answer 30 s). */
  double latency = cancelled_wait(c, &log, where, where == IN_A_GET ? 300 : 50);
  printf("    cancelled %s: %.1f ms from the trigger to the return\n", k_where[where],
         latency * 1000);
  CHECK(latency >= 0 && latency < limit_s(CANCEL_LIMIT_S));
  const char *path = where == IN_A_GET            ? "/beta/teams/long/operations/slow"
                     : where == IN_A_RETRY_PAUSE ? "/beta/teams/long/operations/throttled"
                                                 : "/beta/teams/long/operations/progress";
  /* The one request was sent (and for a GET, abandoned); no other. */
  CHECK_EQ_INT(requests_to(path), 1);
  check_client_still_works(c);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_cancel_in_a_get) {
  cancel_at(IN_A_GET);
}

TEST(test_cancel_in_a_retry_pause) {
  cancel_at(IN_A_RETRY_PAUSE);
}

TEST(test_cancel_between_polls) {
  cancel_at(BETWEEN_POLLS);
}

struct poll_trigger {
  teamsop_cancel *cancel;
  int polls;
};

static bool trigger_in_poll(const teamsop_operation *current, void *user_data) {
  (void)current;
  struct poll_trigger *pt = user_data;
  pt->polls++;
  teamsop_cancel_trigger(pt->cancel);
  return true; /* keep waiting: the trigger alone must end the wait */
}

TEST(test_cancel_triggered_inside_on_poll) {
  fresh();
  teamsop_client *c = new_client(g_token);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 20), TEAMSOP_OK);
  struct poll_trigger pt = {teamsop_cancel_new(), 0};
  teamsop_operation *op = DUMMY_OP;
  double start = now_s();
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("progress"), 10000, trigger_in_poll, &pt,
                                        pt.cancel, &op),
               TEAMSOP_ERR_CANCELLED);
  CHECK(now_s() - start < limit_s(1));
  CHECK_NULL(op);
  CHECK_EQ_INT(pt.polls, 1);
  CHECK_EQ_INT(requests_to("/beta/teams/long/operations/progress"), 1);
  teamsop_cancel_free(pt.cancel);
  check_client_still_works(c);
  teamsop_client_free(c);
}

TEST(test_cancel_freed_after_use) {
  fresh();
  teamsop_client *c = new_client(g_token);
  /* Used by calls that end on their own, then freed. */
  teamsop_cancel *cancel = teamsop_cancel_new();
  for (int i = 0; i < 3; i++) {
    teamsop_operation *op = NULL;
    CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, cancel, &op),
                 TEAMSOP_OK);
    teamsop_free(op);
  }
  teamsop_cancel_free(cancel);
  /* Pulled in a GET, freed as soon as the call returned: nothing of the library
   * touches it afterwards (valgrind and ASan watch), and the next calls work. */
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_WARN, on_log, &log), TEAMSOP_OK);
  for (int i = 0; i < 3; i++) {
    double latency = cancelled_wait(c, &log, IN_A_GET, 20);
    CHECK(latency >= 0);
    check_client_still_works(c);
  }
  teamsop_client_free(c);
  capture_free(&log);
}

/* One trigger shared by several waits on several threads: it ends them all. */
struct shared_wait {
  const teamsop_client *client;
  const teamsop_cancel *cancel;
  teamsop_result result;
  double returned_at;
  pthread_t thread;
};

static void *shared_wait_main(void *arg) {
  struct shared_wait *w = arg;
  teamsop_operation *op = NULL;
  w->result = teamsop_wait_cancellable(w->client, LOC("slow"), 60000, NULL, NULL, w->cancel, &op);
  w->returned_at = now_s();
  teamsop_free(op);
  return NULL;
}

TEST(test_cancel_one_trigger_ends_every_call_using_it) {
  fresh();
  teamsop_client *c = new_client(g_token);
  teamsop_cancel *cancel = teamsop_cancel_new();
  struct shared_wait w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (struct shared_wait){c, cancel, TEAMSOP_OK, 0, 0};
    pthread_create(&w[i].thread, NULL, shared_wait_main, &w[i]);
  }
  double give_up = now_s() + limit_s(10);
  while (requests_to("/beta/teams/long/operations/slow") < 4 && now_s() < give_up) {
    sleep_ms(10);
  }
  double at = now_s();
  teamsop_cancel_trigger(cancel);
  for (int i = 0; i < 4; i++) {
    pthread_join(w[i].thread, NULL);
    CHECK_EQ_INT(w[i].result, TEAMSOP_ERR_CANCELLED);
    CHECK(w[i].returned_at - at < limit_s(CANCEL_LIMIT_S));
  }
  teamsop_cancel_free(cancel);
  check_client_still_works(c);
  teamsop_client_free(c);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void print_latencies(const char *what, double *ms, int n) {
  if (n == 0) {
    return;
  }
  qsort(ms, (size_t)n, sizeof ms[0], compare_doubles);
  double median = n % 2 == 1 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
  printf("    cancel latency %-20s %3d tries: median %6.2f ms, max %6.2f ms\n", what, n, median,
         ms[n - 1]);
}

TEST(test_cancel_latency) {
  fresh();
  struct capture log;
  capture_init(&log);
  teamsop_client *c = where_client(&log);
  double all[LATENCY_TRIES], each[3][LATENCY_TRIES];
  int n_each[3] = {0, 0, 0}, n_all = 0;
  unsigned seed = 12345;
  for (int i = 0; i < LATENCY_TRIES; i++) {
    enum where where = (enum where)(i % 3);
    seed = seed * 1103515245u + 12345u;
    /* In a GET: 0 to 40 ms after the call starts (some before the request is
     * even sent); elsewhere 0 to 20 ms after the pause began. */
    double delay = (double)((seed >> 16) % (where == IN_A_GET ? 41 : 21));
    double latency = cancelled_wait(c, &log, where, delay);
    if (latency < 0) {
      continue;
    }
    all[n_all++] = latency * 1000;
    each[where][n_each[where]++] = latency * 1000;
  }
  CHECK_EQ_INT(n_all, LATENCY_TRIES);
  for (int w = 0; w < 3; w++) {
    print_latencies(k_where[w], each[w], n_each[w]);
  }
  print_latencies("overall", all, n_all);
  if (n_all > 0) {
    /* print_latencies sorted `all`. */
    if (!CHECK(all[n_all - 1] < limit_s(CANCEL_LIMIT_S) * 1000)) {
      CHECK_NOTE("max %.2f ms", all[n_all - 1]);
    }
  }
  check_client_still_works(c);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_cancel_does_not_interrupt_a_running_provider) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.sleep_ms = 400;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  teamsop_cancel *cancel = teamsop_cancel_new();
  struct trigger t;
  trigger_start(&t, cancel, NULL, 100);
  teamsop_operation *op = DUMMY_OP;
  double start = now_s();
  CHECK_RESULT(teamsop_wait_cancellable(c, LOC("done"), 10000, NULL, NULL, cancel, &op),
               TEAMSOP_ERR_CANCELLED);
  double took = now_s() - start;
  trigger_latency(&t, now_s());
  /* The call ended when the provider returned, and sent nothing. */
  CHECK(took >= 0.390);
  CHECK(took < 0.400 + limit_s(CANCEL_LIMIT_S) + limit_s(0.2));
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(stats().requests, 0);
  /* Its token was kept: the next call asks nothing. */
  p.sleep_ms = 0;
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  teamsop_cancel_free(cancel);
  teamsop_client_free(c);
  provider_free(&p);
}

/* ======================================================== token provider */

TEST(test_provider_null_arguments) {
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  CHECK_RESULT(teamsop_client_set_token_provider(NULL, provide, &p), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_token_provider(NULL, NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, NULL, NULL), TEAMSOP_OK);
  /* No provider and no token: as before, nothing sent. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(provider_calls(&p), 0);
  teamsop_client_free(c);
  provider_free(&p);
}

/* `calls` GETs with a provider minting tokens of `lifetime_ms`: how many times
 * it was asked; each request carried the token it gave last. */
static int gets_with_lifetime(long long lifetime_ms, int calls) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.lifetime_ms = lifetime_ms;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  for (int i = 0; i < calls; i++) {
    CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
    char *auth = recorded_authorization(i);
    if (!CHECK(is_bearer(auth, provider_last_token(&p)))) {
      CHECK_NOTE("request %d did not carry the provider's last token", i);
    }
    free(auth);
  }
  /* Every answer had a fresh expiry: the buffer was as promised. */
  CHECK(p.min_buf_len >= 16384);
  CHECK_EQ_INT(stats().unauthorized, 0);
  int n = provider_calls(&p);
  teamsop_client_free(c);
  provider_free(&p);
  return n;
}

TEST(test_provider_renews_before_expiry) {
  /* Six minutes: asked once (no token yet), then the token is used. */
  CHECK_EQ_INT(gets_with_lifetime(6 * 60 * 1000, 4), 1);
  /* Four minutes: inside the 5-minute margin, renewed before each request, and
   * only once each (the new one, itself that close to expiry, is used as is). */
  CHECK_EQ_INT(gets_with_lifetime(4 * 60 * 1000, 4), 4);
}

/* Each retry is a request: a token close to expiry is renewed before it. */
TEST(test_provider_renews_before_each_retry) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.lifetime_ms = 4 * 60 * 1000;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "retried"), TEAMSOP_OK);
  CHECK_EQ_INT(requests_to("/beta/teams/long/operations/retried"), 3);
  CHECK_EQ_INT(provider_calls(&p), 3);
  for (int i = 0; i < 3; i++) {
    char *auth = recorded_authorization(i);
    CHECK(is_bearer(auth, p.tokens[i]));
    free(auth);
  }
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_after_a_401_with_claims) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK(!p.claims_given[0]);

  /* Continuous access evaluation revokes every token, demanding claims. */
  CHECK_EQ_INT(emu_control_revoke(g_port, NULL, CAE_CLAIMS), 200);
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, TEAM_OP, &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_status_str(op), "succeeded");
  teamsop_free(op);
  /* One renewal, handed the decoded claims exactly; one resend. */
  CHECK_EQ_INT(provider_calls(&p), 2);
  CHECK(p.claims_given[1]);
  CHECK_STREQ(p.claims[1], CAE_CLAIMS);
  struct emu_stats s = stats();
  CHECK_EQ_INT(s.requests, 3);
  CHECK_EQ_INT(s.unauthorized, 1);
  CHECK_EQ_INT(s.claims_challenges, 1);
  char *second = recorded_authorization(1), *third = recorded_authorization(2);
  CHECK(is_bearer(second, p.tokens[0]));
  CHECK(is_bearer(third, p.tokens[1]));
  free(second);
  free(third);
  /* The renewal is a DEBUG line, the 401 an INFO line; no token in any. */
  CHECK(count_lines(&log, TEAMSOP_LOG_DEBUG, "token") >= 2);
  CHECK(count_lines(&log, TEAMSOP_LOG_DEBUG, "claims") >= 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, "-> 401"), 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, NULL), 0);
  check_lines_clean(&log, p.tokens[0]);
  check_lines_clean(&log, p.tokens[1]);
  /* The new token goes on being used. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 2);
  teamsop_client_free(c);
  capture_free(&log);
  provider_free(&p);
}

TEST(test_provider_no_401_loop) {
  fresh();
  /* A provider whose tokens the emulator never issued: refused each time. */
  struct provider p;
  provider_init(&p, PROVIDE_FIXED);
  p.fixed = "never-issued-token-0123456789";
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(teamsop_last_http_status(), 401);
  CHECK_EQ_INT(stats().requests, 2);
  CHECK_EQ_INT(provider_calls(&p), 2); /* no token yet, then the one renewal */
  CHECK(strstr(teamsop_last_error_message(), p.fixed) == NULL);
  /* With a token set: one renewal, one resend, then the 401 is the answer. */
  fresh();
  CHECK_RESULT(teamsop_client_set_token(c, "another-never-issued-token"), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(stats().requests, 2);
  CHECK_EQ_INT(provider_calls(&p), 3);
  /* Through a wait too. */
  fresh();
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('" TEAM "')/operations('" TEAM_OP "')", 10000, NULL, NULL,
                            &op),
               TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_NULL(op);
  CHECK_EQ_INT(stats().requests, 2);
  CHECK_EQ_INT(provider_calls(&p), 4);
  teamsop_client_free(c);
  provider_free(&p);
}

struct hammer_gets {
  const teamsop_client *client;
  int ok;
  pthread_t thread;
};

static void *hammer_gets_main(void *arg) {
  struct hammer_gets *h = arg;
  for (int i = 0; i < 5; i++) {
    if (get_team_op(h->client) == TEAMSOP_OK) {
      h->ok++;
    }
  }
  return NULL;
}

TEST(test_provider_never_called_twice_at_once) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  /* Four-minute tokens: every request wants a renewal. */
  p.lifetime_ms = 4 * 60 * 1000;
  p.sleep_ms = 50;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  struct hammer_gets h[8];
  for (int i = 0; i < 8; i++) {
    h[i] = (struct hammer_gets){c, 0, 0};
    pthread_create(&h[i].thread, NULL, hammer_gets_main, &h[i]);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(h[i].thread, NULL);
    CHECK_EQ_INT(h[i].ok, 5);
  }
  CHECK_EQ_INT(p.max_active, 1);
  /* Callers waiting for an answer share it: far fewer calls than requests. */
  int calls = provider_calls(&p);
  printf("    8 threads x 5 GETs with 4-minute tokens: %d provider calls\n", calls);
  CHECK(calls >= 1 && calls <= 40);
  CHECK_EQ_INT(stats().unauthorized, 0);
  teamsop_client_free(c);
  provider_free(&p);

  /* A token of unknown expiry, asked once by 8 threads at the same moment. */
  fresh();
  provider_init(&p, PROVIDE_MINT);
  p.sleep_ms = 200;
  c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  for (int i = 0; i < 8; i++) {
    h[i] = (struct hammer_gets){c, 0, 0};
    pthread_create(&h[i].thread, NULL, hammer_gets_main, &h[i]);
  }
  for (int i = 0; i < 8; i++) {
    pthread_join(h[i].thread, NULL);
    CHECK_EQ_INT(h[i].ok, 5);
  }
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(p.max_active, 1);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_declining) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_DECLINE);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, TEAM_OP, &op), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_NULL(op);
  CHECK(strstr(teamsop_last_error_message(), "token provider") != NULL);
  CHECK(strstr(teamsop_last_error_message(), "declined") != NULL);
  CHECK_EQ_INT(teamsop_last_http_status(), 0);
  CHECK_EQ_INT(stats().requests, 0);
  CHECK_RESULT(teamsop_wait(c, LOC("done"), 10000, NULL, NULL, &op), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(stats().requests, 0);
  /* After a 401, a declining provider fails the call with the 401's story. */
  CHECK_RESULT(teamsop_client_set_token(c, "another-never-issued-token"), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(stats().requests, 1);
  CHECK(strstr(teamsop_last_error_message(), "declined") != NULL);
  teamsop_client_free(c);
  provider_free(&p);
}

/* A provider answer that cannot be sent: UNAUTHORIZED, a message that says why
 * without quoting it, nothing sent. */
static void check_refused_answer(struct provider *p, const char *why, const char *secret) {
  fresh();
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, p), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, TEAM_OP, &op), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_NULL(op);
  const char *m = teamsop_last_error_message();
  if (!CHECK(strstr(m, why) != NULL)) {
    CHECK_NOTE("message: %s (wanted '%s')", m, why);
  }
  CHECK(strstr(m, secret) == NULL);
  CHECK_EQ_INT(stats().requests, 0);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, why), 1);
  check_lines_clean(&log, secret);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_provider_answers_that_cannot_be_sent) {
  struct provider p;
  provider_init(&p, PROVIDE_FILL);
  check_refused_answer(&p, "does not fit", "AAAAAAAA");
  provider_free(&p);
  static const struct {
    const char *token;
    const char *why;
    const char *secret;
  } bad[] = {
      {"", "empty", "\x01"}, /* the secret of an empty token: nothing to find */
      {"secret-part1 secret-part2", "outside visible ASCII", "secret-part"},
      {"secret-tab\tsecret", "outside visible ASCII", "secret-tab"},
      {"secret-del\x7fsecret", "outside visible ASCII", "secret-del"},
      {"secret-hi\x80secret", "outside visible ASCII", "secret-hi"},
      {"secret-utf8-\xc3\xa9-secret", "outside visible ASCII", "secret-utf8"},
      {"secret-ff\xffsecret", "outside visible ASCII", "secret-ff"},
      {"secret-nl\nsecret", "outside visible ASCII", "secret-nl"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    provider_init(&p, PROVIDE_FIXED);
    p.fixed = bad[i].token;
    check_refused_answer(&p, bad[i].why, bad[i].secret);
    provider_free(&p);
  }
  /* 16383 visible characters and the NUL fit exactly. */
  char *longest = malloc(16384);
  memset(longest, 'b', 16383);
  longest[16383] = '\0';
  provider_init(&p, PROVIDE_FIXED);
  p.fixed = longest;
  fresh();
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  /* The emulator refuses a token it never issued: it was sent. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(teamsop_last_http_status(), 401);
  CHECK(strstr(teamsop_last_error_message(), "bbbbbbbb") == NULL);
  teamsop_client_free(c);
  provider_free(&p);
  free(longest);
}

TEST(test_provider_unknown_expiry_renewed_only_after_a_401) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.lifetime_ms = 60 * 1000; /* it expires in a minute, but the provider does not say */
  p.no_time = true;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  for (int i = 0; i < 4; i++) {
    CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  }
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(emu_control_revoke(g_port, p.tokens[0], NULL), 200);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 2);
  CHECK(p.claims_given[1]);
  CHECK(p.claims[1] != NULL && strstr(p.claims[1], "\"nbf\"") != NULL);
  CHECK_EQ_INT(stats().requests, 6);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_blocking_past_the_client_timeout) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.sleep_ms = 700;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 200), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  double start = now_s();
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, TEAM, TEAM_OP, &op), TEAMSOP_ERR_TIMEOUT);
  double took = now_s() - start;
  CHECK_NULL(op);
  /* It ends when the provider returns (it is not interrupted). */
  CHECK(took >= 0.69 && took < 0.7 + limit_s(0.5));
  CHECK(strstr(teamsop_last_error_message(), "token provider") != NULL);
  CHECK_EQ_INT(stats().requests, 0);
  /* Its late answer is kept: the next call asks nothing. */
  p.sleep_ms = 0;
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 10000), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  char *auth = recorded_authorization(0);
  CHECK(is_bearer(auth, p.tokens[0]));
  free(auth);
  teamsop_client_free(c);
  provider_free(&p);
}

/* Other calls waiting for a provider past their own deadline: TIMEOUT, while
 * the one asking gets its answer. */
struct waiter {
  const teamsop_client *client;
  teamsop_result result;
  pthread_t thread;
};

static void *waiter_main(void *arg) {
  struct waiter *w = arg;
  w->result = get_team_op(w->client);
  return NULL;
}

TEST(test_provider_blocking_while_others_wait) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.sleep_ms = 600;
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 300), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  struct waiter w[3];
  for (int i = 0; i < 3; i++) {
    w[i] = (struct waiter){c, TEAMSOP_OK, 0};
    pthread_create(&w[i].thread, NULL, waiter_main, &w[i]);
  }
  for (int i = 0; i < 3; i++) {
    pthread_join(w[i].thread, NULL);
    CHECK_EQ_INT(w[i].result, TEAMSOP_ERR_TIMEOUT);
  }
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(p.max_active, 1);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 10000), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_calling_back_into_the_library) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  p.nested_client = c;
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  /* No token yet: the provider's own call on the client cannot have one. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(p.nested_calls, 1);
  CHECK_EQ_INT(p.nested_result, TEAMSOP_ERR_UNAUTHORIZED);
  CHECK(strstr(p.nested_message, "token provider") != NULL);
  CHECK_EQ_INT(stats().requests, 1);

  /* With a token set and refused (CAE): the nested call uses that token (and is
   * refused too, after one resend with the same token), never the provider. */
  CHECK_EQ_INT(emu_control_revoke(g_port, NULL, CAE_CLAIMS), 200);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 2);
  CHECK_EQ_INT(p.nested_calls, 2);
  CHECK_EQ_INT(p.nested_result, TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_STREQ(p.claims[1], CAE_CLAIMS);

  /* A token that works: the nested call succeeds with it. */
  fresh();
  teamsop_client *c2 = new_client(g_token);
  struct provider q;
  provider_init(&q, PROVIDE_MINT);
  q.nested_client = c2;
  CHECK_RESULT(teamsop_client_set_token_provider(c2, provide, &q), TEAMSOP_OK);
  CHECK_EQ_INT(emu_control_revoke(g_port, g_token, CAE_CLAIMS), 200);
  /* The configured token is refused, the provider asked; inside it, a GET with
   * the refused token gets UNAUTHORIZED, and teamsop_last_error_message works. */
  CHECK_RESULT(get_team_op(c2), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&q), 1);
  CHECK_EQ_INT(q.nested_result, TEAMSOP_ERR_UNAUTHORIZED);
  CHECK(strstr(q.nested_message, "401") != NULL);
  CHECK(strstr(q.nested_message, g_token) == NULL);
  teamsop_client_free(c2);
  provider_free(&q);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_removed_keeps_its_last_token) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_token_provider(c, NULL, &p), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  char *auth = recorded_authorization(1);
  CHECK(is_bearer(auth, p.tokens[0]));
  free(auth);
  /* Refused now: no provider to ask, the 401 is the answer. */
  CHECK_EQ_INT(emu_control_revoke(g_port, p.tokens[0], NULL), 200);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_EQ_INT(stats().requests, 3);
  /* set_token(NULL) clears it: nothing sent. */
  CHECK_RESULT(teamsop_client_set_token(c, NULL), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(stats().requests, 3);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_set_token_used_until_a_401) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.lifetime_ms = 60 * 1000; /* what it would give is close to expiry: unasked */
  teamsop_client *c = new_client(g_token);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  for (int i = 0; i < 3; i++) {
    CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
    char *auth = recorded_authorization(i);
    CHECK(is_bearer(auth, g_token));
    free(auth);
  }
  CHECK_EQ_INT(provider_calls(&p), 0);
  /* Refused: renewed once, with the claims, and sent again. */
  p.lifetime_ms = 6 * 60 * 1000;
  CHECK_EQ_INT(emu_control_revoke(g_port, g_token, CAE_CLAIMS), 200);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  CHECK_STREQ(p.claims[0], CAE_CLAIMS);
  /* From then on the provider's token. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 1);
  char *auth = recorded_authorization(5);
  CHECK(is_bearer(auth, p.tokens[0]));
  free(auth);
  /* A token set again replaces it, until the next 401 (the emulator forgets
   * its demand for claims first: a plain 401 this time). */
  int status = 0;
  free(emu_control_request(g_port, "DELETE", "/_emulator/tokens", NULL, NULL, &status, NULL));
  CHECK_EQ_INT(status, 204);
  CHECK_RESULT(teamsop_client_set_token(c, "refused-outright"), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 2);
  CHECK_STREQ(p.claims[1], NULL); /* a token never issued: no claims challenge */
  CHECK_EQ_INT(stats().requests, 8);
  teamsop_client_free(c);
  provider_free(&p);
}

TEST(test_provider_failing_before_expiry_keeps_the_current_token) {
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  p.lifetime_ms = 4 * 60 * 1000; /* still valid, but inside the margin */
  p.decline_from = 2;
  teamsop_client *c = new_client(NULL);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_WARN, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  /* The renewal fails; the call goes on with the token it has, and says so. */
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(provider_calls(&p), 2);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_WARN, "token"), 1);
  char *auth = recorded_authorization(1);
  CHECK(is_bearer(auth, p.tokens[0]));
  free(auth);
  /* After a 401, a failed renewal fails the call. */
  CHECK_EQ_INT(emu_control_revoke(g_port, p.tokens[0], NULL), 200);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_UNAUTHORIZED);
  CHECK(strstr(teamsop_last_error_message(), "declined") != NULL);
  check_lines_clean(&log, p.tokens[0]);
  teamsop_client_free(c);
  capture_free(&log);
  provider_free(&p);
}

/* ------------------------------------------- a listener on another port */

struct listener {
  int fd;
  int port;
  char head[8192];
  pthread_t thread;
};

static void *listener_main(void *arg) {
  struct listener *l = arg;
  int conn = accept(l->fd, NULL, NULL);
  if (conn < 0) {
    return NULL;
  }
  size_t len = 0;
  while (len < sizeof l->head - 1 && strstr(l->head, "\r\n\r\n") == NULL) {
    ssize_t r = read(conn, l->head + len, sizeof l->head - 1 - len);
    if (r <= 0) {
      break;
    }
    len += (size_t)r;
    l->head[len] = '\0';
  }
  static const char answer[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
      "Content-Length: 39\r\n\r\n{\"id\":\"elsewhere\",\"status\":\"succeeded\"}";
  ssize_t w = write(conn, answer, sizeof answer - 1);
  (void)w;
  close(conn);
  return NULL;
}

static bool listener_start(struct listener *l) {
  memset(l, 0, sizeof *l);
  l->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t addr_len = sizeof addr;
  if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(l->fd, 4) != 0 || getsockname(l->fd, (struct sockaddr *)&addr, &addr_len) != 0) {
    if (l->fd >= 0) {
      close(l->fd);
    }
    return false;
  }
  l->port = ntohs(addr.sin_port);
  pthread_create(&l->thread, NULL, listener_main, l);
  return true;
}

static void listener_stop(struct listener *l) {
  pthread_join(l->thread, NULL);
  close(l->fd);
}

TEST(test_provider_token_stays_on_its_host_and_out_of_text) {
  fresh();
  struct listener other;
  if (!CHECK(listener_start(&other))) {
    return;
  }
  char scenario[512];
  snprintf(scenario, sizeof scenario,
           "{\"path\":\"/beta/teams/long/operations/moved\",\"responses\":[{\"status\":302,"
           "\"headers\":{\"Location\":\"http://127.0.0.1:%d/beta/teams/x/operations/y\"}}]}",
           other.port);
  CHECK_EQ_INT(emu_control_load_scenarios(g_port, scenario), 204);
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get_team_operation(c, "long", "moved", &op), TEAMSOP_OK);
  CHECK_STREQ(teamsop_operation_id(op), "elsewhere");
  teamsop_free(op);
  listener_stop(&other);
  /* The Graph host got the provider's token; the other listener got none. */
  char *auth = recorded_authorization(0);
  CHECK(is_bearer(auth, p.tokens[0]));
  free(auth);
  CHECK(strstr(other.head, "GET /beta/teams/x/operations/y ") == other.head);
  CHECK(!contains_nocase(other.head, "authorization"));
  CHECK(strstr(other.head, p.tokens[0]) == NULL);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, "-> 302"), 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, "-> 200"), 1);

  /* Failures quoting server text: no token in any message or line. */
  CHECK_RESULT(get_long(c, "forbidden"), TEAMSOP_ERR_FORBIDDEN);
  CHECK(strstr(teamsop_last_error_message(), p.tokens[0]) == NULL);
  CHECK_RESULT(get_long(c, "gone"), TEAMSOP_ERR_NOT_FOUND);
  CHECK(strstr(teamsop_last_error_message(), p.tokens[0]) == NULL);
  CHECK(count_lines(&log, TEAMSOP_LOG_ERROR, NULL) == 2);
  check_lines_clean(&log, p.tokens[0]);
  teamsop_client_free(c);
  capture_free(&log);
  provider_free(&p);
}

/* ==================================================================== log */

static void ignore_line(void *user_data, teamsop_log_level level, const char *line) {
  (void)user_data;
  (void)level;
  (void)line;
}

TEST(test_log_levels_out_of_range) {
  teamsop_client *c = new_client(g_token);
  static const uint32_t bad[] = {0, 5, 6, 100, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_RESULT(teamsop_client_set_log(c, bad[i], ignore_line, NULL),
                 TEAMSOP_ERR_INVALID_ARGUMENT);
    CHECK(strstr(teamsop_last_error_message(), "max_level") != NULL);
    CHECK_RESULT(teamsop_client_set_log(c, bad[i], NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  }
  for (uint32_t level = 1; level <= 4; level++) {
    CHECK_RESULT(teamsop_client_set_log(c, level, ignore_line, NULL), TEAMSOP_OK);
    CHECK_RESULT(teamsop_client_set_log(c, level, NULL, NULL), TEAMSOP_OK);
  }
  CHECK_RESULT(teamsop_client_set_log(NULL, TEAMSOP_LOG_INFO, ignore_line, NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(teamsop_client_set_log(NULL, TEAMSOP_LOG_INFO, NULL, NULL),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  /* A refused setting changes nothing: the callback set before still gets lines. */
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_INFO, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_log(c, 0, NULL, NULL), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), 1);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_log_error_line_for_a_failed_call) {
  fresh();
  teamsop_client *c = new_client(g_token);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_ERROR, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_OK);
  CHECK_EQ_INT(log.n, 0);
  /* A GET answered 404. */
  CHECK_RESULT(get_long(c, "gone"), TEAMSOP_ERR_NOT_FOUND);
  const char *message = teamsop_last_error_message();
  char line[2048];
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, NULL), 1);
  CHECK(find_line(&log, TEAMSOP_LOG_ERROR, NULL, 0, line, sizeof line));
  /* The line has the result and the message; inside it, the callback saw that
   * very message as the last error. */
  CHECK(strstr(line, "TEAMSOP_ERR_NOT_FOUND") != NULL);
  if (!CHECK(strstr(line, message) != NULL)) {
    CHECK_NOTE("line: %s; message: %s", line, message);
  }
  CHECK_STREQ(log.last_error_seen, message);
  /* A wait ending in a timeout, a refused location, no token. */
  capture_clear(&log);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, LOC("progress"), 300, NULL, NULL, &op), TEAMSOP_ERR_TIMEOUT);
  CHECK(find_line(&log, TEAMSOP_LOG_ERROR, "TEAMSOP_ERR_TIMEOUT", 0, line, sizeof line));
  CHECK(strstr(line, teamsop_last_error_message()) != NULL);
  CHECK_STREQ(log.last_error_seen, teamsop_last_error_message());
  CHECK_RESULT(teamsop_wait(c, "/nowhere('x')", 300, NULL, NULL, &op),
               TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK(find_line(&log, TEAMSOP_LOG_ERROR, "TEAMSOP_ERR_INVALID_ARGUMENT", 0, line, sizeof line));
  CHECK_STREQ(log.last_error_seen, teamsop_last_error_message());
  CHECK_RESULT(teamsop_get_team_operation(c, "", "x", &op), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, "TEAMSOP_ERR_INVALID_ARGUMENT"), 2);
  CHECK_STREQ(log.last_error_seen, teamsop_last_error_message());
  CHECK_RESULT(teamsop_client_set_token(c, NULL), TEAMSOP_OK);
  CHECK_RESULT(get_team_op(c), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK(find_line(&log, TEAMSOP_LOG_ERROR, "teamsop_client_set_token", 0, line, sizeof line));
  CHECK(strstr(line, "Client::") == NULL);
  CHECK_STREQ(log.last_error_seen, teamsop_last_error_message());
  CHECK(strstr(line, teamsop_last_error_message()) != NULL);
  CHECK_EQ_INT(count_lines(&log, 0, NULL), count_lines(&log, TEAMSOP_LOG_ERROR, NULL));
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_log_warn_line_per_retry) {
  fresh();
  teamsop_client *c = new_client(g_token);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_WARN, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "paced"), TEAMSOP_OK);
  CHECK_EQ_INT(count_lines(&log, 0, NULL), 2);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_WARN, NULL), 2);
  char line[2048];
  CHECK(find_line(&log, TEAMSOP_LOG_WARN, NULL, 0, line, sizeof line));
  CHECK(strstr(line, "retry 1 of 3") != NULL);
  CHECK(strstr(line, "429") != NULL);
  CHECK(strstr(line, "pausing 1000 ms") != NULL);
  CHECK(strstr(line, "/beta/teams/long/operations/paced") != NULL);
  CHECK(find_line(&log, TEAMSOP_LOG_WARN, NULL, 1, line, sizeof line));
  CHECK(strstr(line, "retry 2 of 3") != NULL);
  CHECK(strstr(line, "503") != NULL);
  CHECK(strstr(line, "pausing 1000 ms") != NULL);
  /* No WARN without a retry; retries spent: the WARN lines, then the ERROR. */
  capture_clear(&log);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 1), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 60000), TEAMSOP_OK);
  /* A throttled GET with a 30 s Retry-After and a 2 s timeout: no pause fits. */
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 2000), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "throttled"), TEAMSOP_ERR_THROTTLED);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_WARN, NULL), 0);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, "TEAMSOP_ERR_THROTTLED"), 1);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_log_info_line_per_exchange) {
  fresh();
  teamsop_client *c = new_client(g_token);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_INFO, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "retried"), TEAMSOP_OK);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), 3);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_WARN, NULL), 2);
  char *record = emu_control_requests(g_port);
  const char *reqs[3] = {NULL, NULL, NULL};
  CHECK_EQ_INT(emu_requests_to(record, "/beta/teams/long/operations/retried", reqs, 3), 3);
  static const char *const status[] = {"429", "503", "200"};
  static const char *const request_id[] = {"rid-1", "rid-2", "rid-3"};
  char url[512];
  snprintf(url, sizeof url, "%s/teams/long/operations/retried", g_base_url);
  for (int i = 0; i < 3; i++) {
    char line[2048];
    CHECK(find_line(&log, TEAMSOP_LOG_INFO, NULL, i, line, sizeof line));
    char *sent_id = emu_request_header(reqs[i], "client-request-id");
    char want[768];
    /* method, URL, status, milliseconds, request-id, client-request-id */
    snprintf(want, sizeof want, "GET %s -> %s in ", url, status[i]);
    if (!CHECK(strncmp(line, want, strlen(want)) == 0)) {
      CHECK_NOTE("line: %s; wanted it to start with %s", line, want);
    }
    const char *ms = line + strlen(want);
    char *after = NULL;
    strtol(ms, &after, 10);
    CHECK(after != ms && strncmp(after, " ms", 3) == 0);
    snprintf(want, sizeof want, "request-id %s", request_id[i]);
    CHECK(strstr(line, want) != NULL);
    CHECK(sent_id != NULL && is_guid(sent_id));
    snprintf(want, sizeof want, "client-request-id %s", sent_id != NULL ? sent_id : "?");
    if (!CHECK(strstr(line, want) != NULL)) {
      CHECK_NOTE("line: %s", line);
    }
    free(sent_id);
  }
  free(record);
  /* One line for an exchange that got no answer, none for a call that sent nothing. */
  capture_clear(&log);
  CHECK_RESULT(teamsop_client_set_base_url(c, "http://127.0.0.1:1/beta"), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_ERR_TRANSPORT);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, "GET http://127.0.0.1:1/beta/teams/long/operations/done -> no answer"), 1);
  CHECK_RESULT(teamsop_client_set_token(c, NULL), TEAMSOP_OK);
  capture_clear(&log);
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_ERR_INVALID_ARGUMENT);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), 0);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_log_debug_lines) {
  long failures = failures_now();
  fresh();
  struct provider p;
  provider_init(&p, PROVIDE_MINT);
  teamsop_client *c = new_client(NULL);
  CHECK_RESULT(teamsop_client_set_token_provider(c, provide, &p), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 50), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_wait(c, LOC("late"), 10000, NULL, NULL, &op), TEAMSOP_OK);
  teamsop_free(op);
  /* A token renewal, a 404 re-poll, the pacing, a new connection. */
  CHECK(count_lines(&log, TEAMSOP_LOG_DEBUG, "token") >= 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_DEBUG, "404"), 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_DEBUG, "next poll in"), 2);
  CHECK(count_lines(&log, TEAMSOP_LOG_DEBUG, "connection") >= 1);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), 3);
  check_lines_clean(&log, p.tokens[0]);
  if (failures_now() != failures) {
    print_lines(&log);
  }
  teamsop_client_free(c);
  capture_free(&log);
  provider_free(&p);
}

TEST(test_log_debug_line_for_a_proxy) {
  /* A proxy applies to https:// only, and never to plain-http loopback. */
  setenv("https_proxy", "http://127.0.0.1:1", 1);
  teamsop_client *c = teamsop_client_new(g_token);
  unsetenv("https_proxy");
  if (!CHECK_NOT_NULL(c)) {
    return;
  }
  CHECK_RESULT(teamsop_client_set_base_url(c, "https://127.0.0.1:9/beta"), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 5000), TEAMSOP_OK);
  CHECK_RESULT(teamsop_client_set_max_retries(c, 0), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_ERR_TRANSPORT);
  CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_DEBUG, "proxy 127.0.0.1:1"), 1);
  CHECK(count_lines(&log, TEAMSOP_LOG_ERROR, "127.0.0.1:1") == 1);
  check_lines_clean(&log, g_token);
  teamsop_client_free(c);
  capture_free(&log);
}

TEST(test_log_max_level_filters) {
  for (uint32_t max = 1; max <= 4; max++) {
    fresh();
    teamsop_client *c = new_client(g_token);
    struct capture log;
    capture_init(&log);
    CHECK_RESULT(teamsop_client_set_log(c, max, on_log, &log), TEAMSOP_OK);
    /* 429 and 503 retried, then a 200 (two WARN, three INFO lines); then a
     * 404 (one INFO, one ERROR line). */
    CHECK_RESULT(get_long(c, "retried"), TEAMSOP_OK);
    CHECK_RESULT(get_long(c, "gone"), TEAMSOP_ERR_NOT_FOUND);
    CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_ERROR, NULL), 1);
    CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_WARN, NULL), max >= 2 ? 2 : 0);
    CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_INFO, NULL), max >= 3 ? 4 : 0);
    if (max >= 4) {
      CHECK(count_lines(&log, TEAMSOP_LOG_DEBUG, NULL) >= 1);
    } else {
      CHECK_EQ_INT(count_lines(&log, TEAMSOP_LOG_DEBUG, NULL), 0);
    }
    check_lines_clean(&log, g_token);
    teamsop_client_free(c);
    capture_free(&log);
  }
}

/* A log callback may call into the library, the same client included. */
struct reentrant_log {
  const teamsop_client *client;
  int depth;
  int nested_ok;
  int lines;
};

static void reentrant_line(void *user_data, teamsop_log_level level, const char *line) {
  (void)line;
  struct reentrant_log *r = user_data;
  r->lines++;
  if (level == TEAMSOP_LOG_INFO && r->depth == 0) {
    r->depth++;
    if (get_long(r->client, "done") == TEAMSOP_OK) {
      r->nested_ok++;
    }
    r->depth--;
  }
}

TEST(test_log_callback_calls_into_the_library) {
  fresh();
  teamsop_client *c = new_client(g_token);
  struct reentrant_log r = {c, 0, 0, 0};
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, reentrant_line, &r), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_OK);
  CHECK_EQ_INT(r.nested_ok, 1);
  CHECK_EQ_INT(requests_to("/beta/teams/long/operations/done"), 2);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, NULL, NULL), TEAMSOP_OK);
  int lines = r.lines;
  CHECK_RESULT(get_long(c, "done"), TEAMSOP_OK);
  CHECK_EQ_INT(r.lines, lines);
  teamsop_client_free(c);
}

/* ----------------------------------------------- TEAMSOP_LOG, in a child */

/* The child: a client made with TEAMSOP_LOG in its environment, a GET that
 * works and one that fails. `off` turns logging off first. */
static int log_child(const char *mode) {
  teamsop_client *c = teamsop_client_new(getenv("TEAMSOP_TOKEN"));
  if (c == NULL || teamsop_client_set_base_url(c, getenv("TEAMSOP_BASE_URL")) != TEAMSOP_OK) {
    return 3;
  }
  if (strcmp(mode, "off") == 0 &&
      teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, NULL, NULL) != TEAMSOP_OK) {
    return 4;
  }
  if (get_team_op(c) != TEAMSOP_OK || get_long(c, "gone") != TEAMSOP_ERR_NOT_FOUND) {
    return 5;
  }
  teamsop_client_free(c);
  return 0;
}

/* Runs this program as a log child with TEAMSOP_LOG=`level` (NULL: unset);
 * returns its stderr (malloc'd) and its exit status in *status. */
static char *run_log_child(const char *level, const char *mode, int *status) {
  int fds[2];
  *status = -1;
  if (pipe(fds) != 0) {
    return NULL;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    if (level != NULL) {
      setenv("TEAMSOP_LOG", level, 1);
    } else {
      unsetenv("TEAMSOP_LOG");
    }
    char *args[] = {g_self, (char *)"--log-child", (char *)mode, NULL};
    execv(g_self, args);
    _exit(127);
  }
  close(fds[1]);
  size_t cap = 65536, len = 0;
  char *out = malloc(cap);
  for (;;) {
    if (len + 1 >= cap) {
      cap *= 2;
      out = realloc(out, cap);
    }
    ssize_t r = read(fds[0], out + len, cap - len - 1);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    len += (size_t)r;
  }
  out[len] = '\0';
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return out;
}

/* How many lines of `text` start with `prefix`; *all_prefixed tells whether every
 * line does. */
static int prefixed_lines(const char *text, const char *prefix, const char *needle,
                          bool *all_prefixed) {
  int n = 0;
  *all_prefixed = true;
  for (const char *p = text; *p != '\0';) {
    const char *end = strchr(p, '\n');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    bool has_prefix = strncmp(p, prefix, strlen(prefix)) == 0;
    *all_prefixed &= has_prefix;
    char *line = strndup(p, len);
    if (has_prefix && (needle == NULL || strstr(line, needle) != NULL)) {
      n++;
    }
    free(line);
    p += len + (end != NULL ? 1 : 0);
  }
  return n;
}

TEST(test_log_env_teamsop_log_to_stderr) {
  long failures = failures_now();
  fresh();
  int status = 0;
  bool all_prefixed = false;
  char *err = run_log_child("info", "env", &status);
  CHECK_EQ_INT(status, 0);
  if (CHECK_NOT_NULL(err)) {
    /* Two INFO lines, one ERROR line, each "teamsop: " and nothing else. */
    CHECK_EQ_INT(prefixed_lines(err, "teamsop: ", NULL, &all_prefixed), 3);
    CHECK(all_prefixed);
    CHECK_EQ_INT(prefixed_lines(err, "teamsop: GET http", NULL, &all_prefixed), 2);
    CHECK_EQ_INT(prefixed_lines(err, "teamsop: ", "-> 200 in ", &all_prefixed), 1);
    CHECK_EQ_INT(prefixed_lines(err, "teamsop: ", "-> 404 in ", &all_prefixed), 1);
    CHECK_EQ_INT(prefixed_lines(err, "teamsop: ", "TEAMSOP_ERR_NOT_FOUND", &all_prefixed), 1);
    CHECK(strstr(err, g_token) == NULL);
    if (failures_now() != failures) {
      fprintf(stderr, "    child's stderr:\n%s", err);
    }
  }
  free(err);
  /* Levels: DEBUG has more, WARN and ERROR have only the ERROR line here. */
  err = run_log_child("DEBUG", "env", &status);
  CHECK_EQ_INT(status, 0);
  CHECK(err != NULL && prefixed_lines(err, "teamsop: ", NULL, &all_prefixed) > 3 && all_prefixed);
  free(err);
  err = run_log_child("warn", "env", &status);
  CHECK_EQ_INT(status, 0);
  CHECK(err != NULL && prefixed_lines(err, "teamsop: ", NULL, &all_prefixed) == 1 && all_prefixed);
  CHECK(err != NULL && prefixed_lines(err, "teamsop: ", "TEAMSOP_ERR_NOT_FOUND", &all_prefixed) == 1);
  free(err);
  /* Unset, or not a level: nothing. */
  static const char *const silent[] = {NULL, "", "verbose", "3"};
  for (size_t i = 0; i < sizeof silent / sizeof silent[0]; i++) {
    err = run_log_child(silent[i], "env", &status);
    CHECK_EQ_INT(status, 0);
    CHECK_STREQ(err, "");
    free(err);
  }
  /* teamsop_client_set_log with fn NULL turns TEAMSOP_LOG off too. */
  err = run_log_child("debug", "off", &status);
  CHECK_EQ_INT(status, 0);
  CHECK_STREQ(err, "");
  free(err);
}

/* ------------------------------------------ the token in no line, ever */

/* `line` with each GUID replaced by "<id>" and each run of digits by "#". */
static void normalise(const char *line, char *out, size_t out_len) {
  size_t o = 0;
  for (const char *p = line; *p != '\0' && o + 5 < out_len;) {
    char guid[37];
    snprintf(guid, sizeof guid, "%.36s", p);
    if (is_guid(guid)) {
      memcpy(out + o, "<id>", 4);
      o += 4;
      p += 36;
    } else if (*p >= '0' && *p <= '9') {
      out[o++] = '#';
      while (*p >= '0' && *p <= '9') {
        p++;
      }
    } else {
      out[o++] = *p++;
    }
  }
  out[o] = '\0';
}

/* The same calls with `token` logged at DEBUG: the lines, normalised. */
static int lines_under(const char *token, char ***out) {
  fresh();
  teamsop_client *c = new_client(token);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 20), TEAMSOP_OK);
  struct capture log;
  capture_init(&log);
  CHECK_RESULT(teamsop_client_set_log(c, TEAMSOP_LOG_DEBUG, on_log, &log), TEAMSOP_OK);
  teamsop_operation *op = NULL;
  CHECK_RESULT(get_long(c, "calm"), TEAMSOP_OK);
  CHECK_RESULT(get_long(c, "forbidden"), TEAMSOP_ERR_FORBIDDEN);
  CHECK_RESULT(get_long(c, "nowhere"), TEAMSOP_ERR_NOT_FOUND);
  CHECK_RESULT(teamsop_wait(c, LOC("late"), 10000, NULL, NULL, &op), TEAMSOP_OK);
  teamsop_free(op);
  CHECK_RESULT(teamsop_wait(c, LOC("progress"), 200, NULL, NULL, &op), TEAMSOP_ERR_TIMEOUT);
  *out = calloc((size_t)log.n, sizeof **out);
  for (int i = 0; i < log.n; i++) {
    char buf[4096];
    normalise(log.line[i], buf, sizeof buf);
    (*out)[i] = strdup(buf);
  }
  int n = log.n;
  if (strlen(token) > 1) {
    check_lines_clean(&log, token);
  }
  teamsop_client_free(c);
  capture_free(&log);
  return n;
}

TEST(test_log_lines_never_hold_the_token) {
  char **long_lines = NULL, **short_lines = NULL;
  int n_long = lines_under("a-long-token-that-must-never-show-0123456789", &long_lines);
  int n_short = lines_under("t", &short_lines);
  CHECK(n_long > 10);
  /* The timeout's last poll may or may not fit: compare what both have. */
  int n = n_long < n_short ? n_long : n_short;
  CHECK(abs(n_long - n_short) <= 2);
  for (int i = 0; i < n; i++) {
    if (!CHECK_STREQ(short_lines[i], long_lines[i])) {
      CHECK_NOTE("line %d differs with a one-character token", i);
    }
  }
  for (int i = 0; i < n_long; i++) {
    free(long_lines[i]);
  }
  for (int i = 0; i < n_short; i++) {
    free(short_lines[i]);
  }
  free(long_lines);
  free(short_lines);
}

static check_test g_tests[] = {
    CHECK_TEST_ENTRY(test_cancel_null_and_many_triggers),
    CHECK_TEST_ENTRY(test_cancel_triggered_from_many_threads_at_once),
    CHECK_TEST_ENTRY(test_cancel_before_the_call_sends_nothing),
    CHECK_TEST_ENTRY(test_cancel_null_is_teamsop_wait),
    CHECK_TEST_ENTRY(test_cancel_in_a_get),
    CHECK_TEST_ENTRY(test_cancel_in_a_retry_pause),
    CHECK_TEST_ENTRY(test_cancel_between_polls),
    CHECK_TEST_ENTRY(test_cancel_triggered_inside_on_poll),
    CHECK_TEST_ENTRY(test_cancel_freed_after_use),
    CHECK_TEST_ENTRY(test_cancel_one_trigger_ends_every_call_using_it),
    CHECK_TEST_ENTRY(test_cancel_latency),
    CHECK_TEST_ENTRY(test_cancel_does_not_interrupt_a_running_provider),
    CHECK_TEST_ENTRY(test_provider_null_arguments),
    CHECK_TEST_ENTRY(test_provider_renews_before_expiry),
    CHECK_TEST_ENTRY(test_provider_renews_before_each_retry),
    CHECK_TEST_ENTRY(test_provider_after_a_401_with_claims),
    CHECK_TEST_ENTRY(test_provider_no_401_loop),
    CHECK_TEST_ENTRY(test_provider_never_called_twice_at_once),
    CHECK_TEST_ENTRY(test_provider_declining),
    CHECK_TEST_ENTRY(test_provider_answers_that_cannot_be_sent),
    CHECK_TEST_ENTRY(test_provider_unknown_expiry_renewed_only_after_a_401),
    CHECK_TEST_ENTRY(test_provider_blocking_past_the_client_timeout),
    CHECK_TEST_ENTRY(test_provider_blocking_while_others_wait),
    CHECK_TEST_ENTRY(test_provider_calling_back_into_the_library),
    CHECK_TEST_ENTRY(test_provider_removed_keeps_its_last_token),
    CHECK_TEST_ENTRY(test_provider_set_token_used_until_a_401),
    CHECK_TEST_ENTRY(test_provider_failing_before_expiry_keeps_the_current_token),
    CHECK_TEST_ENTRY(test_provider_token_stays_on_its_host_and_out_of_text),
    CHECK_TEST_ENTRY(test_log_levels_out_of_range),
    CHECK_TEST_ENTRY(test_log_error_line_for_a_failed_call),
    CHECK_TEST_ENTRY(test_log_warn_line_per_retry),
    CHECK_TEST_ENTRY(test_log_info_line_per_exchange),
    CHECK_TEST_ENTRY(test_log_debug_lines),
    CHECK_TEST_ENTRY(test_log_debug_line_for_a_proxy),
    CHECK_TEST_ENTRY(test_log_max_level_filters),
    CHECK_TEST_ENTRY(test_log_callback_calls_into_the_library),
    CHECK_TEST_ENTRY(test_log_env_teamsop_log_to_stderr),
    CHECK_TEST_ENTRY(test_log_lines_never_hold_the_token),
};

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--log-child") == 0) {
    return log_child(argv[2]);
  }
  int status = check_parse_args(argc, argv, "test_long", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe("SIGPIPE raised", NULL);
  struct emu_env env = emu_env_plain_http("test_long");
  g_base_url = env.base_url;
  g_token = env.token;
  g_port = env.port;
  g_time_factor = test_time_factor();
  /* This program, to run again as the TEAMSOP_LOG child. */
  g_self = calloc(4096, 1);
  if (g_self == NULL || readlink("/proc/self/exe", g_self, 4095) <= 0) {
    fprintf(stderr, "test_long: cannot find myself (%s)\n", argv[0]);
    return 2;
  }
  /* The tests count what the log says: none of the environment's logging. */
  unsetenv("TEAMSOP_LOG");
  test_set_secrets(g_token, NULL, 0);

  double t0 = now_s();
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  printf("test_long: %.2f s\n", now_s() - t0);
  free(g_self);
  return CHECK_SUMMARY();
}
