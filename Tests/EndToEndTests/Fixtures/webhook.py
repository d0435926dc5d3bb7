#!/usr/bin/env python3
"""A webhook receiver for cutover's end-to-end tests (the rollout's `notify:`). Standard library only.

    webhook.py [--port PORT] [--fail-first N]

It binds 127.0.0.1:PORT (0 = any free port) and prints "READY <port>" on stdout once listening.
It exits when its stdin reaches EOF, so it never outlives the test process that started it.

  POST any path     the body is recorded (parsed as JSON; a body that is not JSON is recorded as
                    {"_unparsed": TEXT}) with the path and the Content-Type, printed on stdout as
                    one line "EVENT <json>", and answered 204. With --fail-first N, the first N
                    POSTs are answered 500 and recorded in /attempts only (a sender's retries).
  GET /events       200, the JSON list of the recorded bodies, in arrival order
  GET /deliveries   200, the JSON list of {"path", "content_type", "body"} per recorded POST
  GET /attempts     200, {"posts": every POST received, "failed": those answered 500}
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
DELIVERIES = []
ATTEMPTS = {"posts": 0, "failed": 0}
FAIL_FIRST = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: stdout carries the events
        pass

    def answer(self, status, payload=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with LOCK:
            ATTEMPTS["posts"] += 1
            if ATTEMPTS["posts"] <= FAIL_FIRST:
                ATTEMPTS["failed"] += 1
                fail = True
            else:
                fail = False
        if fail:
            self.answer(500, {"error": "failing on purpose"})
            return
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = {"_unparsed": text}
        delivery = {"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body}
        with LOCK:
            DELIVERIES.append(delivery)
            print("EVENT " + json.dumps(body), flush=True)
        self.answer(204)

    def do_GET(self):
        with LOCK:
            if self.path == "/events":
                payload = [d["body"] for d in DELIVERIES]
            elif self.path == "/deliveries":
                payload = list(DELIVERIES)
            elif self.path == "/attempts":
                payload = dict(ATTEMPTS)
            else:
                payload = None
        if payload is None:
            self.answer(404, {"error": "not found"})
        else:
            self.answer(200, payload)


def watch_parent():
    # The test process holds our stdin open; its EOF (exit, crash) ends us.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    global FAIL_FIRST
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    FAIL_FIRST = args.fail_first
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=watch_parent, daemon=True).start()
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
