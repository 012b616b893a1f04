/*
 * test_hostile.c: hostile servers, processes and proxies, from C through the ABI
 * (issue "Hostile servers, processes and proxies").
 *
 * Most of all fork(): after one call, a process forks and parent and child keep
 * using the same client. The child must never use a connection it inherited: it
 * opens its own, and leaves the parent's working (the parent goes on on the very
 * connection it had). Each then receives only its own answers. A fork while
 * another thread is inside a call, or while threads hammer the client, must not
 * leave the child blocked on a lock that thread held. A child may free the
 * client without disturbing the parent. And a fork inside teamsop_wait's
 * callback lets the wait go on in both processes.
 *
 * Then, briefly, the same fixes as tests/hostile_*.rs check from Rust: a
 * Retry-After past any deadline, a Content-Length far above what is sent under
 * an unlimited cap, a base URL with a line feed, a redirect carrying user
 * information, and a one-letter token that must not scramble messages.
 *
 * Run it under scripts/with-emulator.sh (plain http: it reads the emulator's
 * request record through emulator_control.h):
 *
 *   scripts/with-emulator.sh -- out/test_hostile
 *
 * It loads its scenarios itself. Exit status 0 when every check passed.
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
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"
#include "emulator_control.h"
/* check.h, with check_no_sigpipe() after each test; SEED_CHAT, SEED_OP, now_s,
 * CHECK_RESULT, test_client_ready. */
#include "test_support.h"

static const char *g_base_url; /* TEAMSOP_BASE_URL */
static const char *g_token;    /* TEAMSOP_TOKEN */
static int g_port;             /* the emulator's port */

/* How many GETs parent and child each make after the fork. */
#define FORK_ROUNDS 40
/* A child that has not finished by then is taken for deadlocked. */
#define CHILD_ALARM_S 20

static const char *const k_scenarios =
    "["
    "{\"path\":\"/beta/teams/fork/operations/parent\",\"responses\":[{\"status\":200,"
    "\"json\":{\"id\":\"parent-op\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/fork/operations/child\",\"responses\":[{\"status\":200,"
    "\"json\":{\"id\":\"child-op\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/fork/operations/progress\",\"responses\":["
    "{\"status\":200,\"json\":{\"id\":\"progress-op\",\"status\":\"inProgress\"}},"
    "{\"status\":200,\"json\":{\"id\":\"progress-op\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/fork/operations/slow\",\"responses\":[{\"status\":200,\"delay_ms\":1500,"
    "\"json\":{\"id\":\"slow-op\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/hostile/operations/huge-retry-after\",\"responses\":[{\"status\":429,"
    "\"headers\":{\"Retry-After\":\"9223372036854775807\"},"
    "\"json\":{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"slow down\"}}}]},"
    "{\"path\":\"/beta/teams/hostile/operations/huge-length\",\"responses\":[{\"status\":200,"
    "\"content_length\":1099511627776,\"json\":{\"id\":\"short\",\"status\":\"succeeded\"}}]},"
    "{\"path\":\"/beta/teams/hostile/operations/forbidden\",\"responses\":[{\"status\":403,"
    "\"json\":{\"error\":{\"code\":\"NoRoom\",\"message\":\"Grim sound\"}}}]}"
    "]";

/* ---------------------------------------------------------------- helpers */

/* A GET of team operation `op` of team `team`: its id (malloc'd) on TEAMSOP_OK,
 * else NULL. */
static char *get_id(const teamsop_client *c, const char *team, const char *op,
                    teamsop_result *result) {
  teamsop_operation *out = NULL;
  *result = teamsop_get_team_operation(c, team, op, &out);
  if (*result != TEAMSOP_OK) {
    return NULL;
  }
  const char *id = teamsop_operation_id(out);
  char *copy = id != NULL ? strdup(id) : NULL;
  teamsop_free(out);
  return copy;
}

/* The same through teamsop_wait (the operation is already terminal). */
static char *wait_id(const teamsop_client *c, const char *team, const char *op,
                     teamsop_result *result) {
  char location[256];
  snprintf(location, sizeof location, "/teams('%s')/operations('%s')", team, op);
  teamsop_operation *out = NULL;
  *result = teamsop_wait(c, location, 10000, NULL, NULL, &out);
  if (*result != TEAMSOP_OK) {
    return NULL;
  }
  const char *id = teamsop_operation_id(out);
  char *copy = id != NULL ? strdup(id) : NULL;
  teamsop_free(out);
  return copy;
}

/* `rounds` GETs (and as many waits) of operation `op`, each expected to give the
 * operation `want_id`; returns how many did not. Usable in a child (no CHECK:
 * a child's counters die with it); failures are printed. */
static int own_answers(const teamsop_client *c, const char *op, const char *want_id, int rounds,
                       const char *who) {
  int wrong = 0;
  for (int i = 0; i < rounds; i++) {
    for (int how = 0; how < 2; how++) {
      teamsop_result r;
      char *id = how == 0 ? get_id(c, "fork", op, &r) : wait_id(c, "fork", op, &r);
      if (r != TEAMSOP_OK || id == NULL || strcmp(id, want_id) != 0) {
        fprintf(stderr, "    %s: %s %d: %s, id %s (want %s): %s\n", who,
                how == 0 ? "get" : "wait", i, teamsop_result_str((uint32_t)r),
                id != NULL ? id : "(none)", want_id,
                r != TEAMSOP_OK ? teamsop_last_error_message() : "");
        wrong++;
      }
      free(id);
    }
  }
  return wrong;
}

/* How a child ends, once it has written its result (one byte) to the pipe:
 * _exit, or SIGKILL. A child forked while other threads were inside calls holds
 * memory those threads owned, which nothing in the child can reach or free (the
 * threads do not exist there): valgrind would call it lost at exit. Such a child
 * kills itself, so no exit-time leak check runs; the others _exit, and under
 * valgrind theirs does. */
enum child_end { CHILD_EXITS, CHILD_IS_KILLED };

struct child {
  pid_t pid;
  int result_fd; /* read end of the child's result pipe */
  enum child_end end;
};

/* Forks; the child runs `child(arg)` under an alarm, writes its result (0 =
 * passed) to a pipe and ends as `end` says. */
static struct child fork_child(int (*run)(void *), void *arg, enum child_end end) {
  struct child out = {-1, -1, end};
  int fds[2];
  if (pipe(fds) != 0) {
    return out;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    alarm(CHILD_ALARM_S);
    unsigned char result = run(arg) == 0 ? 0 : 1;
    if (write(fds[1], &result, 1) != 1) {
      _exit(3);
    }
    if (end == CHILD_IS_KILLED) {
      raise(SIGKILL);
    }
    _exit(result);
  }
  close(fds[1]);
  out.pid = pid;
  out.result_fd = fds[0];
  if (pid < 0) {
    close(fds[0]);
    out.result_fd = -1;
  }
  return out;
}

/* Waits for the child; true when it reported success and ended as it should. */
static bool child_passed(struct child child, const char *what) {
  if (child.pid < 0) {
    fprintf(stderr, "    %s: fork failed\n", what);
    return false;
  }
  unsigned char result = 2;
  ssize_t got_result;
  do {
    got_result = read(child.result_fd, &result, 1);
  } while (got_result < 0 && errno == EINTR);
  close(child.result_fd);
  int status = 0;
  pid_t got;
  do {
    got = waitpid(child.pid, &status, 0);
  } while (got < 0 && errno == EINTR);
  if (got != child.pid) {
    fprintf(stderr, "    %s: waitpid failed\n", what);
    return false;
  }
  if (got_result != 1) {
    fprintf(stderr, "    %s: the child reported nothing (%s %d)%s\n", what,
            WIFSIGNALED(status) ? "signal" : "exit status",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
            WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? ": deadlocked?" : "");
    return false;
  }
  if (result != 0) {
    fprintf(stderr, "    %s: the child's checks failed\n", what);
    return false;
  }
  bool ended_well = child.end == CHILD_IS_KILLED
                        ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL
                        : WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ended_well) {
    /* Under valgrind, 99: the exit-time leak check found something. */
    fprintf(stderr, "    %s: the child passed, then ended with %s %d\n", what,
            WIFSIGNALED(status) ? "signal" : "exit status",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  return ended_well;
}

/* The emulator's connection numbers of the recorded requests to `path`: up to
 * `max` into `out`; returns how many requests there were (-1: no record). */
static int connections_of(const char *log, const char *path, long long *out, int max) {
  const char *reqs[512];
  int n = emu_requests_to(log, path, reqs, 512);
  for (int i = 0; i < n && i < 512 && i < max; i++) {
    out[i] = emu_json_member_int(reqs[i], "connection", -1);
  }
  return n;
}

static bool contains(const long long *set, int n, long long v) {
  for (int i = 0; i < n; i++) {
    if (set[i] == v) {
      return true;
    }
  }
  return false;
}

static teamsop_client *new_client(void) {
  teamsop_client *c = test_client_ready(teamsop_client_new(g_token), g_base_url, NULL);
  CHECK_RESULT(teamsop_client_set_poll_interval_ms(c, 10), TEAMSOP_OK);
  return c;
}

/* ------------------------------------------------------------------ fork */

static int child_gets_child_op(void *arg) {
  const teamsop_client *c = arg;
  return own_answers(c, "child", "child-op", FORK_ROUNDS, "child") == 0 ? 0 : 1;
}

TEST(test_fork_parent_and_child_each_get_their_own_answers) {
  teamsop_client *c = new_client();
  CHECK_EQ_INT(emu_control_clear_requests(g_port), 204);
  /* One call before the fork: a kept-alive connection both will inherit. */
  teamsop_result r;
  char *id = get_id(c, "fork", "parent", &r);
  CHECK_RESULT(r, TEAMSOP_OK);
  CHECK_STREQ(id, "parent-op");
  free(id);

  struct child child = fork_child(child_gets_child_op, c, CHILD_EXITS);
  /* At the same time, in the parent, on the same client. */
  CHECK_EQ_INT(own_answers(c, "parent", "parent-op", FORK_ROUNDS, "parent"), 0);
  CHECK(child_passed(child, "child GETs"));
  /* The parent goes on after the child is gone. */
  CHECK_EQ_INT(own_answers(c, "parent", "parent-op", 3, "parent after"), 0);

  char *log = emu_control_requests(g_port);
  CHECK_NOT_NULL(log);
  long long parent_conns[512], child_conns[512];
  int np = connections_of(log, "/beta/teams/fork/operations/parent", parent_conns, 512);
  int nc = connections_of(log, "/beta/teams/fork/operations/child", child_conns, 512);
  CHECK_EQ_INT(np, 1 + 2 * FORK_ROUNDS + 2 * 3);
  CHECK_EQ_INT(nc, 2 * FORK_ROUNDS);
  if (np > 0 && np <= 512) {
    /* Every request of the parent went on the connection it had before. */
    for (int i = 1; i < np; i++) {
      if (!CHECK_EQ_INT(parent_conns[i], parent_conns[0])) {
        CHECK_NOTE("parent request %d", i);
        break;
      }
    }
  }
  for (int i = 0; i < nc && i < 512; i++) {
    /* The child never used a connection of the parent. */
    if (!CHECK(!contains(parent_conns, np < 512 ? np : 512, child_conns[i]))) {
      CHECK_NOTE("child request %d on connection %lld", i, child_conns[i]);
      break;
    }
  }
  free(log);
  teamsop_client_free(c);
}

struct slow_call {
  const teamsop_client *client;
  teamsop_result result;
  char *id;
};

static void *slow_get(void *arg) {
  struct slow_call *call = arg;
  call->id = get_id(call->client, "fork", "slow", &call->result);
  return NULL;
}

static int child_one_get_and_wait(void *arg) {
  const teamsop_client *c = arg;
  return own_answers(c, "child", "child-op", 2, "child") == 0 ? 0 : 1;
}

TEST(test_fork_while_another_thread_is_inside_a_call) {
  teamsop_client *c = new_client();
  teamsop_result r;
  char *id = get_id(c, "fork", "parent", &r); /* a connection, and an idle lane */
  CHECK_RESULT(r, TEAMSOP_OK);
  free(id);

  struct slow_call call = {c, TEAMSOP_ERR_INTERNAL, NULL};
  pthread_t thread;
  CHECK_EQ_INT(pthread_create(&thread, NULL, slow_get, &call), 0);
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL); /* the thread is now waiting for the slow answer */

  double t0 = now_s();
  struct child child = fork_child(child_one_get_and_wait, c, CHILD_IS_KILLED);
  CHECK(child_passed(child, "child during a blocked call"));
  /* The child did not wait for the parent's slow answer. */
  CHECK(now_s() - t0 < 5.0);

  pthread_join(thread, NULL);
  CHECK_RESULT(call.result, TEAMSOP_OK);
  CHECK_STREQ(call.id, "slow-op");
  free(call.id);
  CHECK_EQ_INT(own_answers(c, "parent", "parent-op", 2, "parent after"), 0);
  teamsop_client_free(c);
}

struct hammer {
  const teamsop_client *client;
  atomic_bool *stop;
  int wrong;
};

static void *hammer_get(void *arg) {
  struct hammer *h = arg;
  while (!atomic_load(h->stop)) {
    teamsop_result r;
    char *id = get_id(h->client, "fork", "parent", &r);
    if (r != TEAMSOP_OK || id == NULL || strcmp(id, "parent-op") != 0) {
      h->wrong++;
    }
    free(id);
  }
  return NULL;
}

TEST(test_fork_while_threads_hammer_the_client) {
  /* Locks the call path takes are held at fork time now and then: a child must
   * never wait on one for ever. */
  enum { THREADS = 4, FORKS = 12 };
  teamsop_client *c = new_client();
  atomic_bool stop = false;
  struct hammer h[THREADS];
  pthread_t threads[THREADS];
  for (int i = 0; i < THREADS; i++) {
    h[i] = (struct hammer){c, &stop, 0};
    CHECK_EQ_INT(pthread_create(&threads[i], NULL, hammer_get, &h[i]), 0);
  }
  int passed = 0;
  for (int i = 0; i < FORKS; i++) {
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    struct child child = fork_child(child_one_get_and_wait, c, CHILD_IS_KILLED);
    if (child_passed(child, "child of a busy process")) {
      passed++;
    }
  }
  atomic_store(&stop, true);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    CHECK_EQ_INT(h[i].wrong, 0);
  }
  CHECK_EQ_INT(passed, FORKS);
  teamsop_client_free(c);
}

static int child_frees_the_client(void *arg) {
  teamsop_client_free(arg);
  return 0;
}

static int child_uses_then_frees_the_client(void *arg) {
  int wrong = own_answers(arg, "child", "child-op", 2, "child");
  teamsop_client_free(arg);
  return wrong == 0 ? 0 : 1;
}

TEST(test_a_child_may_free_the_client) {
  teamsop_client *c = new_client();
  CHECK_EQ_INT(emu_control_clear_requests(g_port), 204);
  CHECK_EQ_INT(own_answers(c, "parent", "parent-op", 1, "parent"), 0);
  CHECK(child_passed(fork_child(child_frees_the_client, c, CHILD_EXITS), "child frees"));
  CHECK(child_passed(fork_child(child_uses_then_frees_the_client, c, CHILD_EXITS),
                     "child uses, frees"));
  /* The parent's connection survived both. */
  CHECK_EQ_INT(own_answers(c, "parent", "parent-op", 2, "parent after"), 0);
  char *log = emu_control_requests(g_port);
  long long conns[16];
  int n = connections_of(log, "/beta/teams/fork/operations/parent", conns, 16);
  CHECK_EQ_INT(n, 2 + 4);
  for (int i = 1; i < n && i < 16; i++) {
    CHECK_EQ_INT(conns[i], conns[0]);
  }
  free(log);
  teamsop_client_free(c);
}

/* Forks from inside teamsop_wait's callback: the wait goes on in both. */
struct fork_in_callback {
  pid_t pid;       /* in the parent: the child's; in the child: 0 */
  int result_fd[2];
  int polls;
};

static bool fork_on_first_poll(const teamsop_operation *op, void *user_data) {
  struct fork_in_callback *f = user_data;
  (void)op;
  if (f->polls++ == 0) {
    fflush(stdout);
    fflush(stderr);
    f->pid = fork();
    if (f->pid == 0) {
      alarm(CHILD_ALARM_S);
    }
  }
  return true;
}

TEST(test_fork_inside_a_wait_callback) {
  teamsop_client *c = new_client();
  struct fork_in_callback f = {-1, {-1, -1}, 0};
  CHECK_EQ_INT(pipe(f.result_fd), 0);
  teamsop_operation *op = NULL;
  teamsop_result r = teamsop_wait(c, "/teams('fork')/operations('progress')", 10000,
                                  fork_on_first_poll, &f, &op);
  bool ok = r == TEAMSOP_OK && op != NULL &&
            streq(teamsop_operation_status_str(op), "succeeded") &&
            streq(teamsop_operation_id(op), "progress-op");
  if (!ok) {
    fprintf(stderr, "    %s: %s: %s\n", f.pid == 0 ? "child" : "parent",
            teamsop_result_str((uint32_t)r), r != TEAMSOP_OK ? teamsop_last_error_message() : "");
  }
  teamsop_free(op);
  if (f.pid == 0) {
    /* The child: its half of the wait is done; report and leave. */
    close(f.result_fd[0]);
    teamsop_client_free(c);
    unsigned char result = ok ? 0 : 1;
    _exit(write(f.result_fd[1], &result, 1) == 1 ? result : 3);
  }
  close(f.result_fd[1]);
  CHECK(ok);
  CHECK(f.pid > 0);
  struct child child = {f.pid, f.result_fd[0], CHILD_EXITS};
  CHECK(child_passed(child, "child of a callback"));
  teamsop_client_free(c);
}

/* ------------------------------------------------------- the other fixes */

TEST(test_retry_after_past_any_deadline_is_throttled_at_once) {
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  double t0 = now_s();
  CHECK_RESULT(teamsop_get_team_operation(c, "hostile", "huge-retry-after", &op),
               TEAMSOP_ERR_THROTTLED);
  CHECK_NULL(op);
  CHECK_EQ_INT(teamsop_last_http_status(), 429);
  op = DUMMY_OP;
  CHECK_RESULT(teamsop_wait(c, "/teams('hostile')/operations('huge-retry-after')", 10000, NULL,
                            NULL, &op),
               TEAMSOP_ERR_THROTTLED);
  CHECK_NULL(op);
  CHECK(now_s() - t0 < 2.0);
  teamsop_client_free(c);
}

TEST(test_announced_length_sizes_no_memory) {
  teamsop_client *c = new_client();
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, SIZE_MAX), TEAMSOP_OK);
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "hostile", "huge-length", &op),
               TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  CHECK(strstr(teamsop_last_error_message(), "cut short") != NULL);
  CHECK_RESULT(teamsop_client_set_max_body_bytes(c, 1024 * 1024), TEAMSOP_OK);
  CHECK_RESULT(teamsop_wait(c, "/teams('hostile')/operations('huge-length')", 10000, NULL, NULL,
                            &op),
               TEAMSOP_ERR_TOO_LARGE);
  teamsop_client_free(c);
}

TEST(test_base_url_with_a_line_feed_is_refused) {
  teamsop_client *c = new_client();
  char bad[512];
  snprintf(bad, sizeof bad, "%s\nX-Injected: 1", g_base_url);
  CHECK_RESULT(teamsop_client_set_base_url(c, bad), TEAMSOP_ERR_INVALID_ARGUMENT);
  snprintf(bad, sizeof bad, "%s\\x", g_base_url);
  CHECK_RESULT(teamsop_client_set_base_url(c, bad), TEAMSOP_ERR_INVALID_ARGUMENT);
  snprintf(bad, sizeof bad, "%s/a b", g_base_url);
  CHECK_RESULT(teamsop_client_set_base_url(c, bad), TEAMSOP_ERR_INVALID_ARGUMENT);
  /* Unchanged: still the emulator's /beta. */
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get(c, SEED_CHAT, SEED_OP, &op), TEAMSOP_OK);
  teamsop_free(op);
  teamsop_client_free(c);
}

TEST(test_redirect_with_user_information_is_refused) {
  char scenario[512];
  snprintf(scenario, sizeof scenario,
           "{\"path\":\"/beta/teams/hostile/operations/userinfo\",\"responses\":[{\"status\":302,"
           "\"headers\":{\"Location\":\"http://user:pass@127.0.0.1:%d/beta/teams/fork/operations/"
           "child\"}}]}",
           g_port);
  CHECK_EQ_INT(emu_control_load_scenarios(g_port, scenario), 204);
  CHECK_EQ_INT(emu_control_clear_requests(g_port), 204);
  teamsop_client *c = new_client();
  teamsop_operation *op = DUMMY_OP;
  CHECK_RESULT(teamsop_get_team_operation(c, "hostile", "userinfo", &op), TEAMSOP_ERR_TRANSPORT);
  CHECK_NULL(op);
  CHECK(strstr(teamsop_last_error_message(), "user information") != NULL);
  char *log = emu_control_requests(g_port);
  const char *reqs[4];
  CHECK_EQ_INT(emu_requests_to(log, "/beta/teams/fork/operations/child", reqs, 4), 0);
  free(log);
  teamsop_client_free(c);
}

TEST(test_one_letter_token_leaves_messages_whole) {
  const char *tokens[] = {"t", "e", "1", "token"};
  for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++) {
    teamsop_client *c = test_client_ready(teamsop_client_new(tokens[i]), g_base_url, NULL);
    teamsop_operation *op = NULL;
    CHECK_EQ_INT(teamsop_get_team_operation(c, "hostile", "forbidden", &op),
                 TEAMSOP_ERR_FORBIDDEN);
    CHECK_STREQ(teamsop_last_error_message(),
                "HTTP 403 Forbidden: NoRoom: Grim sound (the token lacks a permission this "
                "needs: see \"Permissions\" in libteamsop's README)");
    CHECK_STREQ(teamsop_last_graph_code(), "NoRoom");
    CHECK_RESULT(teamsop_client_set_base_url(c, "http://127.0.0.1:1/beta"), TEAMSOP_OK);
    CHECK_EQ_INT(teamsop_get_team_operation(c, "hostile", "forbidden", &op),
                 TEAMSOP_ERR_TRANSPORT);
    CHECK(strncmp(teamsop_last_error_message(), "could not connect to 127.0.0.1:1: ", 34) == 0);
    teamsop_client_free(c);
  }
}

static check_test g_tests[] = {
    CHECK_TEST_ENTRY(test_fork_parent_and_child_each_get_their_own_answers),
    CHECK_TEST_ENTRY(test_fork_while_another_thread_is_inside_a_call),
    CHECK_TEST_ENTRY(test_fork_while_threads_hammer_the_client),
    CHECK_TEST_ENTRY(test_a_child_may_free_the_client),
    CHECK_TEST_ENTRY(test_fork_inside_a_wait_callback),
    CHECK_TEST_ENTRY(test_retry_after_past_any_deadline_is_throttled_at_once),
    CHECK_TEST_ENTRY(test_announced_length_sizes_no_memory),
    CHECK_TEST_ENTRY(test_base_url_with_a_line_feed_is_refused),
    CHECK_TEST_ENTRY(test_redirect_with_user_information_is_refused),
    CHECK_TEST_ENTRY(test_one_letter_token_leaves_messages_whole),
};

int main(int argc, char **argv) {
  int status = check_parse_args(argc, argv, "test_hostile", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe("SIGPIPE raised", NULL);
  struct emu_env env = emu_env_plain_http("test_hostile");
  g_base_url = env.base_url;
  g_token = env.token;
  g_port = env.port;
  test_set_secrets(g_token, NULL, 0);
  if (emu_control_load_scenarios(g_port, k_scenarios) != 204) {
    return 2;
  }

  double t0 = now_s();
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  printf("test_hostile: %.2f s\n", now_s() - t0);
  return CHECK_SUMMARY();
}
