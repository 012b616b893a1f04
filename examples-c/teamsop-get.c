/*
 * teamsop-get: fetch (or wait for) a Microsoft Teams async operation from the
 * command line, through libteamsop. For scripts and legacy tooling.
 *
 *   TEAMSOP_TOKEN=... teamsop-get --chat ID --operation ID
 *   TEAMSOP_TOKEN=... teamsop-get --team ID --operation ID [--json]
 *   TEAMSOP_TOKEN=... teamsop-get --location "/teams('ID')/operations('OP')" --wait 120
 *
 * The token is read from the environment, never from the command line (where
 * other users of the machine could see it in the process list).
 *
 * Exit status: the teamsop_result of the call (0 on success), 20 when --wait saw
 * the operation end in "failed", 64 for a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teamsop.h"

#define EXIT_OPERATION_FAILED 20
#define EXIT_USAGE 64

struct options {
  const char *chat;
  const char *team;
  const char *operation;
  const char *location;
  const char *base_url;
  const char *cloud;
  const char *select;
  const char *ca_file;
  const char *token_env;
  long timeout_ms;
  long wait_seconds;
  long poll_ms;
  int json;
  int quiet;
};

static void usage(FILE *to) {
  fprintf(to,
          "usage: teamsop-get (--chat ID | --team ID) --operation ID [options]\n"
          "       teamsop-get --location LOCATION [options]\n"
          "\n"
          "options:\n"
          "  --base-url URL     Graph base URL (default https://graph.microsoft.com/beta;\n"
          "                     http:// only for loopback hosts)\n"
          "  --cloud NAME       global, usgov, usgovdod or china\n"
          "  --timeout MS       bound on each request, retries included (default 30000)\n"
          "  --select FIELDS    OData $select, e.g. status,error\n"
          "  --ca-file PEM      extra trusted CA certificates\n"
          "  --wait SECONDS     poll until the operation succeeds or fails; progress on stderr\n"
          "  --poll-ms MS       first pause between polls with --wait (default 1000)\n"
          "  --json             print the operation's JSON body instead of a table\n"
          "  --quiet            with --wait, no progress lines\n"
          "  --token-env NAME   environment variable holding the token (default TEAMSOP_TOKEN)\n"
          "  --version, --help\n"
          "\n"
          "exit status: 0 ok; 1-12 the teamsop_result of the failure; 20 the operation\n"
          "failed (--wait); 64 usage error.\n");
}

static int parse_long(const char *text, long min, long max, long *out) {
  char *end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    return -1;
  }
  *out = value;
  return 0;
}

static int parse_args(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->token_env = "TEAMSOP_TOKEN";
  o->timeout_ms = -1;
  o->wait_seconds = -1;
  o->poll_ms = -1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *value = (i + 1 < argc) ? argv[i + 1] : NULL;
    int takes_value = 1;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(arg, "--version") == 0) {
      printf("teamsop-get (libteamsop %s)\n", teamsop_version());
      exit(0);
    } else if (strcmp(arg, "--json") == 0) {
      o->json = 1;
      takes_value = 0;
    } else if (strcmp(arg, "--quiet") == 0) {
      o->quiet = 1;
      takes_value = 0;
    } else if (value == NULL) {
      fprintf(stderr, "teamsop-get: %s needs a value (or is unknown)\n", arg);
      return -1;
    } else if (strcmp(arg, "--chat") == 0) {
      o->chat = value;
    } else if (strcmp(arg, "--team") == 0) {
      o->team = value;
    } else if (strcmp(arg, "--operation") == 0) {
      o->operation = value;
    } else if (strcmp(arg, "--location") == 0) {
      o->location = value;
    } else if (strcmp(arg, "--base-url") == 0) {
      o->base_url = value;
    } else if (strcmp(arg, "--cloud") == 0) {
      o->cloud = value;
    } else if (strcmp(arg, "--select") == 0) {
      o->select = value;
    } else if (strcmp(arg, "--ca-file") == 0) {
      o->ca_file = value;
    } else if (strcmp(arg, "--token-env") == 0) {
      o->token_env = value;
    } else if (strcmp(arg, "--timeout") == 0) {
      if (parse_long(value, 1, UINT32_MAX, &o->timeout_ms) != 0) {
        fprintf(stderr, "teamsop-get: --timeout takes milliseconds, 1 to 4294967295\n");
        return -1;
      }
    } else if (strcmp(arg, "--wait") == 0) {
      if (parse_long(value, 1, UINT32_MAX / 1000, &o->wait_seconds) != 0) {
        fprintf(stderr, "teamsop-get: --wait takes seconds, 1 to 4294967\n");
        return -1;
      }
    } else if (strcmp(arg, "--poll-ms") == 0) {
      if (parse_long(value, 1, UINT32_MAX, &o->poll_ms) != 0) {
        fprintf(stderr, "teamsop-get: --poll-ms takes milliseconds, 1 to 4294967295\n");
        return -1;
      }
    } else {
      fprintf(stderr, "teamsop-get: unknown option %s\n", arg);
      return -1;
    }
    i += takes_value;
  }

  int by_ids = (o->chat != NULL) + (o->team != NULL);
  if (o->location != NULL) {
    if (by_ids != 0 || o->operation != NULL) {
      fprintf(stderr, "teamsop-get: --location excludes --chat, --team and --operation\n");
      return -1;
    }
  } else if (by_ids != 1 || o->operation == NULL) {
    fprintf(stderr, "teamsop-get: give --chat or --team with --operation, or --location\n");
    return -1;
  }
  if (o->wait_seconds > 0 && o->location == NULL) {
    fprintf(stderr, "teamsop-get: --wait needs --location (the Location of a 202 answer)\n");
    return -1;
  }
  return 0;
}

/* Prints why the last call failed, with what support would ask for. */
static int report_failure(const char *what, teamsop_result result) {
  fprintf(stderr, "teamsop-get: %s failed: %s: %s\n", what, teamsop_result_str(result),
          teamsop_last_error_message());
  if (teamsop_last_http_status() != 0) {
    fprintf(stderr, "  http status:       %d\n", (int)teamsop_last_http_status());
  }
  if (teamsop_last_graph_code() != NULL) {
    fprintf(stderr, "  graph code:        %s\n", teamsop_last_graph_code());
  }
  if (teamsop_last_request_id() != NULL) {
    fprintf(stderr, "  request-id:        %s\n", teamsop_last_request_id());
  }
  if (teamsop_last_client_request_id() != NULL) {
    fprintf(stderr, "  client-request-id: %s\n", teamsop_last_client_request_id());
  }
  return (int)result;
}

static const char *or_dash(const char *text) { return text != NULL ? text : "-"; }

static void print_time(const char *label, const char *text, int64_t unix_ms) {
  if (text == NULL) {
    printf("%-24s -\n", label);
  } else if (unix_ms == TEAMSOP_NO_TIME) {
    printf("%-24s %s (unparseable)\n", label, text);
  } else {
    printf("%-24s %s (unix ms %" PRId64 ")\n", label, text, unix_ms);
  }
}

static void print_table(const teamsop_operation *op) {
  printf("%-24s %s\n", "id", or_dash(teamsop_operation_id(op)));
  printf("%-24s %s\n", "status", or_dash(teamsop_operation_status_str(op)));
  printf("%-24s %s\n", "operationType", or_dash(teamsop_operation_type_str(op)));
  print_time("createdDateTime", teamsop_operation_created_date_time(op),
             teamsop_operation_created_unix_ms(op));
  print_time("lastActionDateTime", teamsop_operation_last_action_date_time(op),
             teamsop_operation_last_action_unix_ms(op));
  int32_t attempts = teamsop_operation_attempts_count(op);
  if (attempts < 0) {
    printf("%-24s -\n", "attemptsCount");
  } else {
    printf("%-24s %d\n", "attemptsCount", (int)attempts);
  }
  printf("%-24s %s\n", "targetResourceId", or_dash(teamsop_operation_target_resource_id(op)));
  printf("%-24s %s\n", "targetResourceLocation",
         or_dash(teamsop_operation_target_resource_location(op)));
  printf("%-24s %s\n", "values", or_dash(teamsop_operation_values(op)));
  if (teamsop_operation_error_code(op) == NULL && teamsop_operation_error_message(op) == NULL) {
    printf("%-24s -\n", "error");
  } else {
    printf("%-24s %s: %s\n", "error", or_dash(teamsop_operation_error_code(op)),
           or_dash(teamsop_operation_error_message(op)));
  }
}

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

struct progress {
  struct timespec start;
  int quiet;
  int polls;
};

/* teamsop_wait's callback: one progress line per poll, on stderr. */
static bool on_poll(const teamsop_operation *current, void *user_data) {
  struct progress *p = user_data;
  p->polls++;
  if (!p->quiet) {
    int32_t attempts = teamsop_operation_attempts_count(current);
    fprintf(stderr, "[%6.1fs] poll %d: status=%s attempts=%d\n", seconds_since(&p->start),
            p->polls, or_dash(teamsop_operation_status_str(current)), (int)attempts);
  }
  return true;
}

static int configure(teamsop_client *client, const struct options *o) {
  teamsop_result r = TEAMSOP_OK;
  if (o->cloud != NULL) {
    static const struct {
      const char *name;
      teamsop_cloud cloud;
    } clouds[] = {{"global", TEAMSOP_CLOUD_GLOBAL},
                  {"usgov", TEAMSOP_CLOUD_US_GOV},
                  {"usgovdod", TEAMSOP_CLOUD_US_GOV_DOD},
                  {"china", TEAMSOP_CLOUD_CHINA}};
    size_t i = 0;
    while (i < sizeof clouds / sizeof clouds[0] && strcmp(clouds[i].name, o->cloud) != 0) {
      i++;
    }
    if (i == sizeof clouds / sizeof clouds[0]) {
      fprintf(stderr, "teamsop-get: unknown cloud %s (global, usgov, usgovdod, china)\n", o->cloud);
      return EXIT_USAGE;
    }
    if ((r = teamsop_client_set_cloud(client, clouds[i].cloud)) != TEAMSOP_OK) {
      return report_failure("--cloud", r);
    }
  }
  if (o->base_url != NULL && (r = teamsop_client_set_base_url(client, o->base_url)) != TEAMSOP_OK) {
    return report_failure("--base-url", r);
  }
  if (o->timeout_ms > 0 &&
      (r = teamsop_client_set_timeout_ms(client, (uint32_t)o->timeout_ms)) != TEAMSOP_OK) {
    return report_failure("--timeout", r);
  }
  if (o->poll_ms > 0 &&
      (r = teamsop_client_set_poll_interval_ms(client, (uint32_t)o->poll_ms)) != TEAMSOP_OK) {
    return report_failure("--poll-ms", r);
  }
  if (o->select != NULL && (r = teamsop_client_set_select(client, o->select)) != TEAMSOP_OK) {
    return report_failure("--select", r);
  }
  if (o->ca_file != NULL && (r = teamsop_client_set_ca_file(client, o->ca_file)) != TEAMSOP_OK) {
    return report_failure("--ca-file", r);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct options o;
  if (parse_args(argc, argv, &o) != 0) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *token = getenv(o.token_env);
  if (token == NULL || token[0] == '\0') {
    fprintf(stderr, "teamsop-get: set the access token in the environment variable %s\n",
            o.token_env);
    return EXIT_USAGE;
  }

  teamsop_client *client = teamsop_client_new(token);
  if (client == NULL) {
    return report_failure("creating the client", TEAMSOP_ERR_INVALID_ARGUMENT);
  }
  int status = configure(client, &o);
  if (status != 0) {
    teamsop_client_free(client);
    return status;
  }

  teamsop_operation *op = NULL;
  teamsop_result r;
  const char *what;
  struct progress progress = {.quiet = o.quiet, .polls = 0};
  if (o.wait_seconds > 0) {
    what = "waiting";
    clock_gettime(CLOCK_MONOTONIC, &progress.start);
    r = teamsop_wait(client, o.location, (uint32_t)(o.wait_seconds * 1000), on_poll, &progress, &op);
  } else if (o.location != NULL) {
    what = "GET location";
    r = teamsop_get_location(client, o.location, &op);
  } else if (o.chat != NULL) {
    what = "GET chat operation";
    r = teamsop_get(client, o.chat, o.operation, &op);
  } else {
    what = "GET team operation";
    r = teamsop_get_team_operation(client, o.team, o.operation, &op);
  }

  if (r != TEAMSOP_OK) {
    status = report_failure(what, r);
  } else {
    if (o.json) {
      printf("%s\n", teamsop_operation_json(op));
    } else {
      print_table(op);
    }
    if (o.wait_seconds > 0 && !o.quiet) {
      fprintf(stderr, "[%6.1fs] done after %d poll(s): %s\n", seconds_since(&progress.start),
              progress.polls, or_dash(teamsop_operation_status_str(op)));
    }
    if (o.wait_seconds > 0 && teamsop_operation_status(op) == TEAMSOP_STATUS_FAILED) {
      status = EXIT_OPERATION_FAILED;
    }
  }
  teamsop_free(op);
  teamsop_client_free(client);
  return status;
}
