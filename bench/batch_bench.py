#!/usr/bin/env python3
"""make bench-batch: many operations at once, teamsop_batch against the naive peers.

Run under scripts/with-emulator.sh --no-record (the emulator's control endpoints
over plain http; TEAMSOP_EMULATOR_URL, TEAMSOP_BASE_URL and TEAMSOP_TOKEN set). For
each row: the emulator is reset, limits operation GETs at a rate (per second, per
inner request, Retry-After 1), and holds N new operations that end at random times
within T seconds (uniform); one client of out/bench/*/batch_clients follows them
all; then the emulator's stats and its record of each operation's end give:

  wall      start to the last report
  HTTP      requests the emulator received ($batch requests and single GETs)
  inner     requests inside $batch requests
  429       429s the emulator sent (alone, for a whole $batch or inside one)
  busiest   the most operation GETs it received in any sliding second
  lag       from an operation's end on the server to its report with its
            terminal status (median, p99; those an error ended are left out)
  CPU       the client's user + system CPU; per GET
  RSS       the client's peak resident memory

and the targets of the issue are checked (each printed met or MISSED; with
--check, the exit status is 1 when one is missed).
Then RSS at N = 100,000 pending (no network). --smoke: tiny N, no target checked,
only that every client reports every operation once.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the emulator

def control(method, path, body=None):
    url = os.environ["TEAMSOP_EMULATOR_URL"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def prepare(n, t_s, server_limit, seed, latency_ms=0):
    """A fresh emulator state: its limiter, a network round trip of `latency_ms`,
    and N operations ending within T s."""
    control("POST", "/_emulator/reset")
    control("POST", "/_emulator/latency", {"ms": latency_ms})
    control("POST", "/_emulator/rate-limit",
            {"per_second": server_limit, "scope": "inner", "retry_after_s": 1})
    created = control("POST", "/_emulator/operations", {
        "count": n, "parent": "team", "duration_ms": {"min": 0, "max": int(t_s * 1000)},
        "outcome": {"succeeded": 90, "failed": 9, "invalid": 1}, "seed": seed})
    return created["locations"]


# ------------------------------------------------------------------ one row

def run_row(name, bin_dir, tmp, mode, n, t_s, rate, server_limit, batching=True,
            limit_s=None, seed=7, latency_ms=0):
    locations = prepare(n, t_s, server_limit, seed, latency_ms)
    loc_file = os.path.join(tmp, "locations.txt")
    with open(loc_file, "w") as f:
        f.write("\n".join(locations) + "\n")
    out_file = os.path.join(tmp, "result.json")
    argv = [os.path.join(bin_dir, "batch_clients"), mode, "--locations", loc_file,
            "--out", out_file, "--rate", str(rate), "--limit-s", str(limit_s or (t_s + 110))]
    if not batching:
        argv.append("--no-batching")
    log("bench-batch: %s: %s" % (name, " ".join(argv[1:2] + argv[7:])))
    subprocess.run(argv, check=True)
    with open(out_file) as f:
        client = json.load(f)
    stats = control("GET", "/_emulator/stats")
    ops = control("GET", "/_emulator/operations")
    ends = {op["location"]: op for op in ops}

    reported = [o for o in client["outcomes"] if o[1] != 0]
    lags, wrong, errors = [], 0, 0
    for index, at_ms, result, status in client["outcomes"]:
        if at_ms == 0:
            continue
        op = ends[locations[index]]
        if result != "TEAMSOP_OK":
            errors += 1  # its report says nothing of its end: no lag
            continue
        lags.append(at_ms - op["ends_unix_ms"])
        if status != {"succeeded": 3, "failed": 4, "invalid": 0}[op["outcome"]]:
            wrong += 1
    lags.sort()
    gets = stats["inner_requests"] + stats["requests"] - stats["batches"]
    cpu = client["cpu_user_s"] + client["cpu_sys_s"]
    return {
        "name": name, "mode": mode, "batching": batching, "n": n, "t_s": t_s, "rate": rate,
        "latency_ms": latency_ms,
        "server_limit": server_limit, "run_result": client["run_result"],
        "wall_s": (client["last_report_unix_ms"] - client["start_unix_ms"]) / 1000.0,
        "requests": stats["requests"], "batches": stats["batches"],
        "inner": stats["inner_requests"], "gets": gets, "throttled": stats["throttled"],
        "busiest": stats["busiest_second"],
        "reported": len(reported), "errors": errors, "wrong_status": wrong,
        "lag_median_s": statistics.median(lags) / 1000.0 if lags else None,
        "lag_p99_s": lags[min(len(lags) - 1, int(len(lags) * 0.99))] / 1000.0 if lags else None,
        "cpu_s": cpu, "cpu_us_per_get": cpu * 1e6 / gets if gets else None,
        "peak_rss_mib": client["peak_rss_kib"] / 1024.0,
    }


def memory_row(bin_dir, count):
    out = subprocess.run([os.path.join(bin_dir, "batch_clients"), "memory", "--count", str(count)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------ the table

def fmt(value, spec="%.1f"):
    return "-" if value is None else spec % value


def table(rows, memory):
    lines = [
        "| client | server limit | wall (s) | HTTP | inner | GETs | 429s | busiest 1 s |"
        " lag median / p99 (s) | reported (errors) | CPU (s) | CPU per GET | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| %s | %d/s | %s | %d | %d | %d | %d | %d | %s / %s | %d of %d (%d) | %s | %s µs | %s MiB |" % (
            r["name"], r["server_limit"], fmt(r["wall_s"]), r["requests"], r["inner"], r["gets"],
            r["throttled"], r["busiest"], fmt(r["lag_median_s"], "%.2f"), fmt(r["lag_p99_s"], "%.2f"),
            r["reported"], r["n"], r["errors"], fmt(r["cpu_s"], "%.2f"),
            fmt(r["cpu_us_per_get"], "%.0f"), fmt(r["peak_rss_mib"])))
    if memory:
        lines.append("")
        lines.append("%d operations pending (no network): RSS +%.1f MiB, %.0f bytes each; added in %.1f µs each; "
                     "peak RSS %.1f MiB" % (
                         memory["count"], (memory["rss_after_kib"] - memory["rss_before_kib"]) / 1024.0,
                         memory["bytes_per_operation"], memory["add_ns_per_operation"] / 1000.0,
                         memory["peak_rss_kib"] / 1024.0))
    return "\n".join(lines)


def targets(rows, t_s, rate, latency_ms):
    """The issue's targets, each (what, figure, met)."""
    by = {r["name"]: r for r in rows}
    a = by["teamsop batch"]
    half = by["teamsop batch, server at R/2"]
    peers = [by["naive: a thread per operation"], by["naive: sequential loop"]]
    rtt = " (%d ms round trip)" % latency_ms
    remote = by.get("teamsop batch" + rtt)
    checks = [
        ("zero 429s while R <= the server's limit", a["throttled"], a["throttled"] == 0),
        ("busiest 1 s window <= R = %d" % rate, a["busiest"], a["busiest"] <= rate),
        ("HTTP requests <= inner requests / 15", "%d <= %.0f" % (a["requests"], a["inner"] / 15),
         a["requests"] <= a["inner"] / 15),
        ("wall to the last report <= T + 12 = %.0f s" % (t_s + 12), a["wall_s"], a["wall_s"] <= t_s + 12),
        ("every operation reported once, right status", "%d of %d" % (a["reported"], a["n"]),
         a["reported"] == a["n"] and a["errors"] == 0 and a["wrong_status"] == 0),
    ]
    for p in peers:
        checks.append(("wall below %s's: %.2f s (%d of %d reported, %d with an error)" % (
            p["name"], p["wall_s"], p["reported"], p["n"], p["errors"]), "%.2f s" % a["wall_s"],
            a["wall_s"] < p["wall_s"]))
    if remote is not None:
        for p in peers:
            q = by[p["name"] + rtt]
            checks.append(("%s: wall below %s's: %.2f s (%d of %d reported, %d with an error)" % (
                rtt.strip(" ()"), q["name"], q["wall_s"], q["reported"], q["n"], q["errors"]),
                "%.2f s" % remote["wall_s"], remote["wall_s"] < q["wall_s"]))
    checks += [
        ("server at R/2: every operation reported once", "%d of %d, %d errors" % (
            half["reported"], half["n"], half["errors"]),
         half["reported"] == half["n"] and half["errors"] == 0 and half["wrong_status"] == 0),
        ("server at R/2: 429s <= 5 % of inner requests", "%d of %d" % (half["throttled"], half["inner"]),
         half["throttled"] <= 0.05 * half["inner"]),
    ]
    return checks


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True, help="where batch_clients is")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench", "batch"))
    ap.add_argument("--n", type=int, default=2000, help="operations")
    ap.add_argument("--t", type=float, default=10.0, help="they end within T seconds")
    ap.add_argument("--rate", type=int, default=200, help="R: the batch's rate and the server's limit")
    ap.add_argument("--memory-n", type=int, default=100000, help="operations pending for the RSS figure")
    ap.add_argument("--latency-ms", type=int, default=20,
                    help="the round trip of the rows 'over a network' (the emulator waits this long before each answer)")
    ap.add_argument("--smoke", action="store_true", help="tiny N; only that each is reported once")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args()
    if a.smoke:
        a.n, a.t, a.rate, a.memory_n = 60, 2.0, 100, 2000
    os.makedirs(a.out, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        row = lambda *args, **kw: rows.append(run_row(*args, **kw))
        row("teamsop batch", a.bin_dir, tmp, "batch", a.n, a.t, a.rate, a.rate)
        row("teamsop batch, batching off", a.bin_dir, tmp, "batch", a.n, a.t, a.rate, a.rate, batching=False)
        row("naive: a thread per operation", a.bin_dir, tmp, "threads", a.n, a.t, a.rate, a.rate)
        row("naive: sequential loop", a.bin_dir, tmp, "loop", a.n, a.t, a.rate, a.rate)
        row("teamsop batch, server at R/2", a.bin_dir, tmp, "batch", a.n, a.t, a.rate, a.rate // 2)
        if not a.smoke:
            # Loopback answers in well under a millisecond, so a client sending one GET
            # at a time is never held back; a real network is.
            rtt = " (%d ms round trip)" % a.latency_ms
            for name, mode in (("teamsop batch", "batch"), ("naive: a thread per operation", "threads"),
                               ("naive: sequential loop", "loop")):
                row(name + rtt, a.bin_dir, tmp, mode, a.n, a.t, a.rate, a.rate, latency_ms=a.latency_ms)
    memory = memory_row(a.bin_dir, a.memory_n)
    text = table(rows, memory)
    print(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({"rows": rows, "memory": memory}, f, indent=1)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(text + "\n")
    if a.smoke:
        bad = [r["name"] for r in rows if r["mode"] == "batch" and
               (r["reported"] != r["n"] or r["errors"] or r["wrong_status"])]
        bad += [r["name"] for r in rows if r["mode"] != "batch" and r["reported"] == 0]
        if memory["pending"] != a.memory_n:
            bad.append("memory")
        if bad:
            log("bench-batch smoke: FAILED: " + ", ".join(bad))
            return 1
        log("bench-batch smoke: every client ran; the batch reported each operation once")
        return 0
    missed = 0
    print()
    for what, figure, met in targets(rows, a.t, a.rate, a.latency_ms):
        print("%s %s: %s" % ("met   " if met else "MISSED", what, figure))
        missed += not met
    return 1 if missed and a.check else 0


if __name__ == "__main__":
    sys.exit(main())
