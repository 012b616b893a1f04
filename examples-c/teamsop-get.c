/*
 * teamsop-get: fetch (or wait for) a Microsoft Teams async operation from the
 * command line, through libteamsop. For operators, scripts and legacy tooling;
 * `make install` installs it as $(PREFIX)/bin/teamsop-get, `teamsop-get --help`
 * is its manual.
 *
 *   TEAMSOP_TOKEN=... teamsop-get --chat ID --operation ID
 *   TEAMSOP_TOKEN=... teamsop-get --team ID --operation ID [--json]
 *   TEAMSOP_TOKEN=... teamsop-get --location "/teams('ID')/operations('OP')" --wait 120
 *   teamsop-get --token-command 'az account get-access-token ...' --location ... --wait 3600 -v
 *   TEAMSOP_TOKEN=... teamsop-get --wait-all locations.txt --rate 30 > results.jsonl
 *
 * The token is read from the environment (or the output of --token-command),
 * never from the command line (where other users of the machine could see it in
 * the process list). During --wait, Ctrl-C (SIGINT) or SIGTERM cancels the wait
 * cleanly: a thread waiting in sigwait() triggers a teamsop_cancel.
 *
 * The options are one table (`option_table`): each entry has its names, its
 * value, its help text and the function that applies it; the parser and the
 * OPTIONS section of --help both read it, so a new option is one function and
 * one entry.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teamsop.h"

#define PROGRAM "teamsop-get"

/* Exit statuses besides 0 and the teamsop_result of a failed call (1 to 12). */
#define EXIT_OPERATION_FAILED 20
#define EXIT_USAGE 64
/* A wait cancelled by a signal exits 128 + its number, as a shell reports a
 * process that signal ended: 130 for SIGINT (Ctrl-C), 143 for SIGTERM. */
#define EXIT_SIGNALLED_BASE 128

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
  long timeout_ms;   /* -1: the library's default */
  long wait_seconds; /* -1: no --wait */
  long poll_ms;      /* -1: the library's default */
  const char *wait_all; /* --wait-all FILE ("-": stdin): many operations at once */
  long rate;            /* --rate: 0: the library's default */
  int no_batching;      /* --no-batching */
  int json;
  int quiet;
  int verbose; /* 0: TEAMSOP_LOG decides; 1: INFO and WARN lines; 2: DEBUG too */
  const char *token_command;
};

/* ------------------------------------------------------------ usage errors */

/* A usage error: one line saying what is wrong, one line saying where help is. */
static int usage_error(const char *format, const char *detail) {
  fprintf(stderr, PROGRAM ": ");
  fprintf(stderr, format, detail);
  fprintf(stderr, "\nTry '" PROGRAM " --help'.\n");
  return EXIT_USAGE;
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

/* ---------------------------------------------------------------- options */

/* What applying an option asks of the parser. */
enum apply_result {
  APPLY_OK,
  APPLY_USAGE_ERROR, /* the message is printed: exit EXIT_USAGE */
  APPLY_EXIT_OK      /* --help or --version printed: exit 0 */
};

struct option_spec {
  const char *long_name;  /* without the leading "--" */
  char short_name;        /* 0: none */
  const char *value_name; /* NULL: a flag, which takes no value */
  const char *help;       /* lines of the OPTIONS section, without indentation */
  enum apply_result (*apply)(struct options *o, const char *value);
};

static enum apply_result usage_error_apply(const char *format, const char *detail) {
  usage_error(format, detail);
  return APPLY_USAGE_ERROR;
}

static enum apply_result set_chat(struct options *o, const char *v) {
  o->chat = v;
  return APPLY_OK;
}
static enum apply_result set_team(struct options *o, const char *v) {
  o->team = v;
  return APPLY_OK;
}
static enum apply_result set_operation(struct options *o, const char *v) {
  o->operation = v;
  return APPLY_OK;
}
static enum apply_result set_location(struct options *o, const char *v) {
  o->location = v;
  return APPLY_OK;
}
static enum apply_result set_base_url(struct options *o, const char *v) {
  o->base_url = v;
  return APPLY_OK;
}
static enum apply_result set_cloud(struct options *o, const char *v) {
  o->cloud = v;
  return APPLY_OK;
}
static enum apply_result set_select(struct options *o, const char *v) {
  o->select = v;
  return APPLY_OK;
}
static enum apply_result set_ca_file(struct options *o, const char *v) {
  o->ca_file = v;
  return APPLY_OK;
}
static enum apply_result set_token_env(struct options *o, const char *v) {
  o->token_env = v;
  return APPLY_OK;
}
static enum apply_result set_timeout(struct options *o, const char *v) {
  if (parse_long(v, 1, UINT32_MAX, &o->timeout_ms) != 0) {
    return usage_error_apply("--timeout takes milliseconds, 1 to 4294967295, not '%s'", v);
  }
  return APPLY_OK;
}
static enum apply_result set_wait(struct options *o, const char *v) {
  if (parse_long(v, 1, UINT32_MAX / 1000, &o->wait_seconds) != 0) {
    return usage_error_apply("--wait takes seconds, 1 to 4294967, not '%s'", v);
  }
  return APPLY_OK;
}
static enum apply_result set_poll_ms(struct options *o, const char *v) {
  if (parse_long(v, 1, UINT32_MAX, &o->poll_ms) != 0) {
    return usage_error_apply("--poll-ms takes milliseconds, 1 to 4294967295, not '%s'", v);
  }
  return APPLY_OK;
}
static enum apply_result set_wait_all(struct options *o, const char *v) {
  if (v[0] == '\0') {
    return usage_error_apply("%s", "--wait-all needs a file of Locations, or - for stdin");
  }
  o->wait_all = v;
  return APPLY_OK;
}
static enum apply_result set_rate(struct options *o, const char *v) {
  if (parse_long(v, 1, 1000, &o->rate) != 0) {
    return usage_error_apply("--rate takes GETs per second, 1 to 1000, not '%s'", v);
  }
  return APPLY_OK;
}
static enum apply_result set_no_batching(struct options *o, const char *v) {
  (void)v;
  o->no_batching = 1;
  return APPLY_OK;
}
static int check_wait_all_options(const struct options *o, int by_ids);
static enum apply_result set_json(struct options *o, const char *v) {
  (void)v;
  o->json = 1;
  return APPLY_OK;
}
static enum apply_result set_quiet(struct options *o, const char *v) {
  (void)v;
  o->quiet = 1;
  return APPLY_OK;
}
static enum apply_result set_verbose(struct options *o, const char *v) {
  (void)v;
  if (o->verbose < 2) {
    o->verbose++;
  }
  return APPLY_OK;
}
static enum apply_result set_token_command(struct options *o, const char *v) {
  if (v[0] == '\0') {
    return usage_error_apply("%s", "--token-command needs a command");
  }
  o->token_command = v;
  return APPLY_OK;
}
static enum apply_result show_help(struct options *o, const char *v);
static enum apply_result show_version(struct options *o, const char *v) {
  (void)o;
  (void)v;
  printf(PROGRAM " (libteamsop %s)\n", teamsop_version());
  return APPLY_EXIT_OK;
}

static const struct option_spec option_table[] = {
    {"chat", 0, "ID", "the chat whose operation to GET (with --operation)", set_chat},
    {"team", 0, "ID", "the team whose operation to GET (with --operation)", set_team},
    {"operation", 0, "ID", "the operation's id", set_operation},
    {"location", 0, "LOCATION",
     "the Location header of Graph's 202 Accepted answer, relative\n"
     "(/teams('ID')/operations('OP'), /chats/ID/operations/OP) or absolute\n"
     "on the configured host",
     set_location},
    {"wait", 0, "SECONDS",
     "with --location: poll until the operation succeeds or fails, at most\n"
     "SECONDS (1 to 4294967); one progress line per poll on stderr",
     set_wait},
    {"poll-ms", 0, "MS",
     "the first pause between polls with --wait (default 1000), doubling up\n"
     "to 10 s; Graph's Retry-After wins",
     set_poll_ms},
    {"quiet", 0, NULL, "with --wait, no progress lines", set_quiet},
    {"wait-all", 0, "FILE",
     "follow many operations at once until each ends: the Locations in FILE\n"
     "(- for stdin), one per line; blank lines and lines starting with # are\n"
     "skipped, blanks around a Location are trimmed. One JSON line per\n"
     "operation on stdout as it ends, in the order they end:\n"
     "  {\"line\", \"location\", \"result\", \"status\", \"id\", \"operationType\",\n"
     "   \"targetResourceId\", \"targetResourceLocation\", \"operationError\",\n"
     "   \"error\", \"pending\", \"elapsedMs\"}\n"
     "(\"result\" is TEAMSOP_OK with the operation's \"status\" and\n"
     "\"operationError\" {\"code\", \"message\"}, or the error that ended it, with\n"
     "\"error\" as --json gives it; null for what is absent). A line that is not\n"
     "a Location gets its line at once (TEAMSOP_ERR_INVALID_ARGUMENT) and the\n"
     "others go on. The GETs go in Graph JSON batches of up to 20, at most\n"
     "--rate per second, each operation polled as --wait polls one; the run\n"
     "lasts at most --wait SECONDS (default 3600), after which each operation\n"
     "still pending gets its line with \"pending\": true. Progress on stderr\n"
     "once a second (pending, ended, GETs per second now), unless --quiet.\n"
     "Exit status: 0 when every operation succeeded; 20 when every one was\n"
     "reported and one or more did not succeed (failed, invalid, an error, a\n"
     "line that is not a Location); 1-12 when the run stopped before every\n"
     "operation was reported (3: --wait's time ran out), its teamsop_result",
     set_wait_all},
    {"rate", 0, "N",
     "with --wait-all: at most N operation GETs per second, each request inside\n"
     "a $batch counted (1 to 1000, default 10; Teams allows an app about 30 per\n"
     "tenant); a 429 lowers it for a while",
     set_rate},
    {"no-batching", 0, NULL, "with --wait-all: one GET per request, no JSON batching", set_no_batching},
    {"json", 0, NULL,
     "print the operation's JSON body as Graph sent it instead of a table;\n"
     "on a failed call, print a JSON error object (see EXIT STATUS)",
     set_json},
    {"select", 0, "FIELDS", "OData $select: only these properties, e.g. status,error", set_select},
    {"base-url", 0, "URL",
     "Graph's base URL (default: TEAMSOP_BASE_URL, else the cloud's);\n"
     "https://, or http:// for a loopback host only",
     set_base_url},
    {"cloud", 0, "NAME", "global (default), usgov, usgovdod or china", set_cloud},
    {"timeout", 0, "MS", "bound on each request, retries included (default 30000)", set_timeout},
    {"ca-file", 0, "PEM", "extra trusted CA certificates (a TLS-inspecting proxy's)", set_ca_file},
    {"token-env", 0, "NAME", "the environment variable holding the token (default TEAMSOP_TOKEN)",
     set_token_env},
    {"token-command", 0, "CMD",
     "get the token by running CMD with /bin/sh -c, whenever one is needed: at\n"
     "the start (unless the token variable is set), before the one it gave\n"
     "expires and after Graph refuses it (401). CMD prints the token (blanks\n"
     "around it are trimmed), and may print after it, on the same line or the\n"
     "next, its expiry in Unix seconds: it then runs again 5 minutes before.\n"
     "The claims of a continuous access evaluation challenge are in its\n"
     "environment as TEAMSOP_CLAIMS (JSON; unset when none), to hand to the\n"
     "identity platform. Its stderr goes to teamsop-get's. An exit status other\n"
     "than 0, or no token, fails the call (UNAUTHORIZED, exit status 4)",
     set_token_command},
    {"verbose", 'v', NULL,
     "log each HTTP request (method, URL, status, time, request ids) and each\n"
     "retry on stderr; twice (-vv) also details: connections, pacing, 404\n"
     "re-polls, token renewals. Lines start with \"" PROGRAM ": \" and never\n"
     "hold the token",
     set_verbose},
    {"version", 0, NULL, "print the version of teamsop-get's libteamsop and exit", show_version},
    {"help", 'h', NULL, "print this manual and exit", show_help},
};
#define OPTION_COUNT (sizeof option_table / sizeof option_table[0])

static const struct option_spec *find_long(const char *name, size_t len) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    if (strlen(option_table[i].long_name) == len &&
        strncmp(option_table[i].long_name, name, len) == 0) {
      return &option_table[i];
    }
  }
  return NULL;
}

static const struct option_spec *find_short(char name) {
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    if (option_table[i].short_name != 0 && option_table[i].short_name == name) {
      return &option_table[i];
    }
  }
  return NULL;
}

/* Prints a block of lines, each indented by `indent` spaces. */
static void print_indented(const char *text, int indent) {
  while (*text != '\0') {
    const char *end = strchr(text, '\n');
    size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
    printf("%*s%.*s\n", indent, "", (int)len, text);
    text += len + (end != NULL);
  }
}

static enum apply_result show_help(struct options *o, const char *v) {
  (void)o;
  (void)v;
  printf("NAME\n"
         "    " PROGRAM " - fetch, or wait for, a Microsoft Teams async operation\n"
         "\n"
         "SYNOPSIS\n"
         "    " PROGRAM " (--chat ID | --team ID) --operation ID [OPTION...]\n"
         "    " PROGRAM " --location LOCATION [--wait SECONDS] [OPTION...]\n"
         "    " PROGRAM " --wait-all FILE [--rate N] [--no-batching] [--wait SECONDS] [OPTION...]\n"
         "\n"
         "DESCRIPTION\n"
         "    Reads a teamsAsyncOperation from Microsoft Graph through libteamsop: one GET\n"
         "    by chat or team and operation id, or by the Location of the 202 Accepted\n"
         "    answer that started it; with --wait, polls that Location until the\n"
         "    operation succeeds or fails. Prints the operation on stdout, as a table or\n"
         "    (--json) as Graph's JSON body; errors, and --wait's progress, go to stderr.\n"
         "    Answers 429, 503 and 504 are retried (3 times, after Retry-After when Graph\n"
         "    sends it). The token is read from the environment, or from the output of\n"
         "    --token-command, which runs again whenever a new token is needed (so a\n"
         "    long --wait outlives a token). Ctrl-C (SIGINT) or SIGTERM during --wait\n"
         "    or --wait-all cancels it at once, wherever it is, and exits 130 or 143.\n"
         "\n"
         "OPTIONS\n");
  for (size_t i = 0; i < OPTION_COUNT; i++) {
    const struct option_spec *spec = &option_table[i];
    char names[64];
    if (spec->short_name != 0) {
      snprintf(names, sizeof names, "-%c, --%s%s%s", spec->short_name, spec->long_name,
               spec->value_name != NULL ? " " : "",
               spec->value_name != NULL ? spec->value_name : "");
    } else {
      snprintf(names, sizeof names, "--%s%s%s", spec->long_name,
               spec->value_name != NULL ? " " : "",
               spec->value_name != NULL ? spec->value_name : "");
    }
    printf("    %s\n", names);
    print_indented(spec->help, 8);
  }
  printf("    A value may also follow an equals sign: --wait=300.\n"
         "\n"
         "ENVIRONMENT\n"
         "    TEAMSOP_TOKEN\n"
         "        the OAuth access token for Microsoft Graph (required unless\n"
         "        --token-command is given; --token-env names another variable). It is\n"
         "        never printed.\n"
         "    TEAMSOP_CLAIMS\n"
         "        set by teamsop-get for --token-command's CMD: the claims Graph demands\n"
         "        after a continuous access evaluation challenge (JSON), or unset\n"
         "    TEAMSOP_LOG\n"
         "        without -v: error, warn, info or debug sends libteamsop's log lines\n"
         "        up to that level to stderr, each starting \"teamsop: \"\n"
         "    TEAMSOP_BASE_URL\n"
         "        the base URL when neither --base-url nor --cloud is given, e.g. the\n"
         "        emulator's http://127.0.0.1:PORT/beta\n"
         "    HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY\n"
         "        proxies, read as curl reads them\n"
         "    SSL_CERT_FILE, SSL_CERT_DIR\n"
         "        trusted roots instead of the system's\n"
         "\n"
         "EXIT STATUS\n"
         "    0    the operation was read and has not failed: succeeded, or (without\n"
         "         --wait) still notStarted or inProgress; read its status\n");
  printf("    1-12 the call failed; the status is its teamsop_result:\n");
  /* The names from the library itself, in two columns: 1-6 and 7-12. */
  _Static_assert(TEAMSOP_ERR_INTERNAL == 12, "the results are 1 to 12");
  for (uint32_t r = 1; r <= 6; r++) {
    printf("        %2u %-30s %2u %s\n", (unsigned)r, teamsop_result_str(r), (unsigned)(r + 6),
           teamsop_result_str(r + 6));
  }
  printf("    %-4d the operation was read and it ended without succeeding (status failed\n"
         "         or invalid), with or without --wait: the exit status never reports\n"
         "         success for an operation that did not succeed\n"
         "    %-4d usage error: an unknown option, a bad value, no token\n"
         "    %d, %d\n"
         "         --wait or --wait-all was interrupted by SIGINT (Ctrl-C) or SIGTERM:\n"
         "         it was cancelled and the program ended cleanly (128 + the signal's\n"
         "         number, as a shell reports a program that signal ended)\n"
         "    After a failed call (1 to 12), stderr says why, with Graph's code and the\n"
         "    request ids support asks for; with --json, stdout has the same as one JSON\n"
         "    object: {\"error\": {\"result\", \"message\", \"httpStatus\", \"graphCode\",\n"
         "    \"requestId\", \"clientRequestId\"}}, null for what is absent.\n"
         "\n"
         "EXAMPLES\n"
         "    export TEAMSOP_TOKEN=\"$(az account get-access-token \\\n"
         "        --resource https://graph.microsoft.com --query accessToken -o tsv)\"\n"
         "    " PROGRAM " --chat '19:...@thread.v2' --operation '...'\n"
         "    " PROGRAM " --location \"/teams('...')/operations('...')\" --wait 300\n"
         "    " PROGRAM " --team ID --operation OP --json --select status,error\n"
         "    az='az account get-access-token --resource https://graph.microsoft.com'\n"
         "    " PROGRAM " --token-command \"$az --query '[accessToken,expires_on]' -o tsv\" \\\n"
         "        --location \"/teams('...')/operations('...')\" --wait 3600 -v\n",
         EXIT_OPERATION_FAILED, EXIT_USAGE, EXIT_SIGNALLED_BASE + SIGINT,
         EXIT_SIGNALLED_BASE + SIGTERM);
  return APPLY_EXIT_OK;
}

/* Applies one option, taking its value from `attached` (after "=" or after the
 * short letter) or from the next argument. Returns -1 for a usage error, 1 to
 * exit 0 at once, 0 to go on; *i moves past a value taken from the next argument. */
static int take_option(const struct option_spec *spec, const char *shown, const char *attached,
                       int argc, char **argv, int *i, struct options *o) {
  const char *value = NULL;
  if (spec->value_name == NULL) {
    if (attached != NULL) {
      usage_error("%s takes no value", shown);
      return -1;
    }
  } else if (attached != NULL) {
    value = attached;
  } else if (*i + 1 < argc) {
    value = argv[++*i];
  } else {
    usage_error("%s needs a value", shown);
    return -1;
  }
  switch (spec->apply(o, value)) {
  case APPLY_OK:
    return 0;
  case APPLY_EXIT_OK:
    return 1;
  case APPLY_USAGE_ERROR:
    break;
  }
  return -1;
}

/* Reads the command line into *o. Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct options *o) {
  memset(o, 0, sizeof *o);
  o->token_env = "TEAMSOP_TOKEN";
  o->timeout_ms = -1;
  o->wait_seconds = -1;
  o->poll_ms = -1;
  if (argc < 2) {
    fprintf(stderr, "usage: " PROGRAM " (--chat ID | --team ID) --operation ID [OPTION...]\n"
                    "       " PROGRAM " --location LOCATION [--wait SECONDS] [OPTION...]\n"
                    "Try '" PROGRAM " --help'.\n");
    return EXIT_USAGE;
  }
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int r = 0;
    if (strncmp(arg, "--", 2) == 0 && arg[2] != '\0') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
      const struct option_spec *spec = find_long(name, len);
      char shown[80];
      snprintf(shown, sizeof shown, "--%.*s", (int)(len < 64 ? len : 64), name);
      if (spec == NULL) {
        return usage_error("unknown option %s", shown);
      }
      r = take_option(spec, shown, eq != NULL ? eq + 1 : NULL, argc, argv, &i, o);
    } else if (arg[0] == '-' && arg[1] != '\0' && arg[1] != '-') {
      /* Short options, which may be grouped (-hq); a value may follow attached. */
      for (const char *p = arg + 1; *p != '\0' && r == 0; p++) {
        const struct option_spec *spec = find_short(*p);
        char shown[3] = {'-', *p, '\0'};
        if (spec == NULL) {
          return usage_error("unknown option %s", shown);
        }
        const char *attached = spec->value_name != NULL && p[1] != '\0' ? p + 1 : NULL;
        r = take_option(spec, shown, attached, argc, argv, &i, o);
        if (attached != NULL) {
          break;
        }
      }
    } else {
      return usage_error("unexpected argument '%s' (every argument is an option)", arg);
    }
    if (r != 0) {
      return r > 0 ? 0 : EXIT_USAGE;
    }
  }

  int by_ids = (o->chat != NULL) + (o->team != NULL);
  if (o->wait_all != NULL || o->rate > 0 || o->no_batching) {
    return check_wait_all_options(o, by_ids);
  }
  if (o->location != NULL) {
    if (by_ids != 0 || o->operation != NULL) {
      return usage_error("%s", "--location excludes --chat, --team and --operation");
    }
  } else if (by_ids != 1 || o->operation == NULL) {
    return usage_error("%s", "give --chat or --team with --operation, or --location");
  }
  if (o->wait_seconds > 0 && o->location == NULL) {
    return usage_error("%s", "--wait needs --location (the Location of a 202 answer)");
  }
  return -1;
}

/* --------------------------------------------------------------- output */

static const char *or_dash(const char *text) { return text != NULL ? text : "-"; }

/* Writes `text` as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 copied, and each byte of an invalid UTF-8 sequence written
 * as U+FFFD, so that the output is valid JSON whatever the bytes; NULL as null. */
static void print_json_string(const char *text) {
  if (text == NULL) {
    fputs("null", stdout);
    return;
  }
  const unsigned char *s = (const unsigned char *)text;
  putchar('"');
  while (*s != '\0') {
    unsigned char c = *s;
    if (c == '"' || c == '\\') {
      printf("\\%c", c);
      s++;
    } else if (c == '\n') {
      fputs("\\n", stdout);
      s++;
    } else if (c == '\r') {
      fputs("\\r", stdout);
      s++;
    } else if (c == '\t') {
      fputs("\\t", stdout);
      s++;
    } else if (c < 0x20 || c == 0x7f) {
      printf("\\u%04x", c);
      s++;
    } else if (c < 0x80) {
      putchar(c);
      s++;
    } else {
      /* The length of a well-formed UTF-8 sequence starting at s, or 0. */
      size_t n = 0;
      unsigned char lo = 0x80, hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
      } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
      }
      bool ok = n != 0 && s[1] >= lo && s[1] <= hi;
      for (size_t k = 2; ok && k < n; k++) {
        ok = s[k] >= 0x80 && s[k] <= 0xbf;
      }
      if (ok) {
        fwrite(s, 1, n, stdout);
        s += n;
      } else {
        fputs("\\ufffd", stdout);
        s++;
      }
    }
  }
  putchar('"');
}

/* Says why the last call failed, with what support would ask for: on stderr, and
 * with --json as a JSON object on stdout too. Returns the exit status. */
static int report_failure(const char *what, teamsop_result result, int json) {
  const char *message = teamsop_last_error_message();
  int32_t http_status = teamsop_last_http_status();
  const char *graph_code = teamsop_last_graph_code();
  const char *request_id = teamsop_last_request_id();
  const char *client_request_id = teamsop_last_client_request_id();
  fprintf(stderr, PROGRAM ": %s failed: %s: %s\n", what, teamsop_result_str(result), message);
  if (http_status != 0) {
    fprintf(stderr, "  http status:       %d\n", (int)http_status);
  }
  if (graph_code != NULL) {
    fprintf(stderr, "  graph code:        %s\n", graph_code);
  }
  if (request_id != NULL) {
    fprintf(stderr, "  request-id:        %s\n", request_id);
  }
  if (client_request_id != NULL) {
    fprintf(stderr, "  client-request-id: %s\n", client_request_id);
  }
  if (json) {
    fputs("{\"error\":{\"result\":", stdout);
    print_json_string(teamsop_result_str(result));
    fputs(",\"message\":", stdout);
    print_json_string(message);
    if (http_status != 0) {
      printf(",\"httpStatus\":%d", (int)http_status);
    } else {
      fputs(",\"httpStatus\":null", stdout);
    }
    fputs(",\"graphCode\":", stdout);
    print_json_string(graph_code);
    fputs(",\"requestId\":", stdout);
    print_json_string(request_id);
    fputs(",\"clientRequestId\":", stdout);
    print_json_string(client_request_id);
    fputs("}}\n", stdout);
  }
  return (int)result;
}

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

/* ------------------------------------------- Ctrl-C in --wait, --wait-all */

/* SIGINT and SIGTERM are blocked in every thread during --wait (and --wait-all),
 * and taken by
 * this thread with sigwait(): it pulls the wait's cancel trigger (which a
 * signal handler may not do: teamsop_cancel_trigger is not async-signal-safe). */
struct interrupt {
  teamsop_cancel *cancel;
  sigset_t signals;
  volatile int signal; /* the signal that came, or 0 */
  pthread_t thread;
};

static void *interrupt_main(void *arg) {
  struct interrupt *in = arg;
  int sig = 0;
  if (sigwait(&in->signals, &sig) == 0) {
    in->signal = sig;
    teamsop_cancel_trigger(in->cancel);
  }
  return NULL;
}

/* Blocks SIGINT and SIGTERM and starts the thread that waits for them. Returns
 * 0, or -1 (then nothing was changed and the signals keep their defaults). */
static int interrupt_start(struct interrupt *in, teamsop_cancel *cancel) {
  in->cancel = cancel;
  in->signal = 0;
  sigemptyset(&in->signals);
  sigaddset(&in->signals, SIGINT);
  sigaddset(&in->signals, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &in->signals, NULL) != 0) {
    return -1;
  }
  if (pthread_create(&in->thread, NULL, interrupt_main, in) != 0) {
    pthread_sigmask(SIG_UNBLOCK, &in->signals, NULL);
    return -1;
  }
  return 0;
}

/* Stops the thread (sigwait is a cancellation point); the signals stay blocked:
 * the program is about to end, and a late Ctrl-C then ends nothing half-done. */
static void interrupt_stop(struct interrupt *in) {
  pthread_cancel(in->thread);
  pthread_join(in->thread, NULL);
}

/* ------------------------------------------------------ many operations */

/* --wait-all: the Locations of a file followed at once by one teamsop_batch, a
 * JSON line per operation on stdout as it ends (from on_done, on the run's
 * thread), progress on stderr from a thread of its own. Ctrl-C or SIGTERM
 * cancels the run as it cancels --wait. */

/* The arguments --wait-all needs and excludes; -1 to go on, else the exit status. */
static int check_wait_all_options(const struct options *o, int by_ids) {
  if (o->wait_all == NULL) {
    return usage_error("%s", "--rate and --no-batching go with --wait-all");
  }
  if (by_ids != 0 || o->operation != NULL || o->location != NULL) {
    return usage_error("%s", "--wait-all excludes --chat, --team, --operation and --location");
  }
  if (o->json) {
    return usage_error("%s", "--wait-all prints JSON lines already: --json does not go with it");
  }
  return -1;
}

/* Seconds on the monotonic clock. */
static double clock_seconds(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

struct wait_all_run {
  char **locations;      /* by line number (tag), from 1; NULL for a line that is none */
  unsigned char *ended;  /* by line number: reported (or refused) */
  size_t lines;
  double start;
  /* Counts, read by the progress thread too. */
  atomic_size_t added;
  atomic_size_t refused; /* lines that are not Locations */
  atomic_size_t reported;
  atomic_size_t succeeded;
  atomic_size_t not_succeeded; /* failed, invalid, an error, a line that is not a Location */
  atomic_uint rate;            /* the batch's GETs per second, as of the last report */
  const teamsop_batch *batch;
  /* The progress thread's stop signal. */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stop;
};

/* One JSON line for the operation of `line`. With `result` not TEAMSOP_OK, `error`
 * is what the library said (or NULL: read teamsop_last_* now). */
static void print_operation_line(struct wait_all_run *w, size_t line, teamsop_result result,
                                 const teamsop_operation *op, int pending) {
  printf("{\"line\":%zu,\"location\":", line);
  print_json_string(w->locations[line]);
  fputs(",\"result\":", stdout);
  print_json_string(teamsop_result_str((uint32_t)result));
  fputs(",\"status\":", stdout);
  print_json_string(op != NULL ? teamsop_operation_status_str(op) : NULL);
  fputs(",\"id\":", stdout);
  print_json_string(op != NULL ? teamsop_operation_id(op) : NULL);
  fputs(",\"operationType\":", stdout);
  print_json_string(op != NULL ? teamsop_operation_type_str(op) : NULL);
  fputs(",\"targetResourceId\":", stdout);
  print_json_string(op != NULL ? teamsop_operation_target_resource_id(op) : NULL);
  fputs(",\"targetResourceLocation\":", stdout);
  print_json_string(op != NULL ? teamsop_operation_target_resource_location(op) : NULL);
  fputs(",\"operationError\":", stdout);
  if (op != NULL &&
      (teamsop_operation_error_code(op) != NULL || teamsop_operation_error_message(op) != NULL)) {
    fputs("{\"code\":", stdout);
    print_json_string(teamsop_operation_error_code(op));
    fputs(",\"message\":", stdout);
    print_json_string(teamsop_operation_error_message(op));
    putchar('}');
  } else {
    fputs("null", stdout);
  }
  fputs(",\"error\":", stdout);
  if (result != TEAMSOP_OK) {
    int32_t http_status = teamsop_last_http_status();
    fputs("{\"result\":", stdout);
    print_json_string(teamsop_result_str((uint32_t)result));
    fputs(",\"message\":", stdout);
    print_json_string(teamsop_last_error_message());
    if (http_status != 0) {
      printf(",\"httpStatus\":%d", (int)http_status);
    } else {
      fputs(",\"httpStatus\":null", stdout);
    }
    fputs(",\"graphCode\":", stdout);
    print_json_string(teamsop_last_graph_code());
    fputs(",\"requestId\":", stdout);
    print_json_string(teamsop_last_request_id());
    fputs(",\"clientRequestId\":", stdout);
    print_json_string(teamsop_last_client_request_id());
    putchar('}');
  } else {
    fputs("null", stdout);
  }
  printf(",\"pending\":%s,\"elapsedMs\":%.0f}\n", pending ? "true" : "false",
         (clock_seconds() - w->start) * 1000.0);
  fflush(stdout);
}

/* teamsop_batch_run's callback: the operation of line `tag` ended. */
static bool on_operation_done(void *user_data, uint64_t tag, teamsop_result result,
                              const teamsop_operation *op) {
  struct wait_all_run *w = user_data;
  size_t line = (size_t)tag;
  if (line == 0 || line > w->lines || w->ended[line]) {
    return true; /* not one of ours: cannot happen */
  }
  w->ended[line] = 1;
  print_operation_line(w, line, result, op, 0);
  bool ok = result == TEAMSOP_OK && teamsop_operation_status(op) == TEAMSOP_STATUS_SUCCEEDED;
  atomic_fetch_add(ok ? &w->succeeded : &w->not_succeeded, 1);
  atomic_fetch_add(&w->reported, 1);
  atomic_store(&w->rate, teamsop_batch_current_gets_per_second(w->batch));
  return true;
}

static void print_progress(struct wait_all_run *w) {
  size_t added = atomic_load(&w->added), reported = atomic_load(&w->reported);
  fprintf(stderr, "[%6.1fs] %zu pending, %zu ended (%zu succeeded, %zu did not), %u GETs/s\n",
          clock_seconds() - w->start, added - reported, reported + atomic_load(&w->refused),
          atomic_load(&w->succeeded), atomic_load(&w->not_succeeded), atomic_load(&w->rate));
}

/* The progress thread: a line a second until told to stop. */
static void *progress_main(void *arg) {
  struct wait_all_run *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&w->wake, &w->lock, &until);
    if (!w->stop) {
      print_progress(w);
    }
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

/* Reads the lines of `path` ("-": stdin) into w->locations (trimmed; NULL for
 * blank and # lines). Returns -1 to go on, else the exit status. */
static int read_locations(const char *path, struct wait_all_run *w) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (in == NULL) {
    fprintf(stderr, PROGRAM ": --wait-all: cannot read %s: %s\n", path, strerror(errno));
    return EXIT_USAGE;
  }
  size_t cap = 0;
  char *text = NULL;
  size_t text_cap = 0;
  ssize_t got;
  int status = -1;
  while ((got = getline(&text, &text_cap, in)) >= 0) {
    if (w->lines + 2 > cap) {
      size_t bigger = cap == 0 ? 256 : cap * 2;
      char **locations = realloc(w->locations, bigger * sizeof *locations);
      if (locations == NULL) {
        status = (int)TEAMSOP_ERR_INTERNAL;
        break;
      }
      w->locations = locations;
      cap = bigger;
    }
    size_t line = ++w->lines;
    char *start = text, *end = text + got;
    while (start < end && (*start == ' ' || *start == '\t')) {
      start++;
    }
    while (end > start && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) {
      end--;
    }
    w->locations[line] = NULL;
    if (end > start && *start != '#') {
      w->locations[line] = strndup(start, (size_t)(end - start));
      if (w->locations[line] == NULL) {
        status = (int)TEAMSOP_ERR_INTERNAL;
        break;
      }
    }
  }
  if (status < 0 && ferror(in)) {
    fprintf(stderr, PROGRAM ": --wait-all: reading %s: %s\n", path, strerror(errno));
    status = EXIT_USAGE;
  }
  if (status == (int)TEAMSOP_ERR_INTERNAL) {
    fprintf(stderr, PROGRAM ": --wait-all: out of memory reading %s\n", path);
  }
  free(text);
  if (in != stdin) {
    fclose(in);
  }
  return status;
}

static void free_run(struct wait_all_run *w) {
  for (size_t i = 1; i <= w->lines && w->locations != NULL; i++) {
    free(w->locations[i]);
  }
  free(w->locations);
  free(w->ended);
}

/* --wait-all: returns the exit status (see the option's help). */
static int wait_all(const teamsop_client *client, const struct options *o) {
  struct wait_all_run w;
  memset(&w, 0, sizeof w);
  atomic_init(&w.added, 0);
  atomic_init(&w.refused, 0);
  atomic_init(&w.reported, 0);
  atomic_init(&w.succeeded, 0);
  atomic_init(&w.not_succeeded, 0);
  int status = read_locations(o->wait_all, &w);
  w.ended = calloc(w.lines + 1, 1);
  if (status < 0 && w.ended == NULL) {
    status = (int)TEAMSOP_ERR_INTERNAL;
  }
  teamsop_batch *batch = status < 0 ? teamsop_batch_new(client) : NULL;
  teamsop_result r = TEAMSOP_OK;
  if (status < 0 && batch == NULL) {
    status = report_failure("creating the batch", TEAMSOP_ERR_INVALID_ARGUMENT, 0);
  }
  if (status < 0 && o->rate > 0 &&
      (r = teamsop_batch_set_max_gets_per_second(batch, (uint32_t)o->rate)) != TEAMSOP_OK) {
    status = report_failure("--rate", r, 0);
  }
  if (status < 0 && o->no_batching &&
      (r = teamsop_batch_set_json_batching(batch, false)) != TEAMSOP_OK) {
    status = report_failure("--no-batching", r, 0);
  }
  if (status >= 0) {
    teamsop_batch_free(batch);
    free_run(&w);
    return status;
  }
  w.batch = batch;
  w.start = clock_seconds();
  atomic_init(&w.rate, teamsop_batch_current_gets_per_second(batch));
  /* Each line's operation, or its refusal at once. */
  for (size_t line = 1; line <= w.lines; line++) {
    if (w.locations[line] == NULL) {
      continue;
    }
    teamsop_result added = teamsop_batch_add(batch, w.locations[line], (uint64_t)line);
    if (added == TEAMSOP_OK) {
      atomic_fetch_add(&w.added, 1);
    } else {
      w.ended[line] = 1;
      atomic_fetch_add(&w.refused, 1);
      atomic_fetch_add(&w.not_succeeded, 1);
      print_operation_line(&w, line, added, NULL, 0);
    }
  }
  size_t added = atomic_load(&w.added);
  long seconds = o->wait_seconds > 0 ? o->wait_seconds : 3600;
  /* Before the progress thread: it must start with SIGINT and SIGTERM blocked
   * too, or the kernel would hand them to it (and a shell's background job
   * ignores SIGINT, so they would be lost). */
  teamsop_cancel *cancel = teamsop_cancel_new();
  struct interrupt interrupt;
  int watching = cancel != NULL && interrupt_start(&interrupt, cancel) == 0;
  pthread_t progress;
  int progress_running = 0;
  if (!o->quiet) {
    fprintf(stderr, "[%6.1fs] %zu operation(s) from %s, at most %u GETs/s%s, for at most %ld s\n",
            0.0, added, o->wait_all, atomic_load(&w.rate), o->no_batching ? ", one by one" : "",
            seconds);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.wake, NULL);
    progress_running = pthread_create(&progress, NULL, progress_main, &w) == 0;
  }
  r = added > 0 ? teamsop_batch_run(batch, (uint32_t)(seconds * 1000), on_operation_done, &w, cancel)
                : TEAMSOP_OK;
  int signal_number = 0;
  if (watching) {
    interrupt_stop(&interrupt);
    signal_number = interrupt.signal;
  }
  teamsop_cancel_free(cancel);
  if (r != TEAMSOP_OK) {
    /* The operations not reported: their line, with why the run stopped. */
    for (size_t line = 1; line <= w.lines; line++) {
      if (w.locations[line] != NULL && !w.ended[line]) {
        print_operation_line(&w, line, r, NULL, 1);
      }
    }
  }
  if (progress_running) {
    pthread_mutex_lock(&w.lock);
    w.stop = 1;
    pthread_cond_signal(&w.wake);
    pthread_mutex_unlock(&w.lock);
    pthread_join(progress, NULL);
  }
  if (!o->quiet) {
    print_progress(&w);
    if (r != TEAMSOP_OK) {
      fprintf(stderr, PROGRAM ": the run stopped with %zu operation(s) pending: %s: %s\n",
              teamsop_batch_pending(batch), teamsop_result_str((uint32_t)r),
              teamsop_last_error_message());
    }
  }
  if (!o->quiet) {
    pthread_cond_destroy(&w.wake);
    pthread_mutex_destroy(&w.lock);
  }
  teamsop_batch_free(batch);
  if (signal_number != 0 && r == TEAMSOP_ERR_CANCELLED) {
    fprintf(stderr, PROGRAM ": interrupted by %s: the run was cancelled\n",
            signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    status = EXIT_SIGNALLED_BASE + signal_number;
  } else if (r != TEAMSOP_OK) {
    status = (int)r;
  } else {
    status = atomic_load(&w.not_succeeded) == 0 ? 0 : EXIT_OPERATION_FAILED;
  }
  free_run(&w);
  return status;
}

/* -------------------------------------------------------------- waiting */

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

/* --------------------------------------------------------------- the log */

/* teamsop_client_set_log's callback for -v: each line on stderr. ERROR lines are
 * left out: a failed call is reported by report_failure, with more. */
static void on_log(void *user_data, teamsop_log_level level, const char *line) {
  (void)user_data;
  static const char *const names[] = {"?", "ERROR", "WARN", "INFO", "DEBUG"};
  if (level != TEAMSOP_LOG_ERROR) {
    fprintf(stderr, PROGRAM ": %s %s\n", names[(unsigned)level <= 4 ? (unsigned)level : 0], line);
  }
}

/* ------------------------------------------------------ --token-command */

extern char **environ;

/* The most a token command may print (a token is under 16 KiB). */
#define TOKEN_COMMAND_OUTPUT_MAX (64 * 1024)

/* The environment of the token command: ours, with TEAMSOP_CLAIMS set to
 * `claims` (or left out when NULL). Returns a malloc'd array (its one new string
 * in *claims_entry, to free), or NULL when out of memory. */
static char **command_environment(const char *claims, char **claims_entry) {
  size_t n = 0;
  while (environ[n] != NULL) {
    n++;
  }
  char **env = calloc(n + 2, sizeof *env);
  if (env == NULL) {
    return NULL;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "TEAMSOP_CLAIMS=", 15) != 0) {
      env[k++] = environ[i];
    }
  }
  *claims_entry = NULL;
  if (claims != NULL) {
    size_t len = strlen(claims) + 16;
    *claims_entry = malloc(len);
    if (*claims_entry == NULL) {
      free(env);
      return NULL;
    }
    snprintf(*claims_entry, len, "TEAMSOP_CLAIMS=%s", claims);
    env[k++] = *claims_entry;
  }
  env[k] = NULL;
  return env;
}

/* Runs `command` with /bin/sh -c and reads its stdout into `out` (NUL-terminated,
 * at most out_len - 1 bytes). Returns 0, or -1 after saying on stderr what went
 * wrong (it could not start, printed too much, exited non-zero, was killed). */
static int run_token_command(const char *command, const char *claims, char *out, size_t out_len) {
  int fds[2];
  if (pipe(fds) != 0) {
    fprintf(stderr, PROGRAM ": --token-command: pipe: %s\n", strerror(errno));
    return -1;
  }
  char *claims_entry = NULL;
  char **env = command_environment(claims, &claims_entry);
  posix_spawn_file_actions_t actions;
  int spawned = -1;
  pid_t pid = -1;
  if (env != NULL && posix_spawn_file_actions_init(&actions) == 0) {
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    char *argv[] = {(char *)"sh", (char *)"-c", (char *)command, NULL};
    spawned = posix_spawn(&pid, "/bin/sh", &actions, NULL, argv, env);
    posix_spawn_file_actions_destroy(&actions);
  }
  free(env);
  free(claims_entry);
  close(fds[1]);
  if (spawned != 0) {
    fprintf(stderr, PROGRAM ": --token-command: cannot run /bin/sh: %s\n",
            strerror(spawned > 0 ? spawned : ENOMEM));
    close(fds[0]);
    return -1;
  }
  size_t len = 0;
  int too_much = 0;
  for (;;) {
    char scratch[4096];
    int room = len + 1 < out_len;
    ssize_t r = read(fds[0], room ? out + len : scratch, room ? out_len - 1 - len : sizeof scratch);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      break;
    }
    if (room) {
      len += (size_t)r;
    } else {
      too_much = 1; /* read on to the end, so the command is not stuck on a full pipe */
    }
  }
  out[len] = '\0';
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, PROGRAM ": --token-command: waitpid: %s\n", strerror(errno));
      return -1;
    }
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, PROGRAM ": --token-command was killed by signal %d\n", WTERMSIG(status));
    return -1;
  }
  if (WEXITSTATUS(status) != 0) {
    fprintf(stderr, PROGRAM ": --token-command failed (exit status %d)\n", WEXITSTATUS(status));
    return -1;
  }
  if (too_much) {
    fprintf(stderr, PROGRAM ": --token-command printed more than %d bytes\n",
            TOKEN_COMMAND_OUTPUT_MAX - 1);
    return -1;
  }
  return 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The token provider of --token-command (teamsop_token_fn): the token is the
 * first word of the command's output, its expiry (Unix seconds) the optional
 * second. Says on stderr why it gives none. */
static bool token_from_command(void *user_data, const char *claims, char *buf, size_t buf_len,
                               int64_t *expires_unix_ms) {
  const char *command = user_data;
  char *output = malloc(TOKEN_COMMAND_OUTPUT_MAX);
  if (output == NULL) {
    fprintf(stderr, PROGRAM ": --token-command: out of memory\n");
    return false;
  }
  bool given = false;
  if (run_token_command(command, claims, output, TOKEN_COMMAND_OUTPUT_MAX) == 0) {
    char *token = output;
    while (is_blank(*token)) {
      token++;
    }
    char *end = token;
    while (*end != '\0' && !is_blank(*end)) {
      end++;
    }
    char *rest = end;
    while (is_blank(*rest)) {
      rest++;
    }
    *end = '\0';
    char *expiry_end = rest;
    long long expiry_s = 0;
    int has_expiry = *rest != '\0';
    if (has_expiry) {
      errno = 0;
      expiry_s = strtoll(rest, &expiry_end, 10);
      while (is_blank(*expiry_end)) {
        expiry_end++;
      }
    }
    if (token[0] == '\0') {
      fprintf(stderr, PROGRAM ": --token-command printed no token\n");
    } else if (has_expiry && (errno != 0 || expiry_end == rest || *expiry_end != '\0' ||
                              expiry_s <= 0 || expiry_s > INT64_MAX / 1000)) {
      fprintf(stderr, PROGRAM ": --token-command printed more than a token and its expiry "
                      "(Unix seconds)\n");
    } else if (strlen(token) >= buf_len) {
      fprintf(stderr, PROGRAM ": --token-command printed a token of %zu bytes, too long\n",
              strlen(token));
    } else {
      memcpy(buf, token, strlen(token) + 1);
      *expires_unix_ms = has_expiry ? (int64_t)expiry_s * 1000 : TEAMSOP_NO_TIME;
      given = true;
    }
  }
  /* The token's copy in our buffer goes before the memory is handed back. */
  for (volatile char *p = output; p < output + TOKEN_COMMAND_OUTPUT_MAX; p++) {
    *p = 0;
  }
  free(output);
  return given;
}

/* ---------------------------------------------------------- the client */

/* Applies the options to the client; returns 0 or the exit status. The base URL:
 * --base-url, else --cloud's, else TEAMSOP_BASE_URL, else the library's default. */
static int configure(teamsop_client *client, const struct options *o) {
  teamsop_result r = TEAMSOP_OK;
  const char *base_url = o->base_url;
  if (base_url == NULL && o->cloud == NULL) {
    const char *from_env = getenv("TEAMSOP_BASE_URL");
    base_url = from_env != NULL && from_env[0] != '\0' ? from_env : NULL;
  }
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
      return usage_error("unknown cloud '%s' (global, usgov, usgovdod or china)", o->cloud);
    }
    if ((r = teamsop_client_set_cloud(client, clouds[i].cloud)) != TEAMSOP_OK) {
      return report_failure("--cloud", r, o->json);
    }
  }
  if (base_url != NULL && (r = teamsop_client_set_base_url(client, base_url)) != TEAMSOP_OK) {
    return report_failure(o->base_url != NULL ? "--base-url" : "TEAMSOP_BASE_URL", r, o->json);
  }
  if (o->timeout_ms > 0 &&
      (r = teamsop_client_set_timeout_ms(client, (uint32_t)o->timeout_ms)) != TEAMSOP_OK) {
    return report_failure("--timeout", r, o->json);
  }
  if (o->poll_ms > 0 &&
      (r = teamsop_client_set_poll_interval_ms(client, (uint32_t)o->poll_ms)) != TEAMSOP_OK) {
    return report_failure("--poll-ms", r, o->json);
  }
  if (o->select != NULL && (r = teamsop_client_set_select(client, o->select)) != TEAMSOP_OK) {
    return report_failure("--select", r, o->json);
  }
  if (o->ca_file != NULL && (r = teamsop_client_set_ca_file(client, o->ca_file)) != TEAMSOP_OK) {
    return report_failure("--ca-file", r, o->json);
  }
  if (o->verbose > 0 &&
      (r = teamsop_client_set_log(client, o->verbose > 1 ? TEAMSOP_LOG_DEBUG : TEAMSOP_LOG_INFO,
                                  on_log, NULL)) != TEAMSOP_OK) {
    return report_failure("--verbose", r, o->json);
  }
  if (o->token_command != NULL &&
      (r = teamsop_client_set_token_provider(client, token_from_command,
                                             (void *)o->token_command)) != TEAMSOP_OK) {
    return report_failure("--token-command", r, o->json);
  }
  return 0;
}

/* Fetches or waits for the operation the options name, prints it, and returns
 * the exit status. */
static int fetch_and_print(const teamsop_client *client, const struct options *o) {
  teamsop_operation *op = NULL;
  teamsop_result r;
  const char *what;
  struct progress progress = {.quiet = o->quiet, .polls = 0};
  if (o->wait_seconds > 0) {
    what = "waiting";
    clock_gettime(CLOCK_MONOTONIC, &progress.start);
    teamsop_cancel *cancel = teamsop_cancel_new();
    struct interrupt interrupt;
    int watching = cancel != NULL && interrupt_start(&interrupt, cancel) == 0;
    r = teamsop_wait_cancellable(client, o->location, (uint32_t)(o->wait_seconds * 1000), on_poll,
                                 &progress, cancel, &op);
    int signal_number = 0;
    if (watching) {
      interrupt_stop(&interrupt);
      signal_number = interrupt.signal;
    }
    teamsop_cancel_free(cancel);
    if (signal_number != 0 && r == TEAMSOP_ERR_CANCELLED) {
      teamsop_free(op);
      fprintf(stderr, PROGRAM ": interrupted by %s after %.1f s: the wait was cancelled\n",
              signal_number == SIGINT ? "SIGINT" : "SIGTERM", seconds_since(&progress.start));
      return EXIT_SIGNALLED_BASE + signal_number;
    }
  } else if (o->location != NULL) {
    what = "GET location";
    r = teamsop_get_location(client, o->location, &op);
  } else if (o->chat != NULL) {
    what = "GET chat operation";
    r = teamsop_get(client, o->chat, o->operation, &op);
  } else {
    what = "GET team operation";
    r = teamsop_get_team_operation(client, o->team, o->operation, &op);
  }
  if (r != TEAMSOP_OK) {
    return report_failure(what, r, o->json);
  }

  if (o->json) {
    printf("%s\n", teamsop_operation_json(op));
  } else {
    print_table(op);
  }
  if (o->wait_seconds > 0 && !o->quiet) {
    fprintf(stderr, "[%6.1fs] done after %d poll(s): %s\n", seconds_since(&progress.start),
            progress.polls, or_dash(teamsop_operation_status_str(op)));
  }
  teamsop_status end = teamsop_operation_status(op);
  int status = end == TEAMSOP_STATUS_FAILED || end == TEAMSOP_STATUS_INVALID ? EXIT_OPERATION_FAILED : 0;
  teamsop_free(op);
  return status;
}

int main(int argc, char **argv) {
  struct options o;
  int status = parse_args(argc, argv, &o);
  if (status >= 0) {
    return status;
  }
  const char *token = getenv(o.token_env);
  if (token != NULL && token[0] == '\0') {
    token = NULL;
  }
  if (token == NULL && o.token_command == NULL) {
    return usage_error("set the access token in the environment variable %s (or give "
                       "--token-command)",
                       o.token_env);
  }

  teamsop_client *client = teamsop_client_new(token);
  if (client == NULL) {
    return report_failure("creating the client", TEAMSOP_ERR_INVALID_ARGUMENT, o.json);
  }
  status = configure(client, &o);
  if (status == 0) {
    status = o.wait_all != NULL ? wait_all(client, &o) : fetch_and_print(client, &o);
  }
  teamsop_client_free(client);
  return status;
}
