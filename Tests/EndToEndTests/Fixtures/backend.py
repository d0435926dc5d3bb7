#!/usr/bin/env python3
"""A test backend for cutover's end-to-end tests. Standard library only, raw sockets, so every
byte on the wire is under the test's control.

    backend.py --name NAME [--port PORT]            HTTP/1.1 backend
    backend.py --name NAME [--port PORT] --tcp-echo raw echo; on client EOF sends "BYE", half-closes
    backend.py --name NAME --fail-with STATUS  answers every request but /count with STATUS
    backend.py --name NAME --tls-cert CERT --tls-key KEY   HTTP/1.1 over TLS (Python's ssl); every
                    answer then carries X-TLS-SNI: the server name the client sent, or "-"

It binds 127.0.0.1:PORT (0 = any free port) and prints "READY <port>" on stdout once listening.
It exits when its stdin reaches EOF, so it never outlives the test process that started it.

HTTP endpoints (any method):
  /                 200, body = NAME; X-Backend: NAME; X-Conn: per-connection sequence number
  /headers          200, JSON {"request_line": ..., "headers": [[name, value], ...]} as received;
                    each ?reply=NAME:VALUE adds that field to the answer (e.g. a Server to remove)
  /echo             the request body (Content-Length or chunked) answered back with Content-Length
  /chunked?n=K&size=S   chunked response: K chunks of S bytes, chunk i filled with 'a' + i % 26
  /big?bytes=N      N bytes (Content-Length), written in 64 KiB pieces, byte i = i % 251
  /slow?ms=M        waits M ms, then 200 "slow"
  /close            200 without Content-Length; the close ends the body
  /status?code=C    status C with no body (Content-Length: 0, but none for 204 and 304)
  anything else     404 "not found", with X-Target: the request target exactly as received
  /garbage          answers bytes that are not HTTP, then closes
  /drop             closes the connection without answering
  /count            JSON {"heads": H, "complete": C, "faulted": F}: request heads received,
                    requests whose body was received whole, and requests failed by /_fault
                    (this endpoint itself is not counted)
  /_fault?error_rate=R&delay_ms=D&status=S
                    (answered by the backend itself, not counted, never failed or delayed) sets the
                    faults of every later request: each is delayed D ms (default 0) before its
                    answer, and a fraction R (0..1, default 0) is answered with status S (default
                    500) instead. The failures are deterministic, not random: counting the requests
                    since this call from 1, request n fails when floor(n*R) > floor((n-1)*R), so
                    after N requests exactly floor(N*R) have failed, evenly spread (R = 1/k fails
                    exactly every k-th). A test can then assert exact counts, and a statistical
                    judge never sees an unlucky streak that a seeded random would still allow
                    (threads interleave, so a seed would not fix which requests fail anyway).
                    A call without parameters clears the faults. Answers JSON of the settings.
                    GET /_fault answers the settings without changing them.
  Upgrade: websocket  101 Switching Protocols, then raw bytes echoed back upper-cased until EOF
  Expect: 100-continue  "HTTP/1.1 100 Continue" is sent before the body is read
  HEAD              the GET head, no body
"""

import argparse
import json
import os
import socket
import socketserver
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit, parse_qs

NAME = "backend"
FAIL_STATUS = None
TLS = False
LOCK = threading.Lock()
COUNTS = {"heads": 0, "complete": 0, "connections": 0, "faulted": 0}
# Set by /_fault: the failure rate, the status failures answer, the delay, and the requests seen
# since (the counter the deterministic failure pattern runs on).
FAULT = {"error_rate": 0.0, "status": 500, "delay_ms": 0, "seen": 0}


def fault_settings():
    with LOCK:
        return {k: FAULT[k] for k in ("error_rate", "status", "delay_ms", "seen")} | {"faulted": COUNTS["faulted"]}


def set_fault(query):
    rate = float(query.get("error_rate", "0"))
    if not 0.0 <= rate <= 1.0:
        raise ValueError("error_rate must be within 0..1")
    with LOCK:
        FAULT["error_rate"] = rate
        FAULT["status"] = int(query.get("status", "500"))
        FAULT["delay_ms"] = int(query.get("delay_ms", "0"))
        FAULT["seen"] = 0


def take_fault():
    """(delay seconds, status to fail with or None) for one counted request."""
    with LOCK:
        rate = FAULT["error_rate"]
        delay = FAULT["delay_ms"] / 1000.0
        if rate <= 0.0:
            return delay, None
        FAULT["seen"] += 1
        n = FAULT["seen"]
        # Integer arithmetic on a rate given in millionths, so 0.05 fails exactly every 20th.
        micro = round(rate * 1_000_000)
        if (n * micro) // 1_000_000 > ((n - 1) * micro) // 1_000_000:
            COUNTS["faulted"] += 1
            return delay, FAULT["status"]
        return delay, None


def bump(key):
    with LOCK:
        COUNTS[key] += 1
        return COUNTS[key]


class BadRequest(Exception):
    pass


def read_line(rfile, limit=65536):
    line = rfile.readline(limit)
    if not line:
        return None
    if not line.endswith(b"\r\n"):
        raise BadRequest("line not ended by CRLF")
    return line[:-2]


def read_head(rfile):
    """Returns (method, target, version, headers) or None on a clean EOF before a request."""
    line = read_line(rfile)
    if line is None:
        return None
    parts = line.split(b" ")
    if len(parts) != 3:
        raise BadRequest("bad request line")
    method, target, version = (p.decode("latin-1") for p in parts)
    headers = []
    while True:
        line = read_line(rfile)
        if line is None:
            raise BadRequest("EOF in head")
        if line == b"":
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest("field without colon")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method, target, version, headers


def header(headers, name):
    name = name.lower()
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def read_body(rfile, headers):
    te = header(headers, "transfer-encoding")
    if te is not None:
        if te.strip().lower() != "chunked":
            raise BadRequest("unexpected transfer-encoding")
        body = bytearray()
        while True:
            size_line = read_line(rfile)
            if size_line is None:
                raise BadRequest("EOF in chunked body")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    t = read_line(rfile)
                    if t is None:
                        raise BadRequest("EOF in trailers")
                    if t == b"":
                        return bytes(body)
            data = rfile.read(size)
            if len(data) != size:
                raise BadRequest("EOF in chunk")
            body += data
            if rfile.read(2) != b"\r\n":
                raise BadRequest("chunk not ended by CRLF")
    length = header(headers, "content-length")
    if length is None:
        return b""
    n = int(length)
    data = rfile.read(n)
    if len(data) != n:
        raise BadRequest("EOF in body")
    return data


class HTTPHandler(socketserver.StreamRequestHandler):
    rbufsize = 65536

    def send(self, data):
        self.connection.sendall(data)

    def respond(self, status, reason, body=b"", extra=(), head_only=False, length=True):
        lines = ["HTTP/1.1 %d %s" % (status, reason), "X-Backend: " + NAME, "X-Conn: %d" % self.conn_id]
        if TLS:
            lines.append("X-TLS-SNI: " + (getattr(self.connection, "sni", None) or "-"))
        if length:
            lines.append("Content-Length: %d" % len(body))
        lines.extend("%s: %s" % kv for kv in extra)
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not head_only:
            out += body
        self.send(out)

    def handle(self):
        self.conn_id = bump("connections")
        try:
            while self.serve_one():
                pass
        except (BadRequest, ConnectionError, ValueError, ssl.SSLError):
            pass

    def serve_one(self):
        head = read_head(self.rfile)
        if head is None:
            return False
        method, target, version, headers = head
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        keep_alive = version == "HTTP/1.1" and "close" not in (header(headers, "connection") or "").lower()
        head_only = method == "HEAD"

        if path == "/_fault":
            read_body(self.rfile, headers)
            if method != "GET":
                try:
                    set_fault(query)
                except ValueError as error:
                    self.respond(400, "Bad Request", (str(error) + "\n").encode(), [], head_only)
                    return keep_alive
            self.respond(200, "OK", json.dumps(fault_settings()).encode(), [("Content-Type", "application/json")],
                         head_only)
            return keep_alive

        if path != "/count":
            bump("heads")
            delay, fail_status = take_fault()
            if delay > 0:
                time.sleep(delay)
            if fail_status is not None:
                read_body(self.rfile, headers)
                bump("complete")
                self.respond(fail_status, "Fault", (NAME + " fault").encode(), [], head_only)
                return keep_alive

        if FAIL_STATUS is not None and path != "/count":
            self.respond(FAIL_STATUS, "Failing", (NAME + " failing").encode(), [], head_only)
            return keep_alive

        if path == "/count":
            with LOCK:
                body = json.dumps({"heads": COUNTS["heads"], "complete": COUNTS["complete"],
                                   "faulted": COUNTS["faulted"]}).encode()
            self.respond(200, "OK", body, [("Content-Type", "application/json")])
            return keep_alive

        upgrade = (header(headers, "upgrade") or "").lower()
        if upgrade == "websocket":
            bump("complete")
            self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       "X-Backend: %s\r\n\r\n" % NAME).encode())
            # The tunnel: whatever arrives is sent back upper-cased, until the client's EOF.
            while True:
                data = self.rfile.read1(65536)
                if not data:
                    break
                self.send(data.upper())
            self.connection.shutdown(socket.SHUT_WR)
            return False

        if (header(headers, "expect") or "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = read_body(self.rfile, headers)
        bump("complete")

        if path == "/":
            self.respond(200, "OK", NAME.encode(), [("Content-Type", "text/plain")], head_only)
        elif path == "/headers":
            payload = {"request_line": "%s %s %s" % (method, target, version),
                       "headers": [[n, v] for n, v in headers]}
            replies = [tuple(r.split(":", 1)) for r in parse_qs(url.query).get("reply", []) if ":" in r]
            self.respond(200, "OK", json.dumps(payload).encode(), [("Content-Type", "application/json")] + replies,
                         head_only)
        elif path == "/echo":
            framing = "chunked" if header(headers, "transfer-encoding") else "length"
            self.respond(200, "OK", body, [("X-Request-Framing", framing)], head_only)
        elif path == "/chunked":
            n, size = int(query.get("n", "3")), int(query.get("size", "10"))
            out = ("HTTP/1.1 200 OK\r\nX-Backend: %s\r\nX-Conn: %d\r\nTransfer-Encoding: chunked\r\n\r\n"
                   % (NAME, self.conn_id)).encode()
            self.send(out)
            if not head_only:
                for i in range(n):
                    self.send(b"%x\r\n" % size + bytes([97 + i % 26]) * size + b"\r\n")
                self.send(b"0\r\n\r\n")
        elif path == "/big":
            total = int(query["bytes"])
            self.respond(200, "OK", extra=[("Content-Length", str(total))], head_only=True, length=False)
            if not head_only:
                pattern = bytes(i % 251 for i in range(251 * 262))  # 65762 bytes
                sent = 0
                while sent < total:
                    offset = sent % 251
                    piece = pattern[offset:offset + min(65536, total - sent)]
                    self.send(piece)
                    sent += len(piece)
        elif path == "/early-hints":
            self.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
            self.respond(200, "OK", b"hinted", [("Content-Type", "text/plain")], head_only)
        elif path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000.0)
            self.respond(200, "OK", b"slow", [], head_only)
        elif path == "/close":
            self.respond(200, "OK", extra=[("Connection", "close")], head_only=True, length=False)
            if not head_only:
                self.send(b"closed-body-" + NAME.encode())
            self.connection.shutdown(socket.SHUT_WR)
            return False
        elif path == "/garbage":
            self.send(b"THIS IS NOT HTTP\r\n\r\n")
            self.connection.shutdown(socket.SHUT_WR)
            return False
        elif path == "/drop":
            return False
        elif path == "/status":
            code = int(query.get("code", "204"))
            extra = [("ETag", '"v1"')] if code == 304 else []
            reason = {204: "No Content", 304: "Not Modified"}.get(code, "Status")
            self.respond(code, reason, extra=extra, head_only=True, length=code not in (204, 304))
        else:
            self.respond(404, "Not Found", b"not found\n", [("X-Target", target)], head_only)
        return keep_alive


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        bump("connections")
        conn = self.request
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
            conn.sendall(b"BYE")
            conn.shutdown(socket.SHUT_WR)
            # Wait for the peer to close its side too, so the BYE is not cut by an RST.
            conn.settimeout(5)
            while conn.recv(65536):
                pass
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 128


def watch_parent():
    # The test process holds our stdin open; its EOF (exit, crash) ends us.
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    global NAME, FAIL_STATUS, TLS
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tcp-echo", action="store_true")
    parser.add_argument("--fail-with", type=int)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    NAME = args.name
    FAIL_STATUS = args.fail_with
    server = Server(("127.0.0.1", args.port), EchoHandler if args.tcp_echo else HTTPHandler)
    if args.tls_cert:
        TLS = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)

        def remember_sni(sock, name, _context):
            sock.sni = name

        context.sni_callback = remember_sni
        # The handshake happens on the handler's thread (first read), not in the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=watch_parent, daemon=True).start()
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
