/*
 * threads.c (test_abi): one client shared by threads calling and setting at once; one operation
 * read from several threads.
 */
#include "abi.h"

/* ================================================================ threads */

#define WORKERS 8
#define GETS_PER_WORKER 200

static atomic_int g_workers_left;
static atomic_int g_gets_ok;
static atomic_int g_gets_wrong;
static atomic_int g_setter_calls;
static atomic_int g_setter_failures;

static void *get_worker(void *arg) {
  const teamsop_client *c = arg;
  for (int i = 0; i < GETS_PER_WORKER; i++) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
    if (r == TEAMSOP_OK && op != NULL && teamsop_operation_id(op) != NULL &&
        strcmp(teamsop_operation_id(op), SEED_OP) == 0 &&
        teamsop_operation_status(op) == TEAMSOP_STATUS_SUCCEEDED) {
      atomic_fetch_add(&g_gets_ok, 1);
    } else {
      if (atomic_fetch_add(&g_gets_wrong, 1) < 5) {
        fprintf(stderr, "    thread GET: %s: %s\n", teamsop_result_str((uint32_t)r),
                teamsop_last_error_message());
      }
    }
    teamsop_free(op);
  }
  atomic_fetch_sub(&g_workers_left, 1);
  return NULL;
}

static void *setter_worker(void *arg) {
  teamsop_client *c = arg;
  for (uint32_t i = 0; atomic_load(&g_workers_left) > 0; i++) {
    int bad = 0;
    bad += teamsop_client_set_timeout_ms(c, (i % 2 == 0) ? 20000 : 30000) != TEAMSOP_OK;
    bad += teamsop_client_set_select(c, NULL) != TEAMSOP_OK;
    bad += teamsop_client_set_max_retries(c, 3) != TEAMSOP_OK;
    bad += teamsop_client_set_poll_interval_ms(c, 100 + i % 7) != TEAMSOP_OK;
    bad += teamsop_client_set_max_body_bytes(c, 1024 * 1024 + i % 3) != TEAMSOP_OK;
    bad += teamsop_client_set_token(c, g_token) != TEAMSOP_OK;
    bad += teamsop_client_set_base_url(c, g_base_url) != TEAMSOP_OK;
    /* A refused setting, concurrently, changes nothing. */
    bad += teamsop_client_set_base_url(c, "http://evil.example/beta") != TEAMSOP_ERR_INVALID_ARGUMENT;
    atomic_fetch_add(&g_setter_calls, 8);
    atomic_fetch_add(&g_setter_failures, bad);
    struct timespec pause = {0, 1000000}; /* 1 ms */
    nanosleep(&pause, NULL);
  }
  return NULL;
}

TEST(test_threads) {
  teamsop_client *c = new_client();
  atomic_store(&g_workers_left, WORKERS);
  atomic_store(&g_gets_ok, 0);
  atomic_store(&g_gets_wrong, 0);
  pthread_t workers[WORKERS], setter;
  double t0 = now_s();
  for (int i = 0; i < WORKERS; i++) {
    CHECK_EQ_INT(pthread_create(&workers[i], NULL, get_worker, c), 0);
  }
  CHECK_EQ_INT(pthread_create(&setter, NULL, setter_worker, c), 0);
  for (int i = 0; i < WORKERS; i++) {
    pthread_join(workers[i], NULL);
  }
  pthread_join(setter, NULL);
  CHECK_EQ_INT(atomic_load(&g_gets_ok), WORKERS * GETS_PER_WORKER);
  CHECK_EQ_INT(atomic_load(&g_gets_wrong), 0);
  CHECK(atomic_load(&g_setter_calls) > 0);
  CHECK_EQ_INT(atomic_load(&g_setter_failures), 0);
  printf("    %d GETs on %d threads in %.2f s, %d setter calls alongside\n",
         WORKERS * GETS_PER_WORKER, WORKERS, now_s() - t0, atomic_load(&g_setter_calls));
  teamsop_client_free(c);
}

/* One operation, read from several threads at once. */
static void *read_operation(void *arg) {
  const teamsop_operation *op = arg;
  int bad = 0;
  for (int i = 0; i < 1000; i++) {
    bad += strcmp(teamsop_operation_id(op), SEED_OP) != 0;
    bad += teamsop_operation_created_unix_ms(op) != SEED_CREATED_MS;
    bad += teamsop_operation_status(op) != TEAMSOP_STATUS_SUCCEEDED;
  }
  return (void *)(intptr_t)bad;
}

TEST(test_operation_shared_between_threads) {
  teamsop_operation *op = NULL;
  CHECK_RESULT(parse_exact(g_fixture, g_fixture_len, &op), TEAMSOP_OK);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) {
    CHECK_EQ_INT(pthread_create(&t[i], NULL, read_operation, op), 0);
  }
  for (int i = 0; i < 4; i++) {
    void *bad = NULL;
    pthread_join(t[i], &bad);
    CHECK_EQ_INT((intptr_t)bad, 0);
  }
  teamsop_free(op);
}
