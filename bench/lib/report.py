"""The report: per-case medians over the rounds, cutover/HAProxy and cutover/nginx ratios, the
issue's targets, syscall counts, pinning and versions (markdown), and the latency chart (gnuplot)."""

import math
import os
import statistics
import subprocess

from measure import POINTS

CONTENDERS = ("direct", "cutover", "haproxy", "nginx")
LABEL = {"direct": "direct", "cutover": "cutover", "haproxy": "HAProxy", "nginx": "nginx"}


def pct(r, p):
    d = r.get("pct") or {}
    return d.get(p, d.get(str(p)))


def med(rows, key):
    vals = [(pct(r, key) if isinstance(key, float) else r.get(key)) for r in rows]
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def num(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    return "—" if a is None or not b else f"{a / b:.2f}"


def one_line(r):
    if "per_conn_bytes" in r:
        return (f"rss {r['rss_before_kib'] / 1024:.1f} -> {r['rss_after_kib'] / 1024:.1f} MiB, "
                f"{r['per_conn_bytes']:.0f} B/conn, open {r['open']} failed {r['failed']}")
    s = (f"{r['rps']:9.0f} req/s  p50 {pct(r, 50.0)} p99 {pct(r, 99.0)} p99.9 {pct(r, 99.9)} us"
         f"  errors {r['errors_total']}")
    if "cpu_us" in r:
        s += f"  cpu {r['cpu_us']:.2f} us/req ({r['cpu_pct']:.0f}%)"
    if "rss_kib" in r:
        s += f"  rss {r['rss_kib'] / 1024:.1f} MiB"
    if "reloads" in r:
        s += f"  reloads {r['reloads']}"
    return s


def main_table(results, s):
    out = ["| case | contender | req/s | spread | p50 µs | p99 µs | p99.9 µs | CPU µs/req | user µs/req "
           "| proxy CPU | RSS MiB | errors | others (max) |", "|" + "---|" * 13]
    for case in s["cases"]:
        for who in CONTENDERS:
            rows = results.get(f"{s['key']}/{case}/{who}")
            if not rows or "rps" not in rows[0]:
                continue
            rps = [r["rps"] for r in rows]
            spread = "—"
            if len(rps) > 1:
                spread = f"±{50 * (max(rps) - min(rps)) / statistics.median(rps):.0f}%"
            cpu_pct, rss = med(rows, "cpu_pct"), med(rows, "rss_kib")
            others = max(r.get("others_pct", 0) for r in rows)
            out.append(f"| {case} | {LABEL[who]} | {num(med(rows, 'rps'))} | {spread} "
                       f"| {num(med(rows, 50.0))} | {num(med(rows, 99.0))} | {num(med(rows, 99.9))} "
                       f"| {num(med(rows, 'cpu_us'), 2)} | {num(med(rows, 'usr_us'), 2)} "
                       f"| {num(cpu_pct) + '%' if cpu_pct is not None else '—'} "
                       f"| {num(rss and rss / 1024, 1)} "
                       f"| {sum(r['errors_total'] for r in rows)} | {num(others)}% |")
    return out


def ratio_table(results, s):
    metrics = [("req/s", "rps"), ("p50", 50.0), ("p99", 99.0), ("p99.9", 99.9),
               ("CPU µs/req", "cpu_us"), ("user µs/req", "usr_us"), ("RSS", "rss_kib")]
    out = ["| case | " + " | ".join(m for m, _ in metrics) + " | added p50 / p99 µs over direct: "
           "cutover · HAProxy · nginx |", "|" + "---|" * (len(metrics) + 2)]
    for case in s["cases"]:
        rows = {who: results.get(f"{s['key']}/{case}/{who}") for who in CONTENDERS}
        if not rows["cutover"] or "rps" not in rows["cutover"][0]:
            continue
        cells = []
        for _, key in metrics:
            c = med(rows["cutover"], key)
            cells.append(f"{ratio(c, med(rows['haproxy'] or [], key))} · "
                         f"{ratio(c, med(rows['nginx'] or [], key))}")
        added = "—"
        if rows["direct"]:
            d50, d99 = med(rows["direct"], 50.0), med(rows["direct"], 99.0)
            added = " · ".join(f"{num(med(rows[w], 50.0) - d50)} / {num(med(rows[w], 99.0) - d99)}"
                               for w in ("cutover", "haproxy", "nginx") if rows[w])
        out.append(f"| {case} | " + " | ".join(cells) + f" | {added} |")
    return out


def idle_table(results, s, case="idle10k"):
    out = ["| contender | RSS before MiB | RSS with idle conns MiB | bytes per idle conn | "
           "opened / failed | closed by the proxy while idle |", "|" + "---|" * 6]
    for who in CONTENDERS[1:]:
        rows = results.get(f"{s['key']}/{case}/{who}")
        if rows:
            out.append(f"| {LABEL[who]} | {num(med(rows, 'rss_before_kib') / 1024, 1)} "
                       f"| {num(med(rows, 'rss_after_kib') / 1024, 1)} | {num(med(rows, 'per_conn_bytes'))} "
                       f"| {num(med(rows, 'open'))} / {sum(r['failed'] for r in rows)} "
                       f"| {sum(r['closed_by_peer'] or 0 for r in rows)} |")
    return out


def reload_table(results, s):
    out = ["| contender | reloads sent | req/s | errors: connect / read / write / timeout / status "
           "| p50 µs | p99 µs | p99.9 µs | max µs | p99 without reloads (ka-c32) |", "|" + "---|" * 9]
    for who in CONTENDERS[1:]:
        rows = results.get(f"{s['key']}/reload/{who}")
        if not rows:
            continue
        errs = {k: sum(r["errors"].get(k, 0) for r in rows)
                for k in ("connect", "read", "write", "timeout", "status")}
        base = results.get(f"{s['key']}/ka-c32/{who}") or []
        out.append(f"| {LABEL[who]} | {sum(r['reloads'] for r in rows)} | {num(med(rows, 'rps'))} "
                   f"| {' / '.join(str(v) for v in errs.values())} | {num(med(rows, 50.0))} "
                   f"| {num(med(rows, 99.0))} | {num(med(rows, 99.9))} | {num(med(rows, 'max'))} "
                   f"| {num(med(base, 99.0))} |")
    return out


def syscall_table(syscalls):
    out = ["| contender | connections | requests | syscalls / request | per request, by syscall "
           "(≥ 0.01) | failed calls / request |", "|" + "---|" * 6]
    for key, v in syscalls.items():
        n = max(1, v["requests"])
        top = sorted(v["calls"].items(), key=lambda kv: -kv[1])
        by = ", ".join(f"{k} {c / n:.2f}" for k, c in top if c / n >= 0.01)
        out.append(f"| {LABEL[v['name']]} | {v['clients']} | {v['requests']:,} "
                   f"| **{sum(v['calls'].values()) / n:.2f}** | {by} | {sum(v['errors'].values()) / n:.2f} |")
    return out


def tls_summary(results, s, key):
    """Issue 6's figures side by side: handshakes, keep-alive TLS requests, idle TLS connections."""
    def m(case, who, metric, digits=0):
        return num(med(results.get(f"{s['key']}/{case}/{who}") or [], metric), digits)

    def r(case, metric):
        c = med(results.get(f"{s['key']}/{case}/cutover") or [], metric)
        h = med(results.get(f"{s['key']}/{case}/haproxy") or [], metric)
        return ratio(c, h)

    rows = [("full TLS handshakes / s (tls-hs)", "tls-hs", "rps", 0),
            ("CPU µs per full handshake + request (tls-hs)", "tls-hs", "cpu_us", 1),
            ("proxy CPU during tls-hs (% of its vCPU)", "tls-hs", "cpu_pct", 0),
            ("keep-alive TLS requests / s (tls-ka-c32)", "tls-ka-c32", "rps", 0),
            ("CPU µs per keep-alive TLS request (tls-ka-c32)", "tls-ka-c32", "cpu_us", 2),
            ("p99 µs, keep-alive TLS (tls-ka-c32)", "tls-ka-c32", 99.0, 0),
            ("bytes per idle TLS connection (tls-idle)", "tls-idle", "per_conn_bytes", 0)]
    out = ["| measure | cutover | HAProxy | nginx | cutover / HAProxy |", "|---|---|---|---|---|"]
    for title, case, metric, digits in rows:
        if not results.get(f"{s['key']}/{case}/cutover"):
            continue
        out.append(f"| {title} | {m(case, 'cutover', metric, digits)} | {m(case, 'haproxy', metric, digits)} "
                   f"| {m(case, 'nginx', metric, digits)} | {r(case, metric)} |")
    seen = next((row.get("tls") for rows in results.values() for row in rows if row.get("tls")), None)
    notes = [f"Certificate: self-signed, {'RSA 2048' if key == 'rsa2048' else 'ECDSA P-256'} (the same "
             "file for all three); TLS 1.2-1.3 with the same ECDHE+AEAD suites and groups everywhere."]
    if seen:
        notes.append("Negotiated by h2load: " + ", ".join(f"{k} {v}" for k, v in seen.items()) + ".")
    return out + [""] + notes


def targets(results, syscalls):
    """The issue's targets, read off the 1-worker set."""
    def m(case, who, key):
        return med(results.get(f"w1/{case}/{who}") or [], key)

    def added(case, who):
        a, d = m(case, who, 99.0), m(case, "direct", 99.0)
        return None if a is None or d is None else a - d

    def sc(who):
        v = syscalls.get(f"{who}/c32")
        return sum(v["calls"].values()) / max(1, v["requests"]) if v else None

    def errs(who):
        rows = results.get(f"w1/reload/{who}")
        return sum(r["errors_total"] for r in rows) if rows else None

    rows = [  # (target, cutover, HAProxy, bound for cutover, lower is better)
        ("CPU µs per keep-alive request (ka-c32) ≤ HAProxy's", m("ka-c32", "cutover", "cpu_us"),
         m("ka-c32", "haproxy", "cpu_us"), m("ka-c32", "haproxy", "cpu_us"), True, 2),
        ("syscalls per keep-alive request (32 conns) ≤ 4.5", sc("cutover"), sc("haproxy"), 4.5, True, 2),
        ("user µs per request (ka-c32) ≤ 1.2 × HAProxy's", m("ka-c32", "cutover", "usr_us"),
         m("ka-c32", "haproxy", "usr_us"),
         m("ka-c32", "haproxy", "usr_us") and 1.2 * m("ka-c32", "haproxy", "usr_us"), True, 2),
        ("req/s at 32 connections ≥ HAProxy's", m("ka-c32", "cutover", "rps"),
         m("ka-c32", "haproxy", "rps"), m("ka-c32", "haproxy", "rps"), False, 0),
        ("added p99 µs over direct (ka-c32) ≤ HAProxy's", added("ka-c32", "cutover"),
         added("ka-c32", "haproxy"), added("ka-c32", "haproxy"), True, 0),
        ("added p99 µs over direct (fixed rate) ≤ HAProxy's", added("rate", "cutover"),
         added("rate", "haproxy"), added("rate", "haproxy"), True, 0),
        ("bytes per idle client connection ≤ HAProxy's", m("idle10k", "cutover", "per_conn_bytes"),
         m("idle10k", "haproxy", "per_conn_bytes"), m("idle10k", "haproxy", "per_conn_bytes"), True, 0),
        ("errors during the reload storm = 0", errs("cutover"), errs("haproxy"), 0, True, 0),
    ]
    out = ["| target | cutover | HAProxy | verdict |", "|---|---|---|---|"]
    for name, c, h, bound, lower, digits in rows:
        if c is None or bound is None:
            verdict = "not measured"
        elif (c <= bound) if lower else (c >= bound):
            verdict = "met"
        elif bound:
            verdict = f"missed by {abs(c - bound) / abs(bound) * 100:.0f}%"
        else:
            verdict = f"missed ({num(c)})"
        out.append(f"| {name} | {num(c, digits)} | {num(h, digits)} | {verdict} |")
    return out


def chart(results, meta, path, scratch):
    panels = []
    for s in meta["sets"]:
        for case in s["cases"]:
            rows = {w: results.get(f"{s['key']}/{case}/{w}") for w in CONTENDERS}
            if not any(r and "pct" in r[0] for r in rows.values() if r):
                continue
            dat = os.path.join(scratch, f"chart-{s['key']}-{case}.dat")
            with open(dat, "w") as f:
                for p in POINTS:
                    vals = [med(rows[w], p) if rows[w] else None for w in CONTENDERS]
                    f.write(f"{-math.log10(1 - p / 100):.4f} "
                            + " ".join("NaN" if v is None else str(v) for v in vals) + "\n")
            have = [i for i, w in enumerate(CONTENDERS) if rows[w] and "pct" in rows[w][0]]
            panels.append((f"{s['key']}: {case}", dat, have))
    cols = 3
    rows_n = max(1, math.ceil(len(panels) / cols))
    colours = ["#777777", "#d62728", "#1f77b4", "#2ca02c"]
    gp = [f"set terminal pngcairo size 1500,{430 * rows_n} font ',10'",
          f"set output '{path}'", "set datafile missing 'NaN'",
          f"set multiplot layout {rows_n},{cols} title 'Latency by percentile (medians over "
          f"{meta['args']['rounds']} rounds; w1 = 1 worker, w2 = 2 workers)'",
          "set logscale y", "set grid", "set key top left", "set ylabel 'latency (µs)'",
          "set xrange [0:4.05]",
          "set xtics ('' 0, '50%%' 0.301, '90%%' 1, '99%%' 2, '99.9%%' 3, '99.99%%' 4)"]
    for title, dat, have in panels:
        gp.append(f"set title '{title}'")
        gp.append("plot " + ", ".join(
            f"'{dat}' using 1:{i + 2} with linespoints lw 2 pt 7 ps 0.5 lc rgb '{colours[i]}' "
            f"title '{LABEL[CONTENDERS[i]]}'" for i in have))
    gp.append("unset multiplot")
    run = subprocess.run(["gnuplot"], input="\n".join(gp), capture_output=True, text=True)
    return run.returncode == 0, run.stderr


def write(results_dir, name, meta, results, syscalls, scratch):
    png = os.path.join(results_dir, name + ".png")
    ok, err = chart(results, meta, png, scratch)
    a = meta["args"]
    L = [f"# Benchmark {name}", "",
         f"`bench/run{' --quick' if a['quick'] else ''}` started {meta['started']}; "
         f"{a['rounds']} round(s) × {a['duration']} s per case and contender; the run took "
         f"{meta['elapsed_s'] / 60:.1f} min. Load average before {' '.join(meta['load_before'])}, "
         f"after {' '.join(meta['load_after'])} (other work on the machine shows up here). "
         "Every figure is the median over the rounds; *spread* is ±half the range of req/s "
         "across rounds; *errors* are summed over the rounds; *proxy CPU* is the proxy's CPU time "
         "over the case in % of one vCPU; *others (max)* is the CPU that everything outside "
         "the benchmark used during the case (machine busy time from /proc/stat minus the "
         "benchmark's own processes, % of one vCPU), in the worst round: above ~10% that round "
         "was disturbed.", ""]
    noisy = [r.get("others_pct", 0) for rows in results.values() for r in rows if "others_pct" in r]
    disturbed = sum(o > 10 for o in noisy)
    if disturbed:
        L += [f"**{disturbed} of {len(noisy)} measurements ran while other processes used more than "
              f"10% of a vCPU (median {statistics.median(noisy):.0f}%, max {max(noisy):.0f}%): "
              "the medians damp this, the *others (max)* column shows where.**", ""]
    L += [f"- {n}" for n in meta.get("machine_notes", [])] + ([""] if meta.get("machine_notes") else [])
    if any(s["key"] == "w1" for s in meta["sets"]) and any(not c.startswith("tls-") for s in meta["sets"]
                                                            for c in s["cases"]):
        L += ["## Issue 3 targets (1 worker)", ""] + targets(results, syscalls) + [""]
    for s in meta["sets"]:
        if any(c.startswith("tls-") for c in s["cases"]):
            L += [f"## TLS (issue 6), {s['key']}", "",
                  "*tls-hs*: every request is a new connection with a full handshake (h2load runs of "
                  "100 one-request clients, 2 runs at a time: no client ever holds a session to "
                  "resume), then GET /small and close; the CPU figure is the proxy's CPU time per "
                  "such connection. *tls-ka-c32*: wrk over TLS, 32 keep-alive connections. "
                  "*tls-idle*: RSS growth with idle TLS client connections, one request each.", ""]
            L += tls_summary(results, s, meta.get("tls_key", "rsa2048")) + [""]
    L += ["## Pinning", "",
          "A loopback round trip costs about 16 µs within one vCPU and about 70 µs across two, so "
          "the layout decides latency. With one worker the proxy gets a vCPU to itself, so its CPU "
          "time per request and its saturation are its own, not shared with the load generator; "
          "every proxied request then crosses vCPUs twice (client → proxy → upstream and back), the "
          "same for every proxy. *direct* stays on CPU 0 (same-vCPU loopback), so *added latency "
          "over direct* includes the cross-vCPU hops. With two vCPUs only, CPU 0 (load generator "
          "+ upstreams) may saturate before the proxy does: the *proxy CPU* column says how busy the "
          "proxy's vCPU was (100% = saturated).", ""]
    for s in meta["sets"]:
        L.append(f"- **{s['key']}** — {s['title']}: proxy `taskset -c {s['proxy_cpus']}`, load "
                 f"generator and upstreams `taskset -c {s['load_cpus']}`. {s['layout']}.")
    L.append("")
    for s in meta["sets"]:
        L += [f"## {s['key']}: {s['title']}", ""] + main_table(results, s) + [""]
        L += ["Ratios, cutover/HAProxy · cutover/nginx (below 1 is better for cutover except "
              "req/s):", ""] + ratio_table(results, s) + [""]
        if "idle10k" in s["cases"]:
            L += [f"### {meta['cases']['idle10k']}", "",
                  "RSS of the proxy (nginx and HAProxy: master + workers) before and while "
                  f"{a['idle']:,} client connections sit idle after one request each; bytes per "
                  "idle conn = (after − before) / opened.", ""] + idle_table(results, s) + [""]
        if "tls-idle" in s["cases"]:
            L += [f"### {meta['cases']['tls-idle']}", "",
                  f"The same with {a.get('tls_idle', 0):,} TLS connections (a full handshake each, "
                  "then one request).", ""] + idle_table(results, s, "tls-idle") + [""]
        if "reload" in s["cases"]:
            L += [f"### {meta['cases']['reload']}", "",
                  "cutover: config rewritten + SIGHUP; HAProxy: SIGUSR2 to the `-W` master "
                  "(listeners handed over through `expose-fd listeners`); nginx: SIGHUP to the "
                  "master (= `nginx -s reload`). wrk errors: *read* = the connection closed while "
                  "wrk waited for an answer.", ""] + reload_table(results, s) + [""]
    if syscalls:
        L += ["## Syscalls per proxied keep-alive request", "",
              f"`strace -c -f -p PID` on the serving process (cutover: every thread; HAProxy and "
              f"nginx: the worker) while h2load sends exactly {a['syscall_requests']:,} keep-alive "
              "requests for /small; 1-worker configs, same pinning. ptrace slows the proxy, which "
              "changes how many events each epoll_wait returns, so the epoll share is indicative.",
              ""] + syscall_table(syscalls) + [""]
    L += [f"## Latency distributions", "", f"![latency by percentile]({name}.png)", ""]
    if not ok:
        L += [f"(gnuplot failed: {err.strip()[:300]})", ""]
    anomalies = list(meta["notes"])
    for stop in meta["stops"]:
        for who, (code, secs) in stop["exits"].items():
            if code not in (0, None) or secs > 6:
                anomalies.append(f"round {stop['round']} {stop['set']}: {who} exit code {code} "
                                 f"after SIGTERM, {secs:.1f} s to exit")
    for key, rows in results.items():
        for i, r in enumerate(rows):
            if r.get("alive_after") is False:
                anomalies.append(f"{key} round {i + 1}: the proxy died during the reload storm")
            if "reloaded_lines" in r and r["reloaded_lines"] != r["reloads"]:
                anomalies.append(f"{key} round {i + 1}: {r['reloads']} SIGHUPs sent, cutover logged "
                                 f"{r['reloaded_lines']} reloads (signals coalesce)")
            if r.get("failed"):
                anomalies.append(f"{key} round {i + 1}: {r['failed']} idle connections failed, "
                                 f"first: {r.get('first_failure')}")
    L += ["## Anomalies", ""] + ([f"- {x}" for x in anomalies] or ["none seen"]) + [""]
    L += ["## Versions", ""] + [f"- {k}: {v}" for k, v in meta["versions"].items()] + [""]
    L += ["## Method", "",
          "- Upstream app: two nginx (1 worker each) on 127.0.0.1:18101 and :18102 serving "
          "/small (28 bytes) and /64k (65,536 bytes) with keep-alive and no request cap; *direct* "
          "sends to the first one.",
          "- Proxies (round robin over both upstreams, keep-alive on both sides, X-Forwarded-For "
          "added, idle timeout 60 s): cutover :18081; HAProxy :18082 (`http-reuse always`, "
          "`option forwardfor`, master-worker); nginx :18083 (`keepalive 1024` upstream, "
          "`proxy_http_version 1.1`, `proxy_set_header Connection \"\"`, `reuseport`).",
          "- Each round starts every process fresh, warms each contender for 1 s, then runs case "
          "by case, contender after contender (direct, cutover, HAProxy, nginx).",
          "- wrk (`-t1`, `-t2` for w2) with a Lua `done()` that prints percentiles; fixed rate: "
          f"`h2load --h1 -c 32 --rps {max(1, round(a['rate'] / 32))}` "
          f"(≈ {a['rate']:,} req/s offered), percentiles from its per-request log.",
          "- CPU µs/req: utime + stime of the proxy's processes (/proc/PID/stat, all threads; "
          "nginx and HAProxy: master + workers) over the case, divided by the requests done. "
          "RSS: VmRSS summed the same way, read at the end of the case.",
          f"- File-descriptor limit of every process: {meta.get('fd_limit', '?'):,}"
          + (" (the hard limit could not be raised, so HAProxy runs with `no strict-limits`: it "
             "reserves two fds per connection and would otherwise refuse a maxconn above 10,000)"
             if meta.get("haproxy_no_strict_limits") else "") + ".",
          f"- Raw per-round data, configs and logs: `bench/results/{name}.tmp/` (not committed).",
          ""]
    md = os.path.join(results_dir, name + ".md")
    with open(md, "w") as f:
        f.write("\n".join(L))
    return md
