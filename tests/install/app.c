/*
 * tests/install/app.c: a program built against an *installed* libteamsop (see
 * run.sh): fetches the operation of Graph's documentation page from the
 * emulator and checks it. TEAMSOP_BASE_URL and TEAMSOP_TOKEN come from
 * scripts/with-emulator.sh. Exit status 0 when it is as expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <teamsop.h>

#define CHAT_ID "19:c253a29b5f694b55a6baad8e83510af7@thread.v2"
#define OPERATION_ID                                                                              \
  "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-" \
  "825e-5de55630e7e4"

static int fail(const char *what, teamsop_result result) {
  fprintf(stderr, "app: %s: %s: %s\n", what, teamsop_result_str(result),
          teamsop_last_error_message() != NULL ? teamsop_last_error_message() : "-");
  return 1;
}

int main(void) {
  const char *base_url = getenv("TEAMSOP_BASE_URL");
  const char *token = getenv("TEAMSOP_TOKEN");
  if (base_url == NULL || token == NULL) {
    fprintf(stderr, "app: set TEAMSOP_BASE_URL and TEAMSOP_TOKEN\n");
    return 2;
  }
  printf("libteamsop %s\n", teamsop_version());

  teamsop_client *client = teamsop_client_new(token);
  if (client == NULL) {
    return fail("teamsop_client_new", TEAMSOP_ERR_INVALID_ARGUMENT);
  }
  teamsop_result r = teamsop_client_set_base_url(client, base_url);
  if (r != TEAMSOP_OK) {
    teamsop_client_free(client);
    return fail("teamsop_client_set_base_url", r);
  }

  teamsop_operation *op = NULL;
  r = teamsop_get(client, CHAT_ID, OPERATION_ID, &op);
  if (r != TEAMSOP_OK) {
    teamsop_client_free(client);
    return fail("teamsop_get", r);
  }

  int status = 0;
  const char *id = teamsop_operation_id(op);
  const char *status_str = teamsop_operation_status_str(op);
  int attempts = (int)teamsop_operation_attempts_count(op);
  printf("id %s\nstatus %s\nattemptsCount %d\n", id != NULL ? id : "-",
         status_str != NULL ? status_str : "-", attempts);
  if (id == NULL || strcmp(id, OPERATION_ID) != 0) {
    fprintf(stderr, "app: unexpected id\n");
    status = 1;
  }
  if (teamsop_operation_status(op) != TEAMSOP_STATUS_SUCCEEDED) {
    fprintf(stderr, "app: status is not succeeded\n");
    status = 1;
  }
  if (attempts != 1) {
    fprintf(stderr, "app: attemptsCount is not 1\n");
    status = 1;
  }

  teamsop_free(op);
  teamsop_client_free(client);
  if (status == 0) {
    printf("app: ok\n");
  }
  return status;
}
