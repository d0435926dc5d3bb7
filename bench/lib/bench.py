"""bench/run's orchestrator: starts the upstream app and the contenders, runs the cases in
interleaved rounds (for each case: direct, cutover, HAProxy, nginx; then the next case; then the
next round), counts syscalls, and writes the report. See bench/README.md."""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import contenders as C
import measure as M
import report

CONTENDERS = ("direct", "cutover", "haproxy", "nginx")
PROXIES = CONTENDERS[1:]


class Case:
    def __init__(self, name, title, kind, conns=32, path="/small", close=False, direct=True, tls=False):
        self.name, self.title, self.kind = name, title, kind
        self.conns, self.path, self.close, self.direct, self.tls = conns, path, close, direct, tls


CASES = {c.name: c for c in [
    Case("ka-c1", "keep-alive, 1 connection", "wrk", conns=1),
    Case("ka-c32", "keep-alive, 32 connections", "wrk", conns=32),
    Case("ka-c256", "keep-alive, 256 connections", "wrk", conns=256),
    Case("close-c32", "new connection per request (Connection: close), 32 at once", "wrk",
         close=True),
    Case("64k-c32", "64 KiB body, keep-alive, 32 connections", "wrk", path="/64k"),
    Case("rate", "fixed offered load (h2load --rps), 32 connections", "rate"),
    Case("idle10k", "10,000 idle keep-alive client connections", "idle", direct=False),
    Case("reload", "reload every 100 ms under load (keep-alive, 32 connections)", "reload",
         direct=False),
    Case("tls-hs", "full TLS handshakes: a new connection, no resumption, per request (h2load)",
         "handshake", direct=False, tls=True),
    Case("tls-ka-c32", "keep-alive over TLS, 32 connections", "wrk", conns=32, direct=False, tls=True),
    Case("tls-idle", "idle keep-alive TLS client connections", "idle", direct=False, tls=True),
    Case("h2-tls", "HTTP/2 over TLS (ALPN h2), 32 connections x 10 streams (h2load -m 10)", "h2",
         direct=False, tls=True),
    Case("h2c", "HTTP/2 cleartext (prior knowledge), 32 connections x 10 streams (h2load -m 10)",
         "h2", direct=False),
]}
TLS_CASES = [c for c in CASES.values() if c.tls]


class Set:
    def __init__(self, key, title, workers, proxy_cpus, load_cpus, threads, cases, layout):
        self.key, self.title, self.workers = key, title, workers
        self.proxy_cpus, self.load_cpus, self.threads = proxy_cpus, load_cpus, threads
        self.cases, self.layout = [CASES[c] for c in cases], layout


SETS = [
    Set("w1", "1 worker (workers: 1, nbthread 1, worker_processes 1)", 1, "1", "0", 1,
        ["ka-c1", "ka-c32", "ka-c256", "close-c32", "64k-c32", "rate", "idle10k", "reload",
         "tls-hs", "tls-ka-c32", "tls-idle", "h2-tls", "h2c"],
        "proxy alone on CPU 1; load generator (wrk/h2load, 1 thread), both upstream nginx and "
        "this orchestrator on CPU 0"),
    Set("w2", "2 workers (workers: 2, nbthread 2, worker_processes 2)", 2, "0,1", "0,1", 2,
        ["ka-c32", "ka-c256", "close-c32"],
        "everything on CPUs 0-1 (no room to separate on 2 vCPUs); wrk with 2 threads"),
]


class Stack:
    """One set's upstreams and proxies, started fresh for each round."""

    def __init__(self, s, workdir, binary, tls_key=None):
        os.makedirs(workdir, exist_ok=True)
        self.set = s
        # One certificate for every proxy, when the set runs a TLS case.
        tls = C.make_certificate(workdir, tls_key) if tls_key and any(c.tls for c in s.cases) else None
        self.tls = tls
        self.upstreams = [C.Upstream(workdir, s.load_cpus, i) for i in range(len(C.UPSTREAM_PORTS))]
        self.proxies = {"cutover": C.Cutover(workdir, s.proxy_cpus, s.workers, binary, tls),
                        "haproxy": C.HAProxy(workdir, s.proxy_cpus, s.workers, tls),
                        "nginx": C.NginxProxy(workdir, s.proxy_cpus, s.workers, tls)}
        self.h2 = any(c.kind == "h2" for c in s.cases)
        for p in self.proxies.values():
            p.h2 = self.h2

    def all(self):
        return self.upstreams + list(self.proxies.values())

    def start(self):
        cutover = self.proxies["cutover"]
        self.log_offset = os.path.getsize(cutover.log) if os.path.exists(cutover.log) else 0
        for p in self.all():
            p.start()

    def stop(self):
        return {p.name: p.stop() for p in reversed(self.all())}

    def cutover_log_problems(self):
        """cutover's stderr lines of this round that say something went wrong."""
        with open(self.proxies["cutover"].log, errors="replace") as f:
            f.seek(self.log_offset)
            lines = f.read().splitlines()
        bad = (" error ", " warning ", "Fatal error", "fatal", "Segmentation", "Illegal instruction")
        return [l for l in lines if any(b in l for b in bad)]

    def ensure_alive(self, notes):
        for p in self.all():
            if not p.alive():
                notes.append(f"{p.name} was not running (exit code {p.p.returncode}); restarted")
                p.start()


def url(name, path, tls=False, h2=False):
    if h2:
        return (f"https://127.0.0.1:{C.H2_TLS_PORTS[name]}{path}" if tls
                else f"http://127.0.0.1:{C.H2C_PORTS[name]}{path}")
    if tls:
        return f"https://127.0.0.1:{C.TLS_PORTS[name]}{path}"
    return f"http://127.0.0.1:{C.PORTS[name]}{path}"


def run_load(args, s, case, name, proc, scratch):
    pids = proc.pids() if proc else []
    others = M.busy_ticks()
    before, t0 = M.cpu_ticks(pids), time.time()
    if case.kind == "rate":
        r = M.h2load_rate(url(name, case.path), 32, args.rate, args.duration, s.load_cpus,
                          os.path.join(scratch, "h2load.log"))
    elif case.kind == "h2":
        r = M.h2load_streams(url(name, case.path, tls=case.tls, h2=True), 32, 10, args.duration,
                             s.load_cpus, os.path.join(scratch, "h2load.log"))
    elif case.kind == "handshake":
        r = M.h2load_handshakes(url(name, case.path, tls=True), args.duration, s.load_cpus)
    else:
        r = M.wrk(url(name, case.path, tls=case.tls), case.conns, args.duration, s.load_cpus,
                  threads=min(s.threads, case.conns), close=case.close)
    wall = time.time() - t0
    r["others_pct"] = M.others_pct(others, M.busy_ticks(), wall)
    if proc:
        usr, sys_ = M.cpu_delta(before, M.cpu_ticks(proc.pids()))
        n = max(1, r["requests"])
        r.update(cpu_us=(usr + sys_) * 1e6 / n, usr_us=usr * 1e6 / n,
                 cpu_pct=100 * (usr + sys_) / wall, rss_kib=M.rss_kib(proc.pids()))
    return r


def run_idle(args, s, proc, tls=False):
    time.sleep(0.5)
    before = M.rss_kib(proc.pids())
    port = C.TLS_PORTS[proc.name] if tls else C.PORTS[proc.name]
    client, ready = M.idle_client(port, args.tls_idle if tls else args.idle, s.load_cpus, tls=tls)
    time.sleep(1.0)
    after = M.rss_kib(proc.pids())
    client.stdin.write("\n")
    client.stdin.flush()
    tail = json.loads(client.stdout.readline() or "{}")
    client.wait()
    time.sleep(1.0)  # let the proxy see the FINs before the next case
    return {"rss_before_kib": before, "rss_after_kib": after, "open": ready["open"],
            "failed": ready["failed"], "first_failure": ready["first_failure"],
            "per_conn_bytes": (after - before) * 1024 / max(1, ready["open"]),
            "closed_by_peer": tail.get("closed_by_peer_while_idle")}


def run_reload(args, s, case, proc, scratch):
    stop, sent, late = threading.Event(), [0], [0]
    log_offset = os.path.getsize(proc.log)

    def storm():
        next_at = time.monotonic() + 0.1
        while not stop.wait(max(0.0, next_at - time.monotonic())):
            proc.reload()
            sent[0] += 1
            next_at += 0.1
            if time.monotonic() > next_at:  # a reload took longer than the period
                late[0] += 1
                next_at = time.monotonic() + 0.1

    t = threading.Thread(target=storm)
    t.start()
    try:
        r = run_load(args, s, case, proc.name, proc, scratch)
    finally:
        stop.set()
        t.join()
    r.pop("cpu_us", None), r.pop("usr_us", None)  # reload work is not per request
    r["reloads"], r["late_reloads"] = sent[0], late[0]
    # old HAProxy/nginx workers drain after a reload; wait for them before moving on
    deadline = time.time() + 15
    while len(proc.pids()) > proc.processes() and time.time() < deadline:
        time.sleep(0.2)
    r["alive_after"] = proc.alive()
    if proc.name == "cutover":
        time.sleep(0.3)  # the last SIGHUP's log line
        with open(proc.log, errors="replace") as f:
            f.seek(log_offset)
            lines = f.read().splitlines()
        r["reloaded_lines"] = sum(" reloaded " in l for l in lines)
        r["log_problems"] = [l for l in lines if " error " in l or " warning " in l][:20]
    return r


def count_syscalls(args, s, stack, scratch):
    """strace -c -f on the serving process while h2load sends exactly N keep-alive requests."""
    out = {}
    for name in PROXIES:
        proc = stack.proxies[name]
        M.h2load_count(url(name, "/small"), 2000, 32, s.load_cpus)  # warm the upstream pool
        if stack.tls:
            M.h2load_count(url(name, "/small", tls=True), 500, 32, s.load_cpus)
        for clients in (32, 1, "32-tls"):
            tls = clients == "32-tls"
            if tls and not stack.tls:
                continue
            path = os.path.join(scratch, f"strace-{name}-c{clients}.txt")
            tracer = subprocess.Popen(["taskset", "-c", s.load_cpus, "strace", "-c", "-f", "-q",
                                       "-o", path, "-p", str(proc.worker_pid())])
            time.sleep(1.0)  # attach to every thread
            ok = M.h2load_count(url(name, "/small", tls=tls), args.syscall_requests, 32 if tls else clients,
                                s.load_cpus)
            time.sleep(0.5)
            tracer.send_signal(signal.SIGINT)
            tracer.wait()
            calls, errors = M.parse_strace_summary(path)
            out[f"{name}/c{clients}"] = {"name": name, "clients": clients, "requests": ok,
                                         "calls": calls, "errors": errors}
            print(f"  syscalls {name} c={clients}: {sum(calls.values()) / max(1, ok):.2f}/request",
                  flush=True)
    return out


def wait_quiet(limit_s, threshold=15.0):
    """Samples the CPU other processes use; waits (up to limit_s) while it is above threshold %.
    Returns (others %, seconds waited)."""
    waited = 0.0
    while True:
        a = M.busy_ticks()
        time.sleep(2)
        others = M.others_pct(a, M.busy_ticks(), 2)
        if others < threshold or waited >= limit_s:
            return others, waited
        time.sleep(5)
        waited += 7


def versions(root, binary):
    def first_line(argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"
    git = subprocess.run(["git", "-C", root, "log", "-1", "--format=%h %s"], capture_output=True,
                         text=True).stdout.strip()
    git = git if len(git) <= 90 else git[:87] + "..."
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "Sources",
                            "Package.swift"], capture_output=True, text=True).stdout.splitlines()
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    return {
        "cutover": git + (f" + uncommitted changes in {len(dirty)} file(s) under Sources/"
                          if dirty else "")
                   + f" (binary {binary}, built {time.ctime(os.path.getmtime(binary))})",
        "swift": first_line(["swift", "--version"]),
        "haproxy": first_line(["haproxy", "-v"]),
        "nginx": first_line(["nginx", "-v"]),
        "wrk": first_line(["wrk", "-v"]),
        "h2load": first_line(["h2load", "--version"]),
        "strace": first_line(["strace", "-V"]),
        "kernel": os.uname().release,
        "cpu": f"{cpu}, {os.cpu_count()} vCPU",
        "python": sys.version.split()[0],
    }


def run_round(args, s, rnd, scratch, meta, results):
    """One round of one set: fresh processes, then every case, contender after contender."""
    others, waited = wait_quiet(args.wait_quiet)
    if waited or others >= 15:
        meta["machine_notes"].append(f"round {rnd} {s.key}: other processes used {others:.0f}% of "
                                     f"a vCPU at the start (after waiting {waited:.0f} s)")
    work = os.path.join(scratch, s.key)
    stack = Stack(s, work, args.cutover, args.tls_key)
    try:
        stack.start()
        for who in CONTENDERS:  # warm-up, not recorded
            M.wrk(url(who, "/small"), 32, 1, s.load_cpus, threads=s.threads)
            if stack.tls and who in C.TLS_PORTS:
                M.wrk(url(who, "/small", tls=True), 32, 1, s.load_cpus, threads=s.threads)
            if stack.h2 and who in C.H2C_PORTS:
                for tls in ((True, False) if stack.tls else (False,)):
                    M.h2load_streams(url(who, "/small", tls=tls, h2=True), 32, 10, 1, s.load_cpus,
                                     os.path.join(work, "h2load-warm.log"))
        for case in s.cases:
            for who in CONTENDERS:
                if who == "direct" and not case.direct:
                    continue
                notes = []
                stack.ensure_alive(notes)
                proc = stack.proxies.get(who)
                if case.kind == "idle":
                    r = run_idle(args, s, proc, tls=case.tls)
                elif case.kind == "reload":
                    r = run_reload(args, s, case, proc, work)
                else:
                    r = run_load(args, s, case, who, proc, work)
                r["notes"] = notes
                meta["notes"] += [f"round {rnd} {s.key} {case.name} {who}: {n}" for n in notes]
                results.setdefault(f"{s.key}/{case.name}/{who}", []).append(r)
                print(f"round {rnd}/{args.rounds} {s.key} {case.name:9} {who:8} "
                      + report.one_line(r), flush=True)
    finally:
        stops = stack.stop()
        meta["stops"].append({"round": rnd, "set": s.key,
                              "exits": {k: list(v) for k, v in stops.items()}})
        meta["notes"] += [f"round {rnd} {s.key}: cutover log: {l}"
                          for l in stack.cutover_log_problems()[:20]]


def main():
    env = os.environ.get
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 round x 2 s, fewer requests: a smoke check")
    ap.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", 3)))
    ap.add_argument("--duration", type=int, default=int(env("BENCH_DURATION", 5)),
                    help="seconds per case and contender (default 5)")
    ap.add_argument("--rate", type=int, default=int(env("BENCH_RATE", 10000)),
                    help="total offered req/s of the fixed-rate case (default 10000)")
    ap.add_argument("--idle", type=int, default=10000, help="idle client connections")
    ap.add_argument("--tls-idle", type=int, default=2000,
                    help="idle TLS client connections (each a full handshake in Python: fewer)")
    ap.add_argument("--tls-key", choices=("rsa2048", "ec256"), default=env("BENCH_TLS_KEY", "rsa2048"),
                    help="the TLS cases' certificate key (default rsa2048, the common case; with "
                         "ec256 the load generator, not the proxy, limits the handshake rate)")
    ap.add_argument("--syscall-requests", type=int, default=20000)
    ap.add_argument("--cases", default=env("BENCH_CASES", ""), help="comma list (default: all)")
    ap.add_argument("--sets", default=env("BENCH_SETS", "w1,w2"), help="w1 (1 worker), w2 (2 workers)")
    ap.add_argument("--no-syscalls", action="store_true")
    ap.add_argument("--wait-quiet", type=int, default=int(env("BENCH_WAIT_QUIET", 0)), metavar="S",
                    help="before each round, wait up to S seconds while other processes use "
                         "more than 15%% of a vCPU (a shared machine)")
    ap.add_argument("--name", default="", help="report name (default DATE-HOST)")
    ap.add_argument("--no-build", action="store_true",
                    help="(bench/run) measure the binary already in .build-bench/, no rebuild")
    ap.add_argument("--cutover", required=True, help="the cutover binary")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration, args.syscall_requests = 1, 2, 5000

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    results_dir = os.path.join(root, "bench", "results")
    name = args.name or time.strftime("%Y-%m-%d-%H%M-") + socket.gethostname().split(".")[0]
    scratch = os.path.join(results_dir, name + ".tmp")
    os.makedirs(scratch, exist_ok=True)
    os.chmod(scratch, 0o755)
    for port in [*C.UPSTREAM_PORTS, *C.PORTS.values(), *C.TLS_PORTS.values(),
                 *C.H2_TLS_PORTS.values(), *C.H2C_PORTS.values()]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            sys.exit(f"bench: port {port} is already in use; stop what listens there")
        except OSError:
            pass
    os.sched_setaffinity(0, {0})
    wanted = set(filter(None, args.cases.split(",")))
    sets = [s for s in SETS if s.key in args.sets.split(",")]
    for s in sets:
        if wanted:
            s.cases = [c for c in s.cases if c.name in wanted]

    meta = {"name": name, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "load_before": open("/proc/loadavg").read().split()[:3],
            "args": {k: v for k, v in vars(args).items()}, "versions": versions(root, args.cutover),
            "sets": [{"key": s.key, "title": s.title, "layout": s.layout, "workers": s.workers,
                      "proxy_cpus": s.proxy_cpus, "load_cpus": s.load_cpus, "threads": s.threads,
                      "cases": [c.name for c in s.cases]} for s in sets],
            "cases": {c.name: c.title for c in CASES.values()}, "tls_key": args.tls_key,
            "notes": [], "machine_notes": [], "stops": [],
            "fd_limit": C.FD_LIMIT, "haproxy_no_strict_limits": C.HAPROXY_NO_STRICT_LIMITS}
    def interrupt(signo, frame):  # Ctrl-C or kill: stop cleanly, report what was measured
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)  # even where a background job inherited SIG_IGN
    signal.signal(signal.SIGTERM, interrupt)
    results = {}  # "set/case/contender" -> [one dict per round]
    t_start = time.time()
    syscalls = {}
    try:
        for rnd in range(1, args.rounds + 1):
            for s in sets:
                run_round(args, s, rnd, scratch, meta, results)
        if not args.no_syscalls and "w1" in args.sets.split(","):
            s = SETS[0]
            stack = Stack(s, os.path.join(scratch, "syscalls"), args.cutover, args.tls_key)
            try:
                stack.start()
                syscalls = count_syscalls(args, s, stack, os.path.join(scratch, "syscalls"))
            finally:
                stack.stop()
    except KeyboardInterrupt:
        meta["machine_notes"].append("interrupted: this report holds what was measured until then")
    meta["elapsed_s"] = time.time() - t_start
    meta["load_after"] = open("/proc/loadavg").read().split()[:3]
    with open(os.path.join(scratch, "raw.json"), "w") as f:
        json.dump({"meta": meta, "results": results, "syscalls": syscalls}, f, indent=1)
    md = report.write(results_dir, name, meta, results, syscalls, scratch)
    print(f"\nwrote {md} (run took {meta['elapsed_s'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
