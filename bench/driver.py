#!/usr/bin/env python3
"""Runs libteamsop's benchmarks and prints them as a markdown table.

Run it through `make bench` (or `make bench-smoke`), which builds the programs and
starts the emulator; by hand:

    TEAMSOP_EMULATOR=target/release/teamsop-emulator \\
      scripts/with-emulator.sh --no-record -- \\
      python3 bench/driver.py --bin-dir out/bench/release --lib target/release/libteamsop.so

What it runs, all against the one emulator of with-emulator.sh, over loopback with
keep-alive:

- per call: teamsop_loop (the C ABI), peer_loop (libcurl + cJSON) and the floor
  (peer_loop --no-parse), each N calls on one thread, in paired rounds whose order
  alternates (A B C, C B A, ...); per round a median and p99, then the median over
  the rounds; ratios are the median of the rounds' ratios; and teamsop_loop with a
  log callback at --log-level (info: one line per call) in the same rounds, against
  teamsop_loop with logging off;
- threads: the same three with 1, 2, 4, 8 threads (one teamsop client shared; one
  easy handle per peer thread), calls/s;
- parse_bench: teamsop_parse vs cJSON on the seed body, in process;
- first_result: a fresh process from spawn to its first result;
- the size of the stripped libraries;
- HTTPS, against an emulator of its own started with --tls: keep-alive, a new
  client (and full handshake) per call, and fresh processes trusting the CA file
  only or the system's roots (SSL_CERT_FILE = the system bundle + the emulator's CA);
- keep-alive (plain HTTP, and HTTPS) with the client and a 1-worker emulator pinned to
  one CPU (taskset).

Only the standard library. Asserts nothing about time: it fails only when a program
fails (a wrong answer, an error). --callgrind counts instructions per call instead
(valgrind), for finding where the time goes.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = os.path.join(ROOT, "tests", "fixtures", "seed-operation.json")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(argv, timeout=900, env=None):
    """Runs a program, returns the JSON lines it printed; raises if it failed."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(argv)} exited {proc.returncode}\n{proc.stderr}{proc.stdout}"
        )
    lines = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        raise SystemExit(f"bench: {' '.join(argv)} printed no result\n{proc.stderr}")
    return lines


def med(values):
    return statistics.median(values) if values else float("nan")


# ------------------------------------------------------------------ the machine


def machine():
    info = {"cpu": "unknown", "cores": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            info["cpu"] = m.group(1).strip()
        m = re.search(r"^cpu MHz\s*:\s*(.+)$", text, re.M)
        if m:
            info["mhz"] = m.group(1).strip()
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"MemTotal:\s+(\d+)", f.read())
            if m:
                info["mem_gib"] = round(int(m.group(1)) / 1024 / 1024, 1)
    except OSError:
        pass
    for key, cmd in (
        ("cc", ["cc", "--version"]),
        ("rustc", ["rustc", "--version"]),
        ("os", ["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
    ):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
            info[key] = out.splitlines()[0].strip() if out else "unknown"
        except (OSError, subprocess.SubprocessError):
            info[key] = "unknown"
    return info


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


# ------------------------------------------------------------------ the runs


def progs(bin_dir):
    return {
        "teamsop": [os.path.join(bin_dir, "teamsop_loop")],
        "peer": [os.path.join(bin_dir, "peer_loop")],
        "floor": [os.path.join(bin_dir, "peer_loop"), "--no-parse"],
    }


def trusting(cmds, ca):
    """`cmds`, each trusting the CA in the file `ca` (for a TLS emulator)."""
    return {k: v + ["--ca-file", ca] for k, v in cmds.items()}


LOGGED = "teamsop-log"


def with_log(cmds, bin_dir, level):
    """`cmds` and teamsop_loop with a log callback at `level` (LOGGED)."""
    out = dict(cmds)
    out[LOGGED] = [os.path.join(bin_dir, "teamsop_loop"), "--log-level", level]
    return out


def paired_rounds(cmds, rounds, n, warmup, threads, env=None):
    """Runs every command once per round, the order reversed every other round."""
    names = list(cmds)
    results = {name: [] for name in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else list(reversed(names))
        for name in order:
            argv = cmds[name] + ["--n", str(n), "--warmup", str(warmup), "--threads", str(threads)]
            results[name].append(run_json(argv, env=env)[0])
    return results


def per_call(cmds, a, rounds=None, n=None, warmup=None, env=None, what="per call"):
    rounds, n = rounds or a.rounds, n or a.n
    warmup = a.warmup if warmup is None else warmup
    log(f"bench: {what}, {rounds} paired rounds of {n} calls")
    res = paired_rounds(cmds, rounds, n, warmup, 1, env=env)
    out = {}
    for name, runs in res.items():
        out[name] = {
            "median_ns": med([x["median_ns"] for x in runs]),
            "p99_ns": med([x["p99_ns"] for x in runs]),
            "mean_ns": med([x["mean_ns"] for x in runs]),
            "calls_per_s": med([x["calls_per_s"] for x in runs]),
            "cpu_ns_per_call": med([x["cpu_ns_per_call"] for x in runs]),
            "user_ns_per_call": med([x["user_ns_per_call"] for x in runs]),
            "sys_ns_per_call": med([x["sys_ns_per_call"] for x in runs]),
            "peak_rss_kib": max(x["peak_rss_kib"] for x in runs),
            "runs": runs,
        }
    ratios = {}
    for key in ("median_ns", "p99_ns", "calls_per_s", "cpu_ns_per_call", "user_ns_per_call",
                "sys_ns_per_call"):
        rs = [t[key] / p[key] for t, p in zip(res["teamsop"], res["peer"]) if p[key]]
        nan = float("nan")
        ratios[key] = {"median": med(rs), "min": min(rs, default=nan), "max": max(rs, default=nan)}
    out["ratios"] = ratios
    if LOGGED in res:
        # What a log callback costs: the logged loop against logging off, per round.
        log_ratios = {}
        for key in ("median_ns", "cpu_ns_per_call"):
            rs = [l[key] / t[key] for l, t in zip(res[LOGGED], res["teamsop"]) if t[key]]
            nan = float("nan")
            log_ratios[key] = {"median": med(rs), "min": min(rs, default=nan),
                               "max": max(rs, default=nan)}
        out["log_ratios"] = log_ratios
        out["log_lines_per_call"] = med([x.get("log_lines", 0) / (x["n"] + x["warmup"])
                                         for x in res[LOGGED]])
    return out


def thread_scaling(cmds, a):
    out = {}
    for t in a.threads:
        log(f"bench: {t} thread(s), {a.thread_rounds} paired rounds of {a.thread_n} calls")
        res = paired_rounds(cmds, a.thread_rounds, a.thread_n, a.warmup, t)
        row = {name: med([x["calls_per_s"] for x in runs]) for name, runs in res.items()}
        rs = [x["calls_per_s"] / y["calls_per_s"] for x, y in zip(res["teamsop"], res["peer"])]
        row["ratio"] = med(rs)
        row["cpu_ns_per_call"] = {
            name: med([x["cpu_ns_per_call"] for x in runs]) for name, runs in res.items()
        }
        out[t] = row
    return out


def parse(bin_dir, a):
    log(f"bench: parse, {a.parse_rounds} rounds of {a.parse_iters} iterations")
    lines = run_json(
        [os.path.join(bin_dir, "parse_bench"), "--body", SEED, "--iters", str(a.parse_iters),
         "--rounds", str(a.parse_rounds)]
    )
    return [l for l in lines if l.get("mode") == "summary"][0]


def first(bin_dir, a, teamsop_args="", peer_args="", env=None, what="first result"):
    log(f"bench: {what}, {a.first_runs} fresh processes each")
    lines = run_json(
        [os.path.join(bin_dir, "first_result"), "--runs", str(a.first_runs),
         "--cmd", (os.path.join(bin_dir, "teamsop_loop") + " " + teamsop_args).strip(),
         "--cmd", (os.path.join(bin_dir, "peer_loop") + " " + peer_args).strip()],
        env=env,
    )
    return {l["prog"]: l for l in lines}


# ------------------------------------------------------------------ HTTPS


class Emulator:
    """A teamsop-emulator of our own (the binary of $TEAMSOP_EMULATOR), for the rows
    that need another than with-emulator.sh's: over TLS, or pinned to one CPU."""

    def __init__(self, tls=False, workers=None, cpu=None):
        self.args = ["--tls"] if tls else []
        if workers:
            self.args += ["--workers", str(workers)]
        self.cpu = cpu
        self.tls = tls

    def __enter__(self):
        binary = os.environ.get("TEAMSOP_EMULATOR", os.path.join(ROOT, "target/debug/teamsop-emulator"))
        self.dir = tempfile.mkdtemp(prefix="teamsop-bench-")
        port_file = os.path.join(self.dir, "port")
        self.ca = os.path.join(self.dir, "ca.pem") if self.tls else None
        argv = [binary, "--port", "0", "--port-file", port_file, "--no-record",
                "--token", os.environ["TEAMSOP_TOKEN"]] + self.args
        if self.ca:
            argv += ["--ca-out", self.ca]
        if self.cpu is not None:
            argv = ["taskset", "-c", str(self.cpu)] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(400):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: the emulator did not start: {self.proc.stderr.read()}")
            time.sleep(0.025)
        port = open(port_file).read().strip()
        scheme = "https" if self.tls else "http"
        self.env = dict(os.environ, TEAMSOP_BASE_URL=f"{scheme}://127.0.0.1:{port}/beta")
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def system_bundle_with(ca, out_dir):
    """The system's bundle plus the emulator's CA, for the cold starts 'with the
    system roots': what a process trusting its system (and a corporate root added
    to it) reads. None when this machine has no such bundle."""
    if not os.path.exists(SYSTEM_BUNDLE):
        return None
    path = os.path.join(out_dir, "system-plus-emulator-ca.pem")
    with open(path, "w") as out, open(SYSTEM_BUNDLE) as sys_b, open(ca) as emu:
        out.write(sys_b.read())
        out.write(emu.read())
    return path


def https(bin_dir, a):
    """Keep-alive over TLS, a full handshake per call, and cold processes."""
    out = {}
    with Emulator(tls=True) as emu:
        ca = emu.ca
        cmds = trusting(progs(bin_dir), ca)
        out["keep_alive"] = per_call(cmds, a, n=a.tls_n, env=emu.env, what="HTTPS keep-alive")
        fresh = {k: v + ["--fresh"] for k, v in cmds.items() if k != "floor"}
        out["handshake"] = per_call(fresh, a, n=a.fresh_n, warmup=min(a.warmup, 20), env=emu.env,
                                    what="HTTPS, a new client and a full handshake per call")
        out["first_ca_file"] = first(bin_dir, a, f"--ca-file {ca}", f"--ca-file {ca}", env=emu.env,
                                     what="HTTPS first result, a CA file only")
        bundle = system_bundle_with(ca, a.out)
        if bundle:
            env = dict(emu.env, SSL_CERT_FILE=bundle)
            env.pop("SSL_CERT_DIR", None)
            out["first_system"] = first(bin_dir, a, "", f"--ca-file {bundle}", env=env,
                                        what="HTTPS first result, the system's roots")
    return out


def one_cpu(bin_dir, a):
    """Keep-alive with the client and a 1-worker emulator on CPU 0: plain HTTP, and
    HTTPS unless --no-https. On one CPU the two clients' costs add to the server's
    instead of overlapping with it, and where the scheduler puts the client and the
    emulator's worker (same core or not) no longer moves the figure."""
    if not shutil.which("taskset"):
        return None
    pin = ["taskset", "-c", "0"]
    out = {}
    with Emulator(workers=1, cpu=0) as emu:
        cmds = {k: pin + v for k, v in progs(bin_dir).items()}
        out["http"] = per_call(cmds, a, n=a.one_cpu_n, env=emu.env,
                               what="plain HTTP, client and emulator on one CPU")
    if not a.no_https:
        with Emulator(tls=True, workers=1, cpu=0) as emu:
            cmds = {k: pin + v for k, v in trusting(progs(bin_dir), emu.ca).items()}
            out["https"] = per_call(cmds, a, n=a.tls_n, env=emu.env,
                                    what="HTTPS, client and emulator on one CPU")
    return out


def shared_libs(binary):
    """{soname: path} of what the dynamic loader maps for `binary`."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if m and os.path.exists(m.group(2)):
            libs[m.group(1)] = os.path.realpath(m.group(2))
    return libs


def stripped_size(path, tmp):
    copy = os.path.join(tmp, os.path.basename(path))
    shutil.copyfile(path, copy)
    subprocess.run(["strip", "--strip-unneeded", copy], check=True)
    return os.path.getsize(copy)


def sizes(bin_dir, lib):
    base = set(shared_libs(os.path.join(bin_dir, "first_result")))  # libc alone
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, binary, own in (
            ("teamsop", "teamsop_loop", ("libteamsop",)),
            ("peer", "peer_loop", ("libcurl", "libcjson")),
        ):
            libs = shared_libs(os.path.join(bin_dir, binary))
            extra = {k: v for k, v in libs.items() if k not in base}
            if name == "teamsop":
                # Measure the library given, not whatever ldd resolved.
                extra = {k: (lib if k.startswith("libteamsop") else v) for k, v in extra.items()}
            mine = {k: v for k, v in extra.items() if k.startswith(own)}
            out[name] = {
                "own": sum(stripped_size(v, tmp) for v in mine.values()),
                "own_libs": sorted(mine),
                "closure": sum(stripped_size(v, tmp) for v in extra.values()),
                "closure_libs": sorted(extra),
            }
    return out


# ------------------------------------------------------------------ callgrind


def annotate(outfile, inclusive):
    """[(instructions, percent, function)] from callgrind_annotate, and the total."""
    ann = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100",
         outfile], capture_output=True, text=True, check=True).stdout
    total, rows = None, []
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+PROGRAM TOTALS", line)
        if m:
            total = int(m.group(1).replace(",", ""))
            continue
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+(\S.*)$", line)
        # Rows without "[object]" repeat inlined frames under their source file.
        if m and total is not None and "[" in m.group(3):
            fn = re.sub(r"^[^:]*:", "", m.group(3).split(" [")[0], count=1)
            obj = os.path.basename(m.group(3).rsplit("[", 1)[1].rstrip("]"))
            rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), fn, obj))
    return total, rows


def syscalls_per_call(argv, n, env=None):
    """{syscall: count per call} from strace -c, the difference of two runs (n, 3n calls)."""
    counts = []
    with tempfile.TemporaryDirectory() as tmp:
        for calls in (n, 3 * n):
            out = os.path.join(tmp, f"strace.{calls}")
            subprocess.run(["strace", "-f", "-c", "-o", out] + argv +
                           ["--n", str(calls), "--warmup", "50"],
                           check=True, capture_output=True, timeout=600, env=env)
            c = {}
            with open(out) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                        c[parts[-1]] = int(parts[3])
            counts.append(c)
    per = {k: (counts[1].get(k, 0) - counts[0].get(k, 0)) / (2 * n)
           for k in set(counts[0]) | set(counts[1])}
    return {k: round(v, 2) for k, v in sorted(per.items(), key=lambda kv: -kv[1]) if v >= 0.05}


def callgrind(bin_dir, a):
    """Instructions per call, where they go, and system calls per call."""
    if not shutil.which("valgrind"):
        raise SystemExit("bench: valgrind is not installed (.ci/install-deps.sh)")
    n, top = a.callgrind_n, a.callgrind_top
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in with_log(progs(bin_dir), bin_dir, a.log_level).items():
            outfile = os.path.join(tmp, f"{name}.callgrind")
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outfile}",
                   "--toggle-collect=bench_timed_calls"]
            cmd += argv + ["--n", str(n), "--warmup", "50"]
            log(f"bench: callgrind {name}, {n} calls")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"bench: {' '.join(cmd)} failed\n{proc.stderr}")
            total, incl = annotate(outfile, True)
            _, excl = annotate(outfile, False)
            entry = {"n": n, "total_ir": total, "ir_per_call": total / n,
                     "inclusive": incl[:200], "self": excl[:200]}
            if shutil.which("strace"):
                log(f"bench: strace {name}")
                entry["syscalls_per_call"] = syscalls_per_call(argv, max(n // 2, 100))
            report[name] = entry
            shutil.copyfile(outfile, os.path.join(a.out, f"callgrind.{name}.out"))
        if not a.no_https:
            report.update(callgrind_https(bin_dir, a, tmp))
    peer = report["peer"]["ir_per_call"]
    L = ["## Instructions per call (callgrind: user space only, the timed loop only)", "",
         "| | instructions per call | vs peer | system calls per call |", "|---|---|---|---|"]
    for name in ("teamsop", LOGGED, "peer", "floor", "teamsop-https", "peer-https"):
        if name not in report:
            continue
        peer = report["peer-https" if name.endswith("https") else "peer"]["ir_per_call"]
        e = report[name]
        sc = e.get("syscalls_per_call")
        sc_text = (f"{sum(sc.values()):.1f}: " + ", ".join(f"{k} {v:g}" for k, v in sc.items())
                   if sc else "(no strace)")
        label = f"teamsop, log callback at {a.log_level}" if name == LOGGED else name
        L.append(f"| {label} | {e['ir_per_call']:,.0f} | {e['ir_per_call'] / peer:.2f}× | {sc_text} |")
    off, on = report["teamsop"]["ir_per_call"], report[LOGGED]["ir_per_call"]
    L += ["", f"A log callback at {a.log_level} adds {on - off:,.0f} instructions per call "
              f"({(on - off) / off * 100:+.1f} %) to teamsop with logging off (the callback counts "
              f"the line and takes its length)."]
    if "cold" in report:
        L += ["", "### A fresh process to its first HTTPS result (callgrind: the whole process)", "",
              "| | teamsop | peer | teamsop / peer |", "|---|---|---|---|"]
        for case, label in (("ca_file", "CA file only"), ("system", "the system's roots")):
            c = report["cold"].get(case)
            if c:
                L.append(f"| instructions, {label} | {c['teamsop']:,} | {c['peer']:,} | "
                         f"{c['teamsop'] / c['peer']:.2f} |")
                sc = c.get("syscalls")
                if sc:
                    L.append(f"| system calls, {label} | {sc['teamsop']} | {sc['peer']} | |")
    def useful(fn, obj):
        # Not the harness's frames, nor libcurl's unnamed internals.
        return not (fn.startswith(("bench_", "0x")) or fn in ("call", "clone", "start_thread"))
    def table_of(title, rows, keep):
        out = ["", title, "", "| instructions per call | % | function | object |", "|---|---|---|---|"]
        shown = 0
        for ir, pct, fn, obj in rows:
            if not keep(fn, obj):
                continue
            out.append(f"| {ir / n:,.0f} | {pct:.1f} | `{fn[:150].replace('|', '/')}` | {obj} |")
            shown += 1
            if shown >= top:
                break
        return out
    t = report["teamsop"]
    L += table_of("### teamsop: inclusive costs in the library's own code (`teamsop::`)",
                  t["inclusive"], lambda fn, obj: fn.startswith(("teamsop", "<teamsop")))
    L += table_of("### teamsop: top inclusive costs below the ABI", t["inclusive"],
                  lambda fn, obj: obj.startswith("libteamsop") and not fn.startswith("teamsop"))
    L += table_of("### teamsop: top self costs", t["self"], useful)
    L += table_of("### peer: top inclusive costs (libcurl's unnamed internals left out)",
                  report["peer"]["inclusive"], useful)
    L += table_of("### peer: top self costs", report["peer"]["self"], useful)
    text = "\n".join(L) + "\n"
    with open(os.path.join(a.out, "callgrind.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "callgrind.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(text)


def callgrind_https(bin_dir, a, tmp):
    """Keep-alive over TLS per call, and a cold process to its first HTTPS result."""
    out, n = {}, a.callgrind_n
    with Emulator(tls=True) as emu:
        for name, prog in (("teamsop-https", "teamsop_loop"), ("peer-https", "peer_loop")):
            outfile = os.path.join(tmp, f"{name}.callgrind")
            argv = [os.path.join(bin_dir, prog), "--ca-file", emu.ca]
            cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outfile}",
                   "--toggle-collect=bench_timed_calls"] + argv + ["--n", str(n), "--warmup", "50"]
            log(f"bench: callgrind {name}, {n} calls")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=emu.env)
            if proc.returncode != 0:
                raise SystemExit(f"bench: {' '.join(cmd)} failed\n{proc.stderr}")
            total, incl = annotate(outfile, True)
            _, excl = annotate(outfile, False)
            out[name] = {"n": n, "total_ir": total, "ir_per_call": total / n,
                         "inclusive": incl[:200], "self": excl[:200]}
            if shutil.which("strace"):
                out[name]["syscalls_per_call"] = syscalls_per_call(argv, max(n // 2, 100), emu.env)
            shutil.copyfile(outfile, os.path.join(a.out, f"callgrind.{name}.out"))
        bundle = system_bundle_with(emu.ca, a.out)
        cases = {"ca_file": ({"teamsop": ["--ca-file", emu.ca], "peer": ["--ca-file", emu.ca]},
                             emu.env)}
        if bundle:
            env = dict(emu.env, SSL_CERT_FILE=bundle)
            env.pop("SSL_CERT_DIR", None)
            cases["system"] = ({"teamsop": [], "peer": ["--ca-file", bundle]}, env)
        out["cold"] = {}
        for case, (args, env) in cases.items():
            row = {"syscalls": {}}
            for name, prog in (("teamsop", "teamsop_loop"), ("peer", "peer_loop")):
                outfile = os.path.join(tmp, f"cold.{case}.{name}.callgrind")
                argv = [os.path.join(bin_dir, prog)] + args[name] + ["--first"]
                log(f"bench: callgrind, a fresh process, {name}, {case}")
                proc = subprocess.run(["valgrind", "--tool=callgrind",
                                       f"--callgrind-out-file={outfile}"] + argv,
                                      capture_output=True, text=True, timeout=600, env=env)
                if proc.returncode != 0:
                    raise SystemExit(f"bench: {' '.join(argv)} failed\n{proc.stderr}")
                row[name], _ = annotate(outfile, False)
                shutil.copyfile(outfile, os.path.join(a.out, f"callgrind.cold.{case}.{name}.out"))
                if shutil.which("strace"):
                    trace = os.path.join(tmp, "strace.cold")
                    subprocess.run(["strace", "-f", "-c", "-o", trace] + argv, check=True,
                                   capture_output=True, timeout=600, env=env)
                    with open(trace) as f:
                        total = [l.split() for l in f if l.rstrip().endswith("total")]
                    row["syscalls"][name] = int(total[0][3]) if total else 0
            out["cold"][case] = row
    return out


# ------------------------------------------------------------------ the table


def us(ns):
    return f"{ns / 1000:.1f}"


def mib(kib):
    return f"{kib / 1024:.1f}"


def verdict(ok):
    return "met" if ok else "**not met**"


def table(r):
    m, pc, th, pa, fi, sz = (r["machine"], r["per_call"], r["threads"], r["parse"], r["first"],
                             r["sizes"])
    t, p, fl, ra = pc["teamsop"], pc["peer"], pc["floor"], pc["ratios"]
    L = []
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m.get('mem_gib', '?')} GiB, "
             f"Linux {m['kernel']} ({m.get('os', '?')}); {m.get('cc', '?')}; {m.get('rustc', '?')}; "
             f"libcurl {p['runs'][0].get('curl', '?')}. Load average {r['load_before']} before, "
             f"{r['load_after']} after. Run {r['date']}.")
    L.append("")
    a = r["args"]
    L.append(f"### Per call: keep-alive GET + reads + free, 1 thread "
             f"({a['rounds']} paired rounds × {a['n']} calls)")
    L.append("")
    L.append("| | teamsop | peer (libcurl + cJSON) | teamsop / peer | floor (peer, no parse) | target |")
    L.append("|---|---|---|---|---|---|")
    rng = lambda k: f"{ra[k]['median']:.2f} ({ra[k]['min']:.2f}–{ra[k]['max']:.2f})"
    L.append(f"| latency, median (µs) | {us(t['median_ns'])} | {us(p['median_ns'])} | "
             f"{rng('median_ns')} | {us(fl['median_ns'])} | ≤ 1.15: {verdict(ra['median_ns']['median'] <= 1.15)} |")
    L.append(f"| latency, p99 (µs) | {us(t['p99_ns'])} | {us(p['p99_ns'])} | {rng('p99_ns')} | "
             f"{us(fl['p99_ns'])} | |")
    L.append(f"| calls/s (N / wall time) | {t['calls_per_s']:,.0f} | {p['calls_per_s']:,.0f} | "
             f"{rng('calls_per_s')} | {fl['calls_per_s']:,.0f} | |")
    L.append(f"| client CPU per call, user + sys (µs) | {us(t['cpu_ns_per_call'])} | "
             f"{us(p['cpu_ns_per_call'])} | {rng('cpu_ns_per_call')} | {us(fl['cpu_ns_per_call'])} | |")
    L.append(f"| … of which system (µs) | {us(t['sys_ns_per_call'])} | "
             f"{us(p['sys_ns_per_call'])} | {rng('sys_ns_per_call')} | {us(fl['sys_ns_per_call'])} | |")
    if pc.get(LOGGED):
        lg, lr = pc[LOGGED], pc["log_ratios"]
        lrng = lambda k: f"{lr[k]['median']:.2f} ({lr[k]['min']:.2f}–{lr[k]['max']:.2f}) × off"
        L.append(f"| teamsop with a log callback at {a['log_level']} "
                 f"({pc['log_lines_per_call']:.2f} lines per call): latency, median (µs) | "
                 f"{us(lg['median_ns'])} | | {lrng('median_ns')} | | |")
        L.append(f"| … client CPU per call, user + sys (µs) | {us(lg['cpu_ns_per_call'])} | | "
                 f"{lrng('cpu_ns_per_call')} | | |")
    d = (t["peak_rss_kib"] - p["peak_rss_kib"]) / 1024
    L.append(f"| peak RSS (MiB) | {mib(t['peak_rss_kib'])} | {mib(p['peak_rss_kib'])} | "
             f"{d:+.1f} MiB | {mib(fl['peak_rss_kib'])} | ≤ +2 MiB: {verdict(d <= 2)} |")
    L.append("")
    L.append(f"### Parse, in process, the seed body ({pa['body_bytes']} bytes; "
             f"{pa['rounds']} paired rounds × {pa['iters']:,} parses)")
    L.append("")
    L.append("| | teamsop_parse + reads + free | cJSON_ParseWithLength + reads + delete | teamsop / cJSON | cJSON parse + delete only | target |")
    L.append("|---|---|---|---|---|---|")
    L.append(f"| ns per parse | {pa['teamsop_ns']:,.0f} | {pa['cjson_ns']:,.0f} | "
             f"{pa['ratio_median']:.2f} ({pa['ratio_min']:.2f}–{pa['ratio_max']:.2f}) | "
             f"{pa['cjson_bare_ns']:,.0f} | ≤ 1.0: {verdict(pa['ratio_median'] <= 1.0)} |")
    L.append("")
    L.append(f"### Threads on one client, calls/s ({a['thread_rounds']} paired rounds × "
             f"{a['thread_n']} calls per figure)")
    L.append("")
    L.append("| threads | teamsop | peer (one easy handle per thread) | teamsop / peer | floor | teamsop / floor |")
    L.append("|---|---|---|---|---|---|")
    for n, row in th.items():
        L.append(f"| {n} | {row['teamsop']:,.0f} | {row['peer']:,.0f} | {row['ratio']:.2f} | "
                 f"{row['floor']:,.0f} | {row['teamsop'] / row['floor']:.2f} |")
    best = max(th, key=lambda k: th[k]["floor"])
    L.append("")
    L.append(f"Emulator ceiling: the floor (the peer without parsing) peaks at "
             f"{th[best]['floor']:,.0f} calls/s ({best} thread(s)); one floor call takes "
             f"{us(fl['median_ns'])} µs (median) against the peer's {us(p['median_ns'])} µs and "
             f"teamsop's {us(t['median_ns'])} µs, so the per-call figures are the clients' own "
             f"cost above that floor.")
    L.append("")
    tf, pf = fi["teamsop"], fi["peer"]
    L.append(f"### First result in a fresh process (median of {tf['runs']} spawns each, alternating)")
    L.append("")
    L.append("| | teamsop | peer | teamsop / peer |")
    L.append("|---|---|---|---|")
    for key, label in (("start_ns", "spawn → main (exec, loader, relocations)"),
                       ("client_ns", "main → client ready"),
                       ("get_ns", "first GET + reads (connect included)"),
                       ("total_ns", "spawn → first result")):
        L.append(f"| {label} (ms) | {tf[key] / 1e6:.2f} | {pf[key] / 1e6:.2f} | "
                 f"{tf[key] / pf[key]:.2f} |")
    L.append(f"| peak RSS (MiB) | {mib(tf['peak_rss_kib'])} | {mib(pf['peak_rss_kib'])} | "
             f"{tf['peak_rss_kib'] / pf['peak_rss_kib']:.2f} |")
    L.append("")
    L.append("### Size, stripped (`strip --strip-unneeded`)")
    L.append("")
    L.append("| | teamsop | peer | teamsop / peer |")
    L.append("|---|---|---|---|")
    st, sp = sz["teamsop"], sz["peer"]
    L.append(f"| the library ({', '.join(st['own_libs'])} vs {', '.join(sp['own_libs'])}) (KiB) | "
             f"{st['own'] / 1024:,.0f} | {sp['own'] / 1024:,.0f} | {st['own'] / sp['own']:.2f} |")
    L.append(f"| with every shared library it loads beyond libc ({len(st['closure_libs'])} vs "
             f"{len(sp['closure_libs'])} files) (KiB) | {st['closure'] / 1024:,.0f} | "
             f"{sp['closure'] / 1024:,.0f} | {st['closure'] / sp['closure']:.2f} |")
    L.append(f"| target: the library ≤ 2,560 KiB | {verdict(st['own'] <= 2560 * 1024)} | | |")
    if r.get("https"):
        L += ["", https_table(r["https"], a)]
    if r.get("one_cpu"):
        L += ["", one_cpu_table(r["one_cpu"], a)]
    return "\n".join(L) + "\n"


def https_table(h, a):
    L = ["### HTTPS: the emulator over TLS 1.3 (ECDSA P-256 certificate from its own CA)", "",
         "| | teamsop | peer (libcurl + cJSON) | teamsop / peer | target |", "|---|---|---|---|---|"]
    def loop_row(label, res, target):
        t, p, ra = res["teamsop"], res["peer"], res["ratios"]["median_ns"]
        ok = f"≤ {target:.2f}: {verdict(ra['median'] <= target)}" if target else ""
        L.append(f"| {label}, median (µs) | {us(t['median_ns'])} | {us(p['median_ns'])} | "
                 f"{ra['median']:.2f} ({ra['min']:.2f}–{ra['max']:.2f}) | {ok} |")
        rc = res["ratios"]["cpu_ns_per_call"]
        L.append(f"| … client CPU per call, user + sys (µs) | {us(t['cpu_ns_per_call'])} | "
                 f"{us(p['cpu_ns_per_call'])} | {rc['median']:.2f} ({rc['min']:.2f}–{rc['max']:.2f}) | |")
    loop_row(f"keep-alive GET + reads + free ({a['rounds']} paired rounds × {a['tls_n']} calls)",
             h["keep_alive"], 0.95)
    loop_row(f"a new client, connection and full handshake per call ({a['rounds']} × {a['fresh_n']})",
             h["handshake"], 0.60)
    for key, label in (("first_ca_file", "the CA file only (`set_ca_file` / `CURLOPT_CAINFO`)"),
                       ("first_system", "the system's roots (`SSL_CERT_FILE` / `CURLOPT_CAINFO` = "
                                        "the system bundle + the emulator's CA)")):
        f = h.get(key)
        if not f:
            continue
        tf, pf = f["teamsop"], f["peer"]
        rt, rg = tf["total_ns"] / pf["total_ns"], tf["get_ns"] / pf["get_ns"]
        L.append(f"| fresh process → first result, {label} (ms, median of {tf['runs']}) | "
                 f"{tf['total_ns'] / 1e6:.2f} | {pf['total_ns'] / 1e6:.2f} | {rt:.2f} | "
                 f"≤ 0.45: {verdict(rt <= 0.45)} |")
        L.append(f"| … client ready → first result (ms) | {tf['get_ns'] / 1e6:.2f} | "
                 f"{pf['get_ns'] / 1e6:.2f} | {rg:.2f} | ≤ 1.00: {verdict(rg <= 1.0)} |")
    return "\n".join(L) + "\n"


def one_cpu_table(res, a):
    L = [f"### Keep-alive on one CPU (client and a 1-worker emulator pinned to CPU 0; "
         f"{a['rounds']} paired rounds)", "",
         "| | teamsop | peer | teamsop / peer | floor | target |", "|---|---|---|---|---|---|"]
    for key, label, n, target in (("http", "plain HTTP", a["one_cpu_n"], 1.0),
                                  ("https", "HTTPS", a["tls_n"], 0.95)):
        r = res.get(key)
        if not r:
            continue
        t, p, fl, ra = r["teamsop"], r["peer"], r["floor"], r["ratios"]["median_ns"]
        L.append(f"| {label} ({n} calls a round), latency, median (µs) | {us(t['median_ns'])} | "
                 f"{us(p['median_ns'])} | {ra['median']:.2f} ({ra['min']:.2f}–{ra['max']:.2f}) | "
                 f"{us(fl['median_ns'])} | ≤ {target:.2f}: {verdict(ra['median'] <= target)} |")
        rc = r["ratios"]["cpu_ns_per_call"]
        L.append(f"| … client CPU per call, user + sys (µs) | {us(t['cpu_ns_per_call'])} | "
                 f"{us(p['cpu_ns_per_call'])} | {rc['median']:.2f} ({rc['min']:.2f}–{rc['max']:.2f}) | "
                 f"{us(fl['cpu_ns_per_call'])} | |")
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin-dir", required=True, help="where the bench programs are")
    ap.add_argument("--lib", required=True, help="the libteamsop.so they use (for its size)")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "bench"))
    ap.add_argument("--n", type=int, default=20000, help="calls per round (per call)")
    ap.add_argument("--rounds", type=int, default=7, help="paired rounds (per call)")
    ap.add_argument("--warmup", type=int, default=200, help="untimed calls per thread first")
    ap.add_argument("--threads", default="1,2,4,8")
    ap.add_argument("--thread-n", type=int, default=0, help="calls per thread run (default N)")
    ap.add_argument("--thread-rounds", type=int, default=0, help="default: rounds")
    ap.add_argument("--parse-iters", type=int, default=200000)
    ap.add_argument("--parse-rounds", type=int, default=0, help="default: rounds")
    ap.add_argument("--first-runs", type=int, default=15)
    ap.add_argument("--tls-n", type=int, default=5000, help="HTTPS keep-alive calls per round")
    ap.add_argument("--fresh-n", type=int, default=300,
                    help="calls per round with a new client (and handshake) per call")
    ap.add_argument("--one-cpu-n", type=int, default=0, help="one-CPU calls per round (default N)")
    ap.add_argument("--no-https", action="store_true", help="leave out the HTTPS rows")
    ap.add_argument("--log-level", default="info", choices=("error", "warn", "info", "debug"),
                    help="the level of the logged teamsop loop (per call, callgrind)")
    ap.add_argument("--smoke", action="store_true",
                    help="each program once with a tiny N; checks only that they run")
    ap.add_argument("--callgrind", action="store_true",
                    help="instructions per call with valgrind instead of timings")
    ap.add_argument("--callgrind-n", type=int, default=2000)
    ap.add_argument("--callgrind-top", type=int, default=25)
    a = ap.parse_args()
    for var in ("TEAMSOP_BASE_URL", "TEAMSOP_TOKEN"):
        if not os.environ.get(var):
            raise SystemExit(f"bench: {var} is not set: run under scripts/with-emulator.sh")
    if a.smoke:
        a.n, a.rounds, a.warmup, a.threads = 20, 1, 2, "1,2"
        a.thread_n, a.thread_rounds, a.parse_iters, a.parse_rounds, a.first_runs = 20, 1, 100, 1, 1
        a.tls_n, a.fresh_n, a.one_cpu_n = 20, 3, 20
    a.threads = [int(x) for x in a.threads.split(",") if x]
    a.thread_n = a.thread_n or a.n
    a.thread_rounds = a.thread_rounds or a.rounds
    a.parse_rounds = a.parse_rounds or a.rounds
    a.one_cpu_n = a.one_cpu_n or a.n
    os.makedirs(a.out, exist_ok=True)
    if a.callgrind:
        callgrind(a.bin_dir, a)
        return
    cmds = progs(a.bin_dir)
    r = {"machine": machine(), "load_before": loadavg(), "date": time.strftime("%Y-%m-%d %H:%M %Z"),
         "args": {k: v for k, v in vars(a).items()}}
    r["per_call"] = per_call(with_log(cmds, a.bin_dir, a.log_level), a)
    r["threads"] = thread_scaling(cmds, a)
    r["parse"] = parse(a.bin_dir, a)
    r["first"] = first(a.bin_dir, a)
    r["sizes"] = sizes(a.bin_dir, a.lib)
    r["https"] = None if a.no_https else https(a.bin_dir, a)
    r["one_cpu"] = one_cpu(a.bin_dir, a)
    r["load_after"] = loadavg()
    text = table(r)
    name = "smoke" if a.smoke else "results"
    with open(os.path.join(a.out, f"{name}.json"), "w") as f:
        json.dump(r, f, indent=1)
    with open(os.path.join(a.out, f"{name}.md"), "w") as f:
        f.write(text)
    print(text)
    if a.smoke:
        print("bench-smoke: every benchmark program ran and exited 0 (times not checked)")


if __name__ == "__main__":
    main()
