/*
 * Parse speed, in process, no network: teamsop_parse + the same field reads as
 * the loops + teamsop_free, against cJSON_ParseWithLength + the same reads (type
 * checks, enum lookup, both date-times to Unix ms) + cJSON_Delete, on one body
 * (the seed operation that the emulator serves).
 *
 *   parse_bench [--body FILE] [--iters N] [--rounds R]
 *
 * Each round times N iterations of each side back to back, the order alternating
 * from round to round (A B, B A, ...), so that drift hits both. Also times
 * cJSON_ParseWithLength + cJSON_Delete alone (no reads), for scale. Prints one
 * JSON line per round, then a summary line: medians over the rounds of ns per
 * parse, and the median of the rounds' ratios teamsop / cJSON.
 */
#include "cjson_fields.h"
#include "teamsop_fields.h"

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        if (got == 0) break;
        n += got;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static long errors;

__attribute__((noinline)) static uint64_t run_teamsop(const char *body, size_t len, long iters) {
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        teamsop_operation *op = NULL;
        if (teamsop_parse(body, len, &op) != TEAMSOP_OK) {
            errors++;
            continue;
        }
        errors += teamsop_read_fields(op);
        teamsop_free(op);
    }
    return bench_now_ns() - t0;
}

__attribute__((noinline)) static uint64_t run_cjson(const char *body, size_t len, long iters) {
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) errors += cjson_read_fields(body, len);
    return bench_now_ns() - t0;
}

__attribute__((noinline)) static uint64_t run_cjson_bare(const char *body, size_t len,
                                                        long iters) {
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < iters; i++) {
        cJSON *root = cJSON_ParseWithLength(body, len);
        errors += root == NULL;
        bench_sink += (uint64_t)(uintptr_t)root;
        cJSON_Delete(root);
    }
    return bench_now_ns() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

int main(int argc, char **argv) {
    const char *path = "tests/fixtures/seed-operation.json";
    long iters = 200000, rounds = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--body") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = bench_arg_long(argv[i], argv[i + 1]);
            i++;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = bench_arg_long(argv[i], argv[i + 1]);
            i++;
        } else {
            fprintf(stderr, "usage: %s [--body FILE] [--iters N] [--rounds R]\n", argv[0]);
            return 64;
        }
    }
    if (iters < 1 || rounds < 1) {
        fprintf(stderr, "--iters and --rounds must be at least 1\n");
        return 64;
    }
    size_t len = 0;
    char *body = read_file(path, &len);
    if (!body) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    /* Warm both up (caches, allocator), outside the timing. */
    long warm = iters / 10 + 1;
    run_teamsop(body, len, warm);
    run_cjson(body, len, warm);
    run_cjson_bare(body, len, warm);
    if (errors) {
        fprintf(stderr, "parse_bench: the body did not read as the seed operation\n");
        return 1;
    }

    double *tp = calloc((size_t)rounds, sizeof *tp), *cp = calloc((size_t)rounds, sizeof *cp);
    double *bp = calloc((size_t)rounds, sizeof *bp), *ratio = calloc((size_t)rounds, sizeof *ratio);
    for (long r = 0; r < rounds; r++) {
        uint64_t t, c, b;
        if (r % 2 == 0) {
            t = run_teamsop(body, len, iters);
            c = run_cjson(body, len, iters);
            b = run_cjson_bare(body, len, iters);
        } else {
            b = run_cjson_bare(body, len, iters);
            c = run_cjson(body, len, iters);
            t = run_teamsop(body, len, iters);
        }
        tp[r] = (double)t / (double)iters;
        cp[r] = (double)c / (double)iters;
        bp[r] = (double)b / (double)iters;
        ratio[r] = tp[r] / cp[r];
        printf("{\"prog\": \"parse\", \"mode\": \"round\", \"round\": %ld, \"iters\": %ld, "
               "\"teamsop_ns\": %.1f, \"cjson_ns\": %.1f, \"cjson_bare_ns\": %.1f, "
               "\"ratio\": %.3f}\n",
               r, iters, tp[r], cp[r], bp[r], ratio[r]);
    }
    double rmin = ratio[0], rmax = ratio[0];
    for (long r = 1; r < rounds; r++) {
        if (ratio[r] < rmin) rmin = ratio[r];
        if (ratio[r] > rmax) rmax = ratio[r];
    }
    printf("{\"prog\": \"parse\", \"mode\": \"summary\", \"rounds\": %ld, \"iters\": %ld, "
           "\"body_bytes\": %zu, \"teamsop_ns\": %.1f, \"cjson_ns\": %.1f, \"cjson_bare_ns\": "
           "%.1f, \"ratio_median\": %.3f, \"ratio_min\": %.3f, \"ratio_max\": %.3f, "
           "\"peak_rss_kib\": %ld, \"errors\": %ld}\n",
           rounds, iters, len, median(tp, (int)rounds), median(cp, (int)rounds),
           median(bp, (int)rounds), median(ratio, (int)rounds), rmin, rmax,
           bench_peak_rss_kib(), errors);
    free(tp);
    free(cp);
    free(bp);
    free(ratio);
    free(body);
    return errors ? 1 : 0;
}
