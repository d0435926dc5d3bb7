#!/usr/bin/env python3
"""A load generator for cutover's end-to-end tests. Standard library only, raw sockets.

    loadgen.py --port PORT [--keepalive N] [--fresh M] [--path /] [--header "Name: value"]...
               [--count K] [--duration SECONDS] [--timeout SECONDS] [--stop-file PATH] --out FILE

N threads each send GET PATH over one persistent HTTP/1.1 connection (reconnecting after a
failure), M threads each send GET PATH with "Connection: close" over a new connection per request.
They stop after K requests in all (when --count is given), after --duration seconds, once PATH
exists (not a signal: the processes a test starts inherit its blocked signal mask), or when stdin
reaches EOF (so the generator never outlives the test process). Each client ends after its
current request.

FILE gets one line per request:  SENT_NS DONE_NS KIND STATUS BACKEND OUTCOME
  SENT_NS, DONE_NS  CLOCK_MONOTONIC nanoseconds just before the request's first byte was sent and
                    when its answer was complete (or the failure seen)
  KIND              k (keep-alive connection) or n (new connection)
  STATUS            the status code, 0 when there was no answer
  BACKEND           the X-Backend field of the answer, "-" when none
  OUTCOME           ok, or the failure: reset, refused, eof (closed before a whole answer),
                    timeout, error:<errno name>, bad (not HTTP)
On exit stdout gets one JSON summary line: requests, outcomes, statuses, backends.
"""

import argparse
import errno
import json
import os
import socket
import sys
import threading
import time

STOP = threading.Event()
LOCK = threading.Lock()


class Failure(Exception):
    def __init__(self, outcome):
        super().__init__(outcome)
        self.outcome = outcome


class Budget:
    """The requests left to send when --count is given."""

    def __init__(self, count):
        self.left = count

    def take(self):
        if self.left is None:
            return not STOP.is_set()
        with LOCK:
            if self.left <= 0 or STOP.is_set():
                return False
            self.left -= 1
            return True


def classify(exc):
    if isinstance(exc, Failure):
        return exc.outcome
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, BrokenPipeError):
        return "reset"
    if isinstance(exc, OSError) and exc.errno is not None:
        return "error:" + errno.errorcode.get(exc.errno, str(exc.errno))
    return "error:" + type(exc).__name__


class Connection:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Failure("eof")
        self.buffer += data

    def read_response(self):
        """Returns (status, backend, closes)."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            self.fill()
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4:]
        parts = head[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise Failure("bad")
        status = int(parts[1])
        backend = "-"
        length = None
        closes = parts[0] == "HTTP/1.0"
        chunked = False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "x-backend":
                backend = value or "-"
            elif name == "content-length":
                length = int(value)
            elif name == "connection" and "close" in value.lower():
                closes = True
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            raise Failure("bad")  # the test endpoints used here answer with Content-Length
        if length is None:
            if status in (204, 304) or 100 <= status < 200:
                length = 0
            else:
                while True:  # close-delimited
                    try:
                        self.fill()
                    except Failure:
                        return status, backend, True
        while len(self.buffer) < length:
            self.fill()
        self.buffer = self.buffer[length:]
        return status, backend, closes


def now():
    return time.monotonic_ns()


def worker(kind, args, budget, request, records):
    conn = None
    while budget.take():
        sent = now()
        try:
            if conn is None:
                conn = Connection(args.port, args.timeout)
                sent = now()
            conn.sock.sendall(request)
            status, backend, closes = conn.read_response()
            records.append((sent, now(), kind, status, backend, "ok"))
            if closes or kind == "n":
                conn.close()
                conn = None
        except Exception as exc:  # every failure is recorded, then the client goes on
            records.append((sent, now(), kind, 0, "-", classify(exc)))
            if conn is not None:
                conn.close()
                conn = None
    if conn is not None:
        conn.close()


def watch_stdin():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        STOP.set()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keepalive", type=int, default=1)
    parser.add_argument("--fresh", type=int, default=0)
    parser.add_argument("--path", default="/")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--count", type=int)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--stop-file")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    threading.Thread(target=watch_stdin, daemon=True).start()

    extra = "".join(h + "\r\n" for h in args.header)
    keep = ("GET %s HTTP/1.1\r\nHost: loadgen\r\n%s\r\n" % (args.path, extra)).encode("latin-1")
    fresh = ("GET %s HTTP/1.1\r\nHost: loadgen\r\nConnection: close\r\n%s\r\n" % (args.path, extra)).encode("latin-1")
    budget = Budget(args.count)
    per_thread = []
    threads = []
    for kind, n, request in (("k", args.keepalive, keep), ("n", args.fresh, fresh)):
        for _ in range(n):
            records = []
            per_thread.append(records)
            t = threading.Thread(target=worker, args=(kind, args, budget, request, records), daemon=True)
            threads.append(t)
    print("STARTED", flush=True)
    for t in threads:
        t.start()
    deadline = time.monotonic() + args.duration
    for t in threads:
        while t.is_alive():
            left = deadline - time.monotonic()
            if left <= 0 or (args.stop_file and os.path.exists(args.stop_file)):
                STOP.set()
                left = args.timeout + 1
            t.join(min(left, 0.05))
            if STOP.is_set():
                t.join(args.timeout + 1)
                break

    summary = {"requests": 0, "outcomes": {}, "statuses": {}, "backends": {}}
    with open(args.out, "w") as out:
        for records in per_thread:
            for sent, done, kind, status, backend, outcome in records:
                out.write("%d %d %s %d %s %s\n" % (sent, done, kind, status, backend, outcome))
                summary["requests"] += 1
                summary["outcomes"][outcome] = summary["outcomes"].get(outcome, 0) + 1
                summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
                summary["backends"][backend] = summary["backends"].get(backend, 0) + 1
    print(json.dumps(summary), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
