"""Load generators (wrk, h2load, the idle-connection client, strace) and /proc readings."""

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "percentiles.lua")
CLK_TCK = int(subprocess.run(["getconf", "CLK_TCK"], capture_output=True, text=True).stdout)
POINTS = (1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99)


# ---- /proc -------------------------------------------------------------------------------------

def cpu_ticks(pids):
    """{pid: (utime, stime)} in clock ticks; every thread of a process is included."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[pid] = (int(fields[11]), int(fields[12]))  # fields 14 and 15 of proc(5)
        except (OSError, IndexError):
            pass
    return out


def cpu_delta(before, after):
    """(user s, system s) spent between two cpu_ticks() readings, over the processes in `after`."""
    usr = sys_ = 0
    for pid, (u, s) in after.items():
        u0, s0 = before.get(pid, (0, 0))
        usr, sys_ = usr + u - u0, sys_ + s - s0
    return usr / CLK_TCK, sys_ / CLK_TCK


def descendants(pid):
    """pid and every process below it (nginx/HAProxy workers), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def busy_ticks():
    """(user+nice+system ticks of the whole machine, ticks of this benchmark's own processes),
    to tell how much CPU other work took meanwhile (see others_pct)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    machine = int(fields[1]) + int(fields[2]) + int(fields[3])
    me, ours = os.getpid(), 0
    for pid in descendants(me):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if pid != me:
            ours += sum(int(x) for x in stat[11:15])  # utime stime cutime cstime
    own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    ours += (own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime) * CLK_TCK
    return machine, ours


def others_pct(before, after, seconds):
    """CPU used by everything but this benchmark between two busy_ticks(), in % of one vCPU."""
    ticks = (after[0] - before[0]) - (after[1] - before[1])
    return max(0.0, 100 * ticks / CLK_TCK / max(seconds, 1e-3))


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                total += int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
        except (OSError, AttributeError):
            pass
    return total


# ---- load generators ---------------------------------------------------------------------------

def wrk(url, conns, secs, cpus, threads=1, close=False):
    argv = ["taskset", "-c", cpus, "wrk", "-t", str(threads), "-c", str(conns), "-d", f"{secs}s",
            "--latency", "-s", LUA]
    if close:
        argv += ["-H", "Connection: close"]
    run = subprocess.run(argv + [url], capture_output=True, text=True, timeout=secs + 60)
    line = next((l for l in run.stdout.splitlines() if l.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({run.returncode}): {run.stdout}{run.stderr}")
    r = json.loads(line[6:])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["pct"] = {float(k): v for k, v in r["pct"].items()}
    r["errors_total"] = sum(r["errors"].values())
    return r


def percentiles(samples):
    s = sorted(samples)
    if not s:
        return {p: 0 for p in POINTS}
    return {p: s[min(len(s) - 1, int(len(s) * p / 100))] for p in POINTS}


def _h2load_timed(argv, secs, logfile):
    """Runs h2load with --log-file: its request counts, its output, and per-request latencies
    (µs) with how many answers were not 2xx, from the log."""
    run = subprocess.run(argv, capture_output=True, text=True, timeout=secs + 60)
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                  r"(\d+) failed, (\d+) errored, (\d+) timeout", run.stdout)
    if m is None:
        raise RuntimeError(f"h2load failed ({run.returncode}): {run.stdout}{run.stderr}")
    counts = dict(zip(("total", "started", "done", "ok", "failed", "errored", "timeout"), map(int, m.groups())))
    lat, bad_status = [], 0
    with open(logfile) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                lat.append(int(parts[2]))
                bad_status += not parts[1].startswith("2")
    return counts, run.stdout, lat, bad_status


def _latency_summary(counts, lat, bad_status):
    return {"errors": {"failed": counts["failed"], "errored": counts["errored"], "timeout": counts["timeout"],
                       "status": bad_status},
            "errors_total": counts["failed"] + counts["errored"] + counts["timeout"] + bad_status,
            "min": min(lat, default=0), "max": max(lat, default=0),
            "mean": sum(lat) / max(1, len(lat)), "pct": percentiles(lat)}


def h2load_rate(url, clients, total_rate, secs, cpus, logfile):
    """Fixed offered load: h2load's --rps is per client, so total = clients x per-client rate."""
    per_client = max(1, round(total_rate / clients))
    argv = ["taskset", "-c", cpus, "h2load", "--h1", "-t", "1", "-c", str(clients),
            "--rps", str(per_client), "-D", str(secs), "--log-file", logfile, url]
    counts, _, lat, bad_status = _h2load_timed(argv, secs, logfile)
    return {"requests": counts["done"], "rps": counts["done"] / secs, "offered_rps": per_client * clients,
            **_latency_summary(counts, lat, bad_status)}


def h2load_streams(url, clients, streams, secs, cpus, logfile):
    """HTTP/2 (h2 by ALPN over https, h2c with prior knowledge over http): `clients` connections,
    `streams` concurrent streams each, as fast as they are answered, for `secs` seconds;
    latency percentiles from h2load's per-request log."""
    argv = ["taskset", "-c", cpus, "h2load", "-t", "1", "-c", str(clients), "-m", str(streams),
            "-D", str(secs), "--log-file", logfile, url]
    counts, stdout, lat, bad_status = _h2load_timed(argv, secs, logfile)
    os.remove(logfile)
    proto = re.search(r"Application protocol: (\S+)", stdout)
    return {"requests": counts["ok"], "rps": counts["ok"] / secs, "protocol": proto.group(1) if proto else "?",
            **_latency_summary(counts, lat, bad_status)}


def h2load_handshakes(url, secs, cpus, batch=100, parallel=2):
    """Full TLS handshakes per second: h2load runs of `batch` clients making one request each
    (`-c B -n B`: every client connects once, so no client ever has a session to resume; h2load
    resumes only when one client reconnects), `parallel` runs at a time, for `secs` seconds.
    Each request is thus a new connection, a full handshake, a GET and a close."""
    deadline = time.time() + secs
    lock = threading.Lock()
    total = {"succeeded": 0, "failed": 0, "errored": 0, "timeout": 0, "runs": 0}
    seen = {}

    def loop():
        while time.time() < deadline:
            run = subprocess.run(["taskset", "-c", cpus, "h2load", "--h1", "-t", "1", "-c", str(batch),
                                  "-n", str(batch), url], capture_output=True, text=True, timeout=120)
            m = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, "
                          r"(\d+) errored, (\d+) timeout", run.stdout)
            with lock:
                total["runs"] += 1
                if m is None:
                    total["failed"] += batch
                    continue
                for key, value in zip(("succeeded", "failed", "errored", "timeout"), map(int, m.groups())):
                    total[key] += value
                for key in ("TLS Protocol", "Cipher", "Server Temp Key"):
                    found = re.search(key + r": (.+)", run.stdout)
                    if found:
                        seen[key] = found.group(1).strip()

    t0 = time.time()
    threads = [threading.Thread(target=loop) for _ in range(parallel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    errors = {k: total[k] for k in ("failed", "errored", "timeout")}
    return {"requests": total["succeeded"], "rps": total["succeeded"] / wall, "errors": errors,
            "errors_total": sum(errors.values()), "runs": total["runs"], "tls": seen}


def idle_client(port, count, cpus, tls=False):
    """Starts the idle-connection client; returns (process, its READY line as a dict)."""
    p = subprocess.Popen(["taskset", "-c", cpus, sys.executable, os.path.join(HERE, "idle_conns.py"),
                          str(port), str(count)] + (["--tls"] if tls else []),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("READY "):
        p.kill()
        raise RuntimeError(f"idle client failed: {line!r}")
    return p, json.loads(line[6:])


def h2load_count(url, requests, clients, cpus):
    """Exactly `requests` keep-alive requests over `clients` connections (for strace counts)."""
    argv = ["taskset", "-c", cpus, "h2load", "--h1", "-t", "1", "-c", str(clients), "-n",
            str(requests), url]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    m = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", run.stdout)
    if m is None:
        raise RuntimeError(f"h2load failed ({run.returncode}): {run.stdout}{run.stderr}")
    return int(m.group(2))


def parse_strace_summary(path):
    """strace -c output -> ({syscall: calls}, {syscall: errors})."""
    calls, errors = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                name = parts[-1]
                if len(parts) == 6:
                    calls[name], errors[name] = int(parts[3]), int(parts[4])
                else:
                    calls[name], errors[name] = int(parts[3]), 0
    return calls, errors
