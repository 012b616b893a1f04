# The system's trusted roots through the C ABI (tests/c/test_roots.c): read from
# SSL_CERT_FILE, added to by a CA file, and read again after a failure (a first
# handshake with no free file descriptor). Its own program: it changes the
# environment and RLIMIT_NOFILE of its process.
#
#   make roots-test

.PHONY: roots-test

$(BUILD)/test_roots: tests/c/test_roots.c tests/c/check.h tests/c/test_support.h include/teamsop.h build | $(BUILD)
	$(CC) $(CWARN) $(CFLAGS_LIB) -o $@ $< $(LDLIBS_SO)

roots-test: $(BUILD)/test_roots
	scripts/with-emulator.sh --tls -- $(BUILD)/test_roots

TEST_TARGETS += roots-test
