/*
 * test_abi.c: libteamsop's C ABI, every function of include/teamsop.h, against
 * the Graph emulator over loopback. One program; its tests are in tests/c/abi/,
 * one file per topic (abi.h lists them), and this file holds main() and the
 * table of every test, in the order they run.
 *
 *   scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- out/test_abi
 *   scripts/with-emulator.sh --tls --scenarios tests/c/scenarios.json -- out/test_abi
 *   scripts/with-emulator.sh --scenarios tests/c/scenarios.json -- out/test_abi wait
 *   out/test_abi --list
 *
 * Test names on the command line run only those (with or without their test_
 * prefix, or a shell pattern; see check.h). Reads TEAMSOP_BASE_URL,
 * TEAMSOP_TOKEN, TEAMSOP_EMULATOR_URL and (with --tls) TEAMSOP_CA_FILE, as
 * exported by scripts/with-emulator.sh. The scripted answers are in
 * tests/c/scenarios.json. Over plain http, a tiny socket client also reads the
 * emulator's record of requests (GET /_emulator/requests) to check what was, or
 * was not, sent; over https those checks are skipped.
 *
 * Run from the repository root (the seed fixture is read from
 * tests/fixtures/seed-operation.json). Exit status 0 when every check passed, 64
 * for a name that matches no test.
 */
/* The check counters and test_support.h's state are defined here, once. */
#define CHECK_DEFINE_STATE
#include "abi/abi.h"

/* The tokens this program hands to the library: like the real token, they must
 * never appear in an error message (test_set_secrets, in main). The
 * stderr-token-check of mk/memcheck.mk reads this list too. */
static const char *const g_secrets[] = {
    "wrong-secret-abc123", "value123", "sekret-tab", "xyzzy-non-ascii", "plugh-nonutf8",
    "thread-secret-987",
};

/* Every test, in the order they run. */
static check_test g_tests[] = {
    CHECK_TEST_ENTRY(test_last_error_rules), /* first: this thread has had no failure yet */
    CHECK_TEST_ENTRY(test_version),
    CHECK_TEST_ENTRY(test_result_str),
    CHECK_TEST_ENTRY(test_client_new),
    CHECK_TEST_ENTRY(test_setters_null_client),
    CHECK_TEST_ENTRY(test_set_cloud),
    CHECK_TEST_ENTRY(test_set_base_url),
    CHECK_TEST_ENTRY(test_numeric_setters),
    CHECK_TEST_ENTRY(test_set_select),
    CHECK_TEST_ENTRY(test_set_ca_file),
    CHECK_TEST_ENTRY(test_set_token),
    CHECK_TEST_ENTRY(test_get_seed),
    CHECK_TEST_ENTRY(test_get_team_operations),
    CHECK_TEST_ENTRY(test_get_location_forms),
    CHECK_TEST_ENTRY(test_hostile_ids),
    CHECK_TEST_ENTRY(test_invalid_ids),
    CHECK_TEST_ENTRY(test_error_classes),
    CHECK_TEST_ENTRY(test_parse),
    CHECK_TEST_ENTRY(test_null_accessors),
    CHECK_TEST_ENTRY(test_wait),
    CHECK_TEST_ENTRY(test_threads),
    CHECK_TEST_ENTRY(test_operation_shared_between_threads),
};

int main(int argc, char **argv) {
  int status = check_parse_args(argc, argv, "test_abi", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  test_catch_sigpipe(
      "SIGPIPE raised by libteamsop",
      "    !!! SIGPIPE raised inside the library (a host with the default disposition dies)\n");
  g_base_url = getenv("TEAMSOP_BASE_URL");
  g_token = getenv("TEAMSOP_TOKEN");
  g_emu_url = getenv("TEAMSOP_EMULATOR_URL");
  g_ca_file = getenv("TEAMSOP_CA_FILE");
  if (g_ca_file != NULL && g_ca_file[0] == '\0') {
    g_ca_file = NULL;
  }
  if (g_base_url == NULL || g_token == NULL || g_token[0] == '\0' || g_emu_url == NULL) {
    fprintf(stderr,
            "test_abi: set TEAMSOP_BASE_URL, TEAMSOP_TOKEN and TEAMSOP_EMULATOR_URL\n"
            "  (run it under scripts/with-emulator.sh --scenarios tests/c/scenarios.json)\n");
    return 2;
  }
  test_set_secrets(g_token, g_secrets, sizeof g_secrets / sizeof g_secrets[0]);
  g_http = strncmp(g_emu_url, "http://", 7) == 0;
  g_emu_port = emu_url_port(g_emu_url);
  g_fixture = read_file("tests/fixtures/seed-operation.json", &g_fixture_len);
  if (g_fixture == NULL) {
    fprintf(stderr, "test_abi: cannot read tests/fixtures/seed-operation.json (run from the "
                    "repository root)\n");
    return 2;
  }
  printf("test_abi: %s (%s), request record checks %s\n", g_base_url,
         g_ca_file != NULL ? "with TEAMSOP_CA_FILE" : "no CA file", g_http ? "on" : "off (https)");

  double t0 = now_s();
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  printf("test_abi: %.2f s\n", now_s() - t0);
  free(g_fixture);
  return CHECK_SUMMARY();
}
