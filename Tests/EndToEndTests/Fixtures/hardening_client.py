#!/usr/bin/env python3
"""Never-retrying HTTP/1.1 clients for cutover's hardening tests (Python's http.client, standard
library only).

    hardening_client.py --port PORT [--keepalive N] [--fresh M] [--path /] --out FILE
                        [--progress FILE] [--stop-file PATH] [--timeout SECONDS] [--duration SECONDS]

N threads each send GET PATH over one keep-alive connection, M threads over a new connection per
request (the client closes it after the answer). A connection is only left when the answer says
`Connection: close` (then the next request goes over a new connection) or, for the M threads,
after each answer. A request is NEVER retried: whatever goes wrong on an established connection
is recorded as that request's outcome, the connection is dropped and the thread goes on with
its next request on a new connection.

Outcomes (one line per request in FILE, and counted in the summary):
  ok                       an answer was read whole
  broken:<exception>       the connection was established and the request failed on it:
                           RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                           BadStatusLine, IncompleteRead, timeout, ... (every one is a failure)
  refused                  ConnectionRefusedError at connect (nothing was sent)
  connect:<exception>      another failure at connect (nothing was sent)
After a failure at connect the thread waits 5 ms before its next attempt.

FILE: one line per request   KIND SENT_NS DONE_NS CONN_NS STATUS CLOSE OUTCOME
  KIND      k (keep-alive thread) or n (new connection per request)
  SENT_NS   CLOCK_MONOTONIC ns just before the request was sent (connect time for failed connects)
  DONE_NS   when the answer was whole, or the failure seen
  CONN_NS   when the connection the request went over was established (0 when none)
  STATUS    the status code, 0 when none
  CLOSE     1 when the answer carried Connection: close, else 0
The progress file (rewritten every 20 ms) holds `ANSWERED BROKEN REFUSED` so far. The threads stop
after --duration seconds, once the stop file exists, or when stdin reaches EOF (each after its
current request); then FILE is written and a JSON summary line is printed.
"""

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time

STOP = threading.Event()
LOCK = threading.Lock()
COUNTS = {"answered": 0, "broken": 0, "refused": 0, "connect": 0}


def now():
    return time.monotonic_ns()


def count(key):
    with LOCK:
        COUNTS[key] += 1


def worker(kind, args, records):
    conn = None
    opened = 0
    headers = {"Host": "hardening"}
    while not STOP.is_set():
        if conn is None:
            attempt = now()
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=args.timeout)
            try:
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                opened = now()
            except ConnectionRefusedError:
                records.append((kind, attempt, now(), 0, 0, 0, "refused"))
                count("refused")
                conn = None
                time.sleep(0.005)
                continue
            except Exception as exc:  # noqa: BLE001 - recorded
                records.append((kind, attempt, now(), 0, 0, 0, "connect:" + type(exc).__name__))
                count("connect")
                conn = None
                time.sleep(0.005)
                continue
        sent = now()
        try:
            conn.request("GET", args.path, headers=headers)
            response = conn.getresponse()
            response.read()
            closes = response.will_close
            records.append((kind, sent, now(), opened, response.status, 1 if closes else 0, "ok"))
            count("answered")
        except Exception as exc:  # noqa: BLE001 - every failure on an established connection
            records.append((kind, sent, now(), opened, 0, 0, "broken:" + type(exc).__name__))
            count("broken")
            closes = True
        if closes or kind == "n":
            conn.close()
            conn = None


def watch_stdin():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        STOP.set()


def write_progress(path):
    with LOCK:
        line = "%d %d %d\n" % (COUNTS["answered"], COUNTS["broken"], COUNTS["refused"])
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(line)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keepalive", type=int, default=6)
    parser.add_argument("--fresh", type=int, default=0)
    parser.add_argument("--path", default="/")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--stop-file")
    parser.add_argument("--progress")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    threading.Thread(target=watch_stdin, daemon=True).start()

    per_thread, threads = [], []
    for kind, n in (("k", args.keepalive), ("n", args.fresh)):
        for _ in range(n):
            records = []
            per_thread.append(records)
            threads.append(threading.Thread(target=worker, args=(kind, args, records), daemon=True))
    for t in threads:
        t.start()
    print("STARTED", flush=True)
    deadline = time.monotonic() + args.duration
    while any(t.is_alive() for t in threads):
        if time.monotonic() >= deadline or (args.stop_file and os.path.exists(args.stop_file)):
            STOP.set()
        if args.progress:
            write_progress(args.progress)
        if STOP.is_set():
            for t in threads:
                t.join(args.timeout + 1)
            break
        time.sleep(0.02)
    if args.progress:
        write_progress(args.progress)

    with open(args.out, "w") as out:
        for records in per_thread:
            for kind, sent, done, opened, status, closes, outcome in records:
                out.write("%s %d %d %d %d %d %s\n" % (kind, sent, done, opened, status, closes, outcome))
    with LOCK:
        print(json.dumps(COUNTS), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
