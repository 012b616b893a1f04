/*
 * test_roots: the system's trusted roots through the C ABI (API.md 0.2, "System
 * roots"), against the emulator over HTTPS. The emulator's CA is made the system's
 * only root with SSL_CERT_FILE, so the system roots are what trusts the server
 * (no teamsop_client_set_ca_file, except where a test says so): they are read
 * from there, a CA file adds to them and suffices without them, and a failure to
 * read them (a missing file, no free file descriptor) is reported and not kept.
 *
 *   scripts/with-emulator.sh --tls -- out/test_roots
 *
 * Its own process: it sets SSL_CERT_FILE and lowers RLIMIT_NOFILE, both
 * process-wide. Needs TEAMSOP_BASE_URL (https), TEAMSOP_TOKEN, TEAMSOP_CA_FILE.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#include "test_support.h"

static const char *base_url;
static const char *token;
static const char *emulator_ca;

static teamsop_client *new_client(const char *ca_file) {
  teamsop_client *c = test_client_ready(teamsop_client_new(token), base_url, ca_file);
  CHECK_RESULT(teamsop_client_set_timeout_ms(c, 5000), TEAMSOP_OK);
  return c;
}

static bool get_ok(teamsop_client *c) {
  teamsop_operation *op = NULL;
  teamsop_result r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
  if (r != TEAMSOP_OK) {
    CHECK_NOTE("teamsop_get: %s: %s", teamsop_result_str(r), teamsop_last_error_message());
    return false;
  }
  teamsop_free(op);
  return true;
}

/* The emulator's CA, through SSL_CERT_FILE alone, is trusted. */
TEST(system_roots_from_ssl_cert_file_are_trusted) {
  teamsop_client *c = new_client(NULL);
  CHECK(get_ok(c));
  teamsop_client_free(c);
}

/* ISRG Root X2, a real root that did not sign the emulator's certificate. */
static const char other_ca[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICGzCCAaGgAwIBAgIQQdKd0XLq7qeAwSxs6S+HUjAKBggqhkjOPQQDAzBPMQsw\n"
    "CQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJuZXQgU2VjdXJpdHkgUmVzZWFyY2gg\n"
    "R3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBYMjAeFw0yMDA5MDQwMDAwMDBaFw00\n"
    "MDA5MTcxNjAwMDBaME8xCzAJBgNVBAYTAlVTMSkwJwYDVQQKEyBJbnRlcm5ldCBT\n"
    "ZWN1cml0eSBSZXNlYXJjaCBHcm91cDEVMBMGA1UEAxMMSVNSRyBSb290IFgyMHYw\n"
    "EAYHKoZIzj0CAQYFK4EEACIDYgAEzZvVn4CDCuwJSvMWSj5cz3es3mcFDR0HttwW\n"
    "+1qLFNvicWDEukWVEYmO6gbf9yoWHKS5xcUy4APgHoIYOIvXRdgKam7mAHf7AlF9\n"
    "ItgKbppbd9/w+kHsOdx1ymgHDB/qo0IwQDAOBgNVHQ8BAf8EBAMCAQYwDwYDVR0T\n"
    "AQH/BAUwAwEB/zAdBgNVHQ4EFgQUfEKWrt5LSDv6kviejM9ti6lyN5UwCgYIKoZI\n"
    "zj0EAwMDaAAwZQIwe3lORlCEwkSHRhtFcP9Ymd70/aTSVaYgLXTWNLxBo1BfASdW\n"
    "tL4ndQavEi51mI38AjEAi/V3bNTIZargCyzuFJ0nN6T5U6VR5CmD1/iQMVtCnwr1\n"
    "/q4AaOeMSQ+2b1tbFfLn\n"
    "-----END CERTIFICATE-----\n";

/* A CA file adds to the system's roots: one that did not sign the server's
 * certificate does not hide the system root that did. */
TEST(a_ca_file_adds_to_the_system_roots) {
  char path[] = "/tmp/teamsop-other-ca-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK_EQ_INT(write(fd, other_ca, sizeof other_ca - 1), (long long)(sizeof other_ca - 1));
  close(fd);
  teamsop_client *c = new_client(path);
  CHECK(get_ok(c));
  teamsop_client_free(c);
  unlink(path);
}

/* With no readable system roots (SSL_CERT_FILE names no file), a server whose
 * chain ends at a root of the CA file is still trusted (the system's roots are not
 * needed for it), and one that needs them fails with a message that says why. */
TEST(a_ca_file_suffices_without_system_roots) {
  setenv("SSL_CERT_FILE", "/nonexistent/teamsop-roots.pem", 1);
  teamsop_client *with_ca = new_client(emulator_ca);
  CHECK(get_ok(with_ca));
  teamsop_client_free(with_ca);
  teamsop_client *without = new_client(NULL);
  teamsop_operation *op = NULL;
  CHECK_RESULT(teamsop_get(without, SEED_CHAT, SEED_OP, &op), TEAMSOP_ERR_TRANSPORT);
  const char *msg = teamsop_last_error_message();
  CHECK(msg != NULL && strstr(msg, "the system's trusted roots could not be read "
                                   "(/nonexistent/teamsop-roots.pem: No such file or "
                                   "directory)") != NULL);
  teamsop_client_free(without);
  setenv("SSL_CERT_FILE", emulator_ca, 1);
}

/* Descriptors held to exhaust the table, released from the end. */
static int held[4096];
static int nheld;

static void hold_every_descriptor(void) {
  nheld = 0;
  for (;;) {
    if (nheld == (int)(sizeof held / sizeof held[0])) break;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      CHECK_EQ_INT(errno, EMFILE);
      break;
    }
    held[nheld++] = fd;
  }
}

static void release_one(void) {
  if (nheld > 0) close(held[--nheld]);
}

static void release_all(void) {
  while (nheld > 0) release_one();
}

/* The first handshake runs with no descriptor left for the roots file: it fails
 * and says why; once descriptors are back, the same client and a new one both
 * succeed (the failure was not remembered). */
TEST(roots_unreadable_for_want_of_descriptors_are_read_again_later) {
  /* Before the system's roots are first read (a success is kept for the
   * process): main runs it before any test whose handshake reads them. */
  teamsop_client *c = new_client(NULL);
  hold_every_descriptor();
  CHECK(nheld > 0);
  /* Free descriptors one at a time: the first calls fail before any handshake
   * (no descriptor for the runtime or the socket), then one reaches the
   * certificate check with no descriptor for the roots file. */
  bool saw_roots_error = false;
  for (int attempt = 0; attempt < 16 && !saw_roots_error; attempt++) {
    teamsop_operation *op = NULL;
    teamsop_result r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
    if (r == TEAMSOP_OK) {
      teamsop_free(op);
      CHECK_NOTE("succeeded with %d descriptors held before any roots error", nheld);
      break;
    }
    const char *msg = teamsop_last_error_message();
    if (msg != NULL && strstr(msg, "trusted roots could not be read") != NULL) {
      saw_roots_error = true;
      CHECK_EQ_INT(r, TEAMSOP_ERR_TRANSPORT);
      CHECK(strstr(msg, emulator_ca) != NULL);
      CHECK(strstr(msg, "Too many open files") != NULL);
      CHECK(strstr(msg, "127.0.0.1") != NULL);
      printf("    the roots error: %s\n", msg);
      /* Still no descriptor: the same answer, not "unknown issuer". */
      r = teamsop_get(c, SEED_CHAT, SEED_OP, &op);
      CHECK_EQ_INT(r, TEAMSOP_ERR_TRANSPORT);
      msg = teamsop_last_error_message();
      CHECK(msg != NULL && strstr(msg, "trusted roots could not be read") != NULL);
    } else {
      release_one();
    }
  }
  CHECK(saw_roots_error);
  release_all();
  CHECK(get_ok(c));
  teamsop_client_free(c);
  teamsop_client *fresh = new_client(NULL);
  CHECK(get_ok(fresh));
  teamsop_client_free(fresh);
}

/* In this order: the first two need the system's roots not read yet (a success
 * is kept for the process). */
static check_test g_tests[] = {
    CHECK_TEST_ENTRY(a_ca_file_suffices_without_system_roots),
    CHECK_TEST_ENTRY(roots_unreadable_for_want_of_descriptors_are_read_again_later),
    CHECK_TEST_ENTRY(system_roots_from_ssl_cert_file_are_trusted),
    CHECK_TEST_ENTRY(a_ca_file_adds_to_the_system_roots),
};

int main(int argc, char **argv) {
  int status = check_parse_args(argc, argv, "test_roots", g_tests, CHECK_COUNT(g_tests));
  if (status >= 0) {
    return status;
  }
  base_url = getenv("TEAMSOP_BASE_URL");
  token = getenv("TEAMSOP_TOKEN");
  emulator_ca = getenv("TEAMSOP_CA_FILE");
  if (!base_url || strncmp(base_url, "https://", 8) != 0 || !token || !emulator_ca) {
    fprintf(stderr, "test_roots: run under scripts/with-emulator.sh --tls\n");
    return 2;
  }
  /* Before the library reads the roots (at the first handshake). */
  setenv("SSL_CERT_FILE", emulator_ca, 1);
  unsetenv("SSL_CERT_DIR");
  /* A small table fills fast. */
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur > 256) {
    lim.rlim_cur = 256;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  test_set_secrets(token, NULL, 0);
  test_catch_sigpipe("SIGPIPE raised", NULL);
  check_run_selected(g_tests, CHECK_COUNT(g_tests));
  return CHECK_SUMMARY();
}
