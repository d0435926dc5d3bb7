#!/usr/bin/env python3
"""A slow-download backend for cutover's binary-upgrade tests. Standard library only.

    upgrade_trickle.py --name NAME

It binds 127.0.0.1:0, prints "READY <port>" on stdout once listening, and exits when its stdin
reaches EOF (so it never outlives the test process that started it).

  GET /trickle?bytes=N&ms=M   200 with Content-Length N, byte i = i % 251, written in 20 pieces
                              spread evenly over M ms: the exchange lasts M ms on every hop,
                              whatever the socket buffers on the way could hold
  GET /count                  JSON {"heads": H}: requests received (this one not counted)
  anything else               404
Every answer carries X-Backend: NAME. HTTP/1.1 keep-alive; request bodies are not expected.
"""

import argparse
import json
import os
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit, parse_qs

NAME = "trickle"
LOCK = threading.Lock()
HEADS = 0
PIECES = 20


class Handler(socketserver.StreamRequestHandler):
    def head(self, status, reason, length, extra=""):
        return ("HTTP/1.1 %d %s\r\nX-Backend: %s\r\nContent-Length: %d\r\n%s\r\n"
                % (status, reason, NAME, length, extra)).encode("latin-1")

    def handle(self):
        global HEADS
        try:
            while True:
                line = self.rfile.readline(65536)
                if not line:
                    return
                parts = line.decode("latin-1").split()
                if len(parts) != 3:
                    return
                while True:
                    field = self.rfile.readline(65536)
                    if not field or field in (b"\r\n", b"\n"):
                        break
                url = urlsplit(parts[1])
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/count":
                    with LOCK:
                        body = json.dumps({"heads": HEADS}).encode()
                    self.connection.sendall(self.head(200, "OK", len(body), "Content-Type: application/json\r\n") + body)
                    continue
                with LOCK:
                    HEADS += 1
                if url.path != "/trickle":
                    self.connection.sendall(self.head(404, "Not Found", 0))
                    continue
                total = int(query.get("bytes", "0"))
                pause = int(query.get("ms", "0")) / 1000.0 / PIECES
                body = (bytes(range(251)) * (total // 251 + 1))[:total]
                self.connection.sendall(self.head(200, "OK", total))
                start = time.monotonic()
                for k in range(PIECES):
                    piece = body[k * total // PIECES:(k + 1) * total // PIECES]
                    self.connection.sendall(piece)
                    delay = start + (k + 1) * pause - time.monotonic()
                    if delay > 0 and k + 1 < PIECES:
                        time.sleep(delay)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def watch_parent():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    global NAME
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    NAME = args.name
    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=watch_parent, daemon=True).start()
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
