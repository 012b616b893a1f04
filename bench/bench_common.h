/*
 * What the benchmark programs share: clocks, statistics, peak RSS, the seed
 * operation's ids and expected values, and the work a hand-written client does
 * with a body (enum lookup, ISO 8601 to Unix ms) so that the peer does what the
 * library does.
 *
 * Every program prints exactly one machine-readable line per measurement on
 * stdout, a JSON object; bench/driver.py reads those lines.
 */
#ifndef TEAMSOP_BENCH_COMMON_H
#define TEAMSOP_BENCH_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

/* The operation of Graph's documentation page, preloaded by the emulator. */
#define BENCH_CHAT_ID "19:c253a29b5f694b55a6baad8e83510af7@thread.v2"
#define BENCH_OPERATION_ID                                                         \
    "2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-"   \
    "cf58835e-43f0-4fc1-825e-5de55630e7e4"
#define BENCH_CREATED_MS 1622150621908LL
#define BENCH_LAST_ACTION_MS 1622150625189LL

/* Keeps the compiler from dropping reads whose results are otherwise unused. */
static volatile uint64_t bench_sink;

static inline uint64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* User and system CPU time of the whole process so far, in ns. */
static inline void bench_cpu_ns(uint64_t *user, uint64_t *sys) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000ull;
    *sys = (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000ull;
}

/* Peak resident set size of this process image, in KiB: VmHWM of /proc/self/status.
 * Not getrusage's ru_maxrss, which Linux carries over exec from the parent's
 * image (a child of a 16 MiB Python would report 16 MiB). */
static inline long bench_peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    if (f) fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = ru.ru_maxrss;
    }
    return kib;
}

static int bench_cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

struct bench_stats {
    double median_ns, p99_ns, mean_ns, min_ns, max_ns;
};

/* Sorts `v` in place. Nearest-rank percentiles. */
static inline struct bench_stats bench_stats_of(uint64_t *v, size_t n) {
    struct bench_stats s = {0, 0, 0, 0, 0};
    if (n == 0) return s;
    qsort(v, n, sizeof *v, bench_cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += (double)v[i];
    s.mean_ns = sum / (double)n;
    s.median_ns = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
    size_t r99 = (size_t)((double)n * 0.99 + 0.999999);
    if (r99 < 1) r99 = 1;
    if (r99 > n) r99 = n;
    s.p99_ns = (double)v[r99 - 1];
    s.min_ns = (double)v[0];
    s.max_ns = (double)v[n - 1];
    return s;
}

static inline long bench_arg_long(const char *flag, const char *value) {
    char *end = NULL;
    errno = 0;
    long v = value ? strtol(value, &end, 10) : -1;
    if (!value || errno || *end || v < 0) {
        fprintf(stderr, "%s needs a non-negative number\n", flag);
        exit(64);
    }
    return v;
}

static inline const char *bench_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "%s is not set (run under scripts/with-emulator.sh)\n", name);
        exit(64);
    }
    return v;
}

/* ---------------------------------------------------------------- the peer's work */

/* Graph's enum members, matched without regard to ASCII case as the library does;
 * the index is the teamsop_status / teamsop_type value, the count "unrecognized". */
static const char *const BENCH_STATUS_NAMES[] = {"invalid",   "notStarted", "inProgress",
                                                 "succeeded", "failed",     "unknownFutureValue"};
static const char *const BENCH_TYPE_NAMES[] = {
    "invalid",           "cloneTeam",     "archiveTeam",   "unarchiveTeam",
    "createTeam",        "unknownFutureValue", "teamifyGroup", "createChannel",
    "createChat",        "archiveChannel", "unarchiveChannel"};

static inline int bench_lookup(const char *const *names, int count, const char *text) {
    for (int i = 0; i < count; i++)
        if (strcasecmp(names[i], text) == 0) return i;
    return count;
}

static inline int bench_digits(const char *s, size_t at, size_t len, size_t total, int64_t *out) {
    if (at + len > total) return 0;
    int64_t v = 0;
    for (size_t i = at; i < at + len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static inline int64_t bench_days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ISO 8601 as Graph sends it (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)) to Unix
 * ms, fraction truncated; INT64_MIN if malformed. The same checks as the
 * library's parser (src/time.rs), written the way a C client would. */
static inline int64_t bench_iso8601_to_unix_ms(const char *s) {
    size_t n = strlen(s);
    int64_t year, month, day, hour, minute, second;
    if (n < 20 || !bench_digits(s, 0, 4, n, &year) || !bench_digits(s, 5, 2, n, &month) ||
        !bench_digits(s, 8, 2, n, &day) || !bench_digits(s, 11, 2, n, &hour) ||
        !bench_digits(s, 14, 2, n, &minute) || !bench_digits(s, 17, 2, n, &second))
        return INT64_MIN;
    if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return INT64_MIN;
    static const int64_t mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) return INT64_MIN;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int64_t dim = mdays[month - 1] + (month == 2 && leap);
    if (day < 1 || day > dim || hour > 23 || minute > 59 || second > 60) return INT64_MIN;
    size_t pos = 19;
    int64_t millis = 0;
    if (s[pos] == '.') {
        size_t start = pos + 1, end = start;
        while (end < n && s[end] >= '0' && s[end] <= '9') end++;
        size_t count = end - start;
        if (count == 0 || count > 12) return INT64_MIN;
        for (size_t i = 0; i < 3; i++) millis = millis * 10 + (i < count ? s[start + i] - '0' : 0);
        pos = end;
    }
    int64_t offset = 0;
    if (n - pos == 1 && (s[pos] == 'Z' || s[pos] == 'z')) {
        offset = 0;
    } else if (n - pos == 6 && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
        int64_t oh, om;
        if (!bench_digits(s, pos + 1, 2, n, &oh) || !bench_digits(s, pos + 4, 2, n, &om) ||
            oh > 23 || om > 59)
            return INT64_MIN;
        offset = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    } else {
        return INT64_MIN;
    }
    int64_t days = bench_days_from_civil(year, month, day);
    int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset * 60;
    return secs * 1000 + millis;
}

/* A version-4 GUID for client-request-id, from a per-thread xorshift generator
 * (the library's needs no cryptographic strength either). `out` holds 37 bytes. */
static inline void bench_guid(uint64_t *state, char *out) {
    static const char hex[] = "0123456789abcdef";
    uint64_t w[2];
    for (int k = 0; k < 2; k++) {
        uint64_t x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        w[k] = x;
    }
    unsigned char b[16];
    memcpy(b, w, 16);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = 0;
}

/* Percent-encodes `id` as one path segment, keeping what the library keeps
 * (ASCII letters, digits, -._~:@). Returns the new end of `out`. */
static inline char *bench_encode_segment(char *out, const char *id) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@') {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    return out;
}

/* Folds a string into the sink: reads its pointer and first byte. */
static inline uint64_t bench_touch(const char *s) {
    return s ? (uint64_t)(uintptr_t)s + (unsigned char)s[0] : 1;
}

/* ---------------------------------------------------------------- threads */

/* The part of every loop program that runs N calls on T threads and reports. */
struct bench_thread {
    pthread_t tid;
    int index;
    long calls;  /* timed calls of this thread */
    long warmup; /* untimed calls before the barrier */
    uint64_t *lat; /* per-call latency, ns */
    long errors;
    void *ctx; /* the program's per-thread state */
};

#endif
