#!/usr/bin/env python3
"""An upstream for cutover's hardening tests that answers every request with the exact bytes it
received: the head (request line to the blank line) and the body as framed on the wire (chunk
sizes and all). Standard library only, raw sockets.

    hardening_rawecho.py [--port PORT]

Binds 127.0.0.1:PORT (0 = any free port), prints "READY <port>" once listening, then one line
per request head received, "GOT <hex of the head bytes>" (flushed before the answer is sent), so
a test knows exactly what reached it and when nothing did. Keep-alive; exits when stdin reaches
EOF.

The answer: 200, Content-Type: application/json, body {"head": HEAD, "body": BODY} with both
decoded as latin-1 (byte for byte).
"""

import argparse
import json
import os
import socket
import socketserver
import sys
import threading

PRINT = threading.Lock()


class Closed(Exception):
    pass


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buffer += data

    def until(self, marker):
        while True:
            i = self.buffer.find(marker)
            if i >= 0:
                out = self.buffer[:i + len(marker)]
                self.buffer = self.buffer[i + len(marker):]
                return out
            self.fill()

    def exactly(self, n):
        while len(self.buffer) < n:
            self.fill()
        out = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return out


def framing(head):
    length, chunked = None, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip().split(b",")[0])
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def read_body(reader, head):
    length, chunked = framing(head)
    if chunked:
        raw = b""
        while True:
            size_line = reader.until(b"\r\n")
            raw += size_line
            size = int(size_line[:-2].split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    trailer = reader.until(b"\r\n")
                    raw += trailer
                    if trailer == b"\r\n":
                        return raw
            raw += reader.exactly(size + 2)
    if length:
        return reader.exactly(length)
    return b""


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        reader = Reader(self.request)
        try:
            while True:
                head = reader.until(b"\r\n\r\n")
                with PRINT:
                    sys.stdout.write("GOT %s\n" % head.hex())
                    sys.stdout.flush()
                body = read_body(reader, head)
                payload = json.dumps({"head": head.decode("latin-1"), "body": body.decode("latin-1")}).encode()
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                                     % len(payload) + payload)
        except (Closed, OSError, ValueError):
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def watch_parent():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    threading.Thread(target=watch_parent, daemon=True).start()
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
