/*
 * Time to the first result in a fresh process: spawns each command with --first
 * appended, R times, round-robin (A B A B ...), and takes from each child the
 * CLOCK_MONOTONIC times at which its main was entered, its client was ready and
 * its first result was read (CLOCK_MONOTONIC is one clock for every process).
 *
 *   first_result [--runs R] --cmd "PROG [ARGS]" [--cmd "PROG [ARGS]" ...]
 *
 * For each command prints one JSON line with medians over the runs of:
 *   start_ns   spawn to main: exec, the dynamic loader (the library and its
 *              dependencies mapped and relocated), constructors;
 *   client_ns  main to a client ready (teamsop_client_new + set_base_url, or
 *              curl_global_init + curl_easy_init + options);
 *   get_ns     the first GET and its reads (connect, request, parse);
 *   total_ns   spawn to the first result (its median is not the sum of theirs);
 * and the child's peak RSS. Exits 1 if a child failed.
 */
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

extern char **environ;

#define MAX_CMDS 8
#define MAX_ARGS 32

struct cmd {
    char *argv[MAX_ARGS + 2];
    char prog[32];
    uint64_t *start, *client, *get, *total;
    long rss;
};

static uint64_t field(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

static int run_once(struct cmd *c, int k) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    pid_t pid;
    uint64_t t0 = bench_now_ns();
    int err = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (err != 0) {
        fprintf(stderr, "first_result: cannot spawn %s: %s\n", c->argv[0], strerror(err));
        close(fds[0]);
        return 1;
    }
    char out[4096];
    size_t n = 0;
    ssize_t got;
    while (n + 1 < sizeof out && (got = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)got;
    out[n] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "first_result: %s failed (status %d): %s\n", c->argv[0], status, out);
        return 1;
    }
    uint64_t tm = field(out, "t_main_ns"), tc = field(out, "t_client_ns"),
             tf = field(out, "t_first_ns");
    if (!tm || !tc || !tf || tm < t0) {
        fprintf(stderr, "first_result: no times from %s: %s\n", c->argv[0], out);
        return 1;
    }
    const char *p = strstr(out, "\"prog\": \"");
    if (p) {
        p += 9;
        size_t l = strcspn(p, "\"");
        if (l >= sizeof c->prog) l = sizeof c->prog - 1;
        memcpy(c->prog, p, l);
        c->prog[l] = 0;
    }
    c->start[k] = tm - t0;
    c->client[k] = tc - tm;
    c->get[k] = tf - tc;
    c->total[k] = tf - t0;
    long rss = (long)field(out, "peak_rss_kib");
    if (rss > c->rss) c->rss = rss;
    return 0;
}

int main(int argc, char **argv) {
    long runs = 15;
    struct cmd cmds[MAX_CMDS];
    int ncmds = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = bench_arg_long(argv[i], argv[i + 1]);
            i++;
        } else if (strcmp(argv[i], "--cmd") == 0 && i + 1 < argc && ncmds < MAX_CMDS) {
            struct cmd *c = &cmds[ncmds++];
            memset(c, 0, sizeof *c);
            int a = 0;
            for (char *tok = strtok(argv[++i], " "); tok && a < MAX_ARGS; tok = strtok(NULL, " "))
                c->argv[a++] = tok;
            c->argv[a++] = "--first";
            c->argv[a] = NULL;
            snprintf(c->prog, sizeof c->prog, "%s", c->argv[0]);
        } else {
            fprintf(stderr, "usage: %s [--runs R] --cmd \"PROG [ARGS]\" ...\n", argv[0]);
            return 64;
        }
    }
    if (ncmds == 0 || runs < 1) {
        fprintf(stderr, "usage: %s [--runs R] --cmd \"PROG [ARGS]\" ...\n", argv[0]);
        return 64;
    }
    for (int c = 0; c < ncmds; c++) {
        cmds[c].start = calloc((size_t)runs, sizeof(uint64_t));
        cmds[c].client = calloc((size_t)runs, sizeof(uint64_t));
        cmds[c].get = calloc((size_t)runs, sizeof(uint64_t));
        cmds[c].total = calloc((size_t)runs, sizeof(uint64_t));
    }
    for (long k = 0; k < runs; k++)
        for (int c = 0; c < ncmds; c++)
            if (run_once(&cmds[c], (int)k) != 0) return 1;
    for (int c = 0; c < ncmds; c++) {
        struct cmd *m = &cmds[c];
        struct bench_stats s = bench_stats_of(m->start, (size_t)runs);
        struct bench_stats l = bench_stats_of(m->client, (size_t)runs);
        struct bench_stats g = bench_stats_of(m->get, (size_t)runs);
        struct bench_stats t = bench_stats_of(m->total, (size_t)runs);
        printf("{\"prog\": \"%s\", \"mode\": \"first\", \"runs\": %ld, \"start_ns\": %.0f, "
               "\"client_ns\": %.0f, \"get_ns\": %.0f, \"total_ns\": %.0f, \"total_min_ns\": "
               "%.0f, \"total_max_ns\": %.0f, \"peak_rss_kib\": %ld}\n",
               m->prog, runs, s.median_ns, l.median_ns, g.median_ns, t.median_ns, t.min_ns,
               t.max_ns, m->rss);
    }
    return 0;
}
