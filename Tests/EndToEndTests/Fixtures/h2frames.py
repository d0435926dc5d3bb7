#!/usr/bin/env python3
"""A frame-level HTTP/2 client (h2c, prior knowledge) for cutover's HTTP/2 end-to-end tests.
Built on hyperframe and hpack (installed with Python's `h2` package), not on h2's connection
state machine: the cases send what a well-behaved client never would (floods, bad frames, a
client that goes on after GOAWAY), and read every frame the proxy sends back.

    h2frames.py CASE PORT [ARGS...]

prints one JSON object on stdout and exits 0 (a failure to connect exits non-zero). Every case
reports at least `goaways` ([[last_stream_id, error_code], ...] in arrival order) and `closed`
(how the connection ended while the case read it: "eof", "reset", "timeout" or null when the
case stopped reading first).

Cases:
  rapid-reset PORT N        opens N streams (GET /), each reset (CANCEL) right after its HEADERS,
                            written in batches without reading; then reads until the close
  continuation PORT N [end] one HEADERS without END_HEADERS, then N CONTINUATION frames none of
                            which ends the block (with `end`, the last one does: a legitimate
                            request, `first` is its outcome)
  settings-flood PORT N     N empty SETTINGS frames written without reading any answer (a 4 KiB
                            receive buffer, so unread answers back up into the proxy)
  ping-flood PORT N         N PING frames, the same way
  big-headers PORT BYTES    a GET / whose fields add up to BYTES (4000-byte fields), then a plain
                            GET / on the same connection: `first` and `second` are each
                            {"status": S} or {"reset": CODE}
  zero-window PORT PATH     SETTINGS_INITIAL_WINDOW_SIZE 0 and GET PATH, never a WINDOW_UPDATE:
                            `status`, `data_bytes`, `closed_after` (seconds from the response head
                            to the close)
  malformed PORT KIND       KIND: bad-hpack (a request HEADERS whose block does not decode),
                            data-on-zero (DATA on stream 0), short-settings (SETTINGS of length 5)
  upgrade PORT KIND         an Upgrade request as HTTP/2 would carry it. KIND: fields (upgrade:
                            websocket and connection: upgrade), upgrade-only (upgrade: websocket),
                            connect-protocol (extended CONNECT, :protocol websocket, never
                            enabled); then a plain GET / on the same connection. `first`, `second`
                            as for big-headers, `first_data`: body bytes of the first
  sigterm-watch PORT PATH   keeps 8 GETs of PATH in flight, opening a new one as each ends; prints
                            "RUNNING" on stderr once 8 have been answered; after the first GOAWAY
                            goes on opening streams for 0.2 s (as a client whose requests crossed
                            the GOAWAY would), then stops and reads until the close. `streams`:
                            {id: {"status": S, "ended": bool, "reset": CODE}}; `late`: the ids
                            opened after the first GOAWAY
"""

import json
import socket
import struct
import sys
import time

from hpack import Decoder, Encoder
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame,
                              RstStreamFrame, SettingsFrame, WindowUpdateFrame)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
CANCEL = 0x8


class Connection:
    def __init__(self, port, settings=None, timeout=10.0, window_updates=True, receive_buffer=None):
        if receive_buffer:
            # Set before connecting: the window the kernel advertises follows it.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            self.sock.connect(("127.0.0.1", port))
        else:
            self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(timeout)
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.buffer = b""
        self.next_id = 1
        self.goaways = []
        self.closed = None
        self.window_updates = window_updates
        self.block = None  # (stream, bytes, end_stream) of a header block being received
        self.streams = {}
        self.counts = {}
        self.started = time.monotonic()
        settings_frame = SettingsFrame(0)
        settings_frame.settings = settings or {}
        self.send(PREFACE + settings_frame.serialize())

    def handshake(self):
        """Reads until the proxy's SETTINGS has come (and been acknowledged)."""
        self.read_until(lambda: self.counts.get("settings", 0) > 0)

    def send(self, data):
        """Writes `data`; False when the proxy has already closed (its GOAWAY is then read)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def request(self, path, method="GET", fields=(), end_stream=True, pseudo=None):
        """A request's HEADERS frame (serialized) and its stream id."""
        stream = self.next_id
        self.next_id += 2
        headers = pseudo or [(":method", method), (":scheme", "http"), (":authority", "h2.test"), (":path", path)]
        frame = HeadersFrame(stream)
        frame.data = self.encoder.encode(headers + list(fields))
        frame.flags.add("END_HEADERS")
        if end_stream:
            frame.flags.add("END_STREAM")
        self.streams[stream] = {"status": None, "ended": False, "reset": None, "data": 0}
        return stream, frame.serialize()

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            self.closed = "timeout"
            return False
        except ConnectionResetError:
            self.closed = "reset"
            return False
        if not chunk:
            self.closed = "eof"
            return False
        self.buffer += chunk
        return True

    def read_frame(self):
        """The next frame, handled (SETTINGS acknowledged, flow-control windows reopened, header
        blocks decoded, GOAWAY recorded); None once the connection ended."""
        while len(self.buffer) < 9:
            if not self._fill():
                return None
        frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
        while len(self.buffer) < 9 + length:
            if not self._fill():
                return None
        frame.parse_body(memoryview(self.buffer[9:9 + length]))
        self.buffer = self.buffer[9 + length:]
        name = type(frame).__name__.replace("Frame", "").lower()
        self.counts[name] = self.counts.get(name, 0) + 1
        self._handle(frame)
        return frame

    def _handle(self, frame):
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            ack = SettingsFrame(0)
            ack.flags.add("ACK")
            self.send(ack.serialize())
        elif isinstance(frame, GoAwayFrame):
            self.goaways.append([frame.last_stream_id, frame.error_code])
        elif isinstance(frame, (HeadersFrame, ContinuationFrame)):
            if isinstance(frame, HeadersFrame):
                self.block = (frame.stream_id, bytes(frame.data), "END_STREAM" in frame.flags)
            else:
                stream, data, end = self.block
                self.block = (stream, data + bytes(frame.data), end)
            if "END_HEADERS" in frame.flags:
                stream, data, end = self.block
                self.block = None
                fields = self.decoder.decode(data)
                state = self.streams.setdefault(stream, {"status": None, "ended": False, "reset": None, "data": 0})
                for name, value in fields:
                    if name == ":status" and state["status"] is None:
                        state["status"] = int(value)
                if end:
                    state["ended"] = True
        elif isinstance(frame, DataFrame):
            state = self.streams.setdefault(frame.stream_id, {"status": None, "ended": False, "reset": None, "data": 0})
            state["data"] += len(frame.data)
            if "END_STREAM" in frame.flags:
                state["ended"] = True
            if self.window_updates and frame.flow_controlled_length > 0:
                for stream in (0, frame.stream_id):
                    update = WindowUpdateFrame(stream)
                    update.window_increment = frame.flow_controlled_length
                    self.send(update.serialize())
        elif isinstance(frame, RstStreamFrame):
            state = self.streams.setdefault(frame.stream_id, {"status": None, "ended": False, "reset": None, "data": 0})
            state["reset"] = frame.error_code

    def read_until(self, condition):
        """Reads frames until `condition()` holds or the connection ends."""
        while not condition():
            if self.read_frame() is None:
                return False
        return True

    def read_to_end(self):
        while self.read_frame() is not None:
            pass

    def outcome(self, stream):
        state = self.streams[stream]
        if state["reset"] is not None:
            return {"reset": state["reset"]}
        return {"status": state["status"]}

    def finished(self, stream):
        state = self.streams[stream]
        return state["ended"] or state["reset"] is not None

    def report(self, **extra):
        return {"goaways": self.goaways, "closed": self.closed, "frames": self.counts,
                "seconds": round(time.monotonic() - self.started, 3)} | extra


def raw_frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def rapid_reset(port, count):
    c = Connection(port)
    batch = b""
    for i in range(count):
        stream, headers = c.request("/")
        reset = RstStreamFrame(stream)
        reset.error_code = CANCEL
        batch += headers + reset.serialize()
        if (i + 1) % 100 == 0:
            if not c.send(batch):
                break
            batch = b""
    c.send(batch)
    c.read_to_end()
    return c.report(opened=(c.next_id - 1) // 2)


def continuation(port, count, end=False):
    c = Connection(port)
    # Our SETTINGS ACK must not fall inside the header block.
    c.handshake()
    stream = 1
    first = HeadersFrame(stream)
    first.data = c.encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"), (":path", "/")])
    first.flags.add("END_STREAM")
    frames = first.serialize()
    for i in range(count):
        more = ContinuationFrame(stream)
        more.data = c.encoder.encode([("x-flood-%d" % i, "v" * 100)])
        if end and i == count - 1:
            more.flags.add("END_HEADERS")
        frames += more.serialize()
    c.streams[stream] = {"status": None, "ended": False, "reset": None, "data": 0}
    c.send(frames)
    if end:
        c.read_until(lambda: c.finished(stream))
        return c.report(first=c.outcome(stream))
    c.read_to_end()
    return c.report()


def flood(port, count, kind):
    # A small receive buffer: the answers the client never reads back up into the proxy sooner.
    c = Connection(port, receive_buffer=4096)
    if kind == "settings":
        one = SettingsFrame(0).serialize()
    else:
        ping = PingFrame(0)
        ping.opaque_data = b"12345678"
        one = ping.serialize()
    for start in range(0, count, 1000):
        if not c.send(one * min(1000, count - start)):
            break
    c.read_to_end()
    return c.report()


def big_headers(port, total):
    c = Connection(port)
    fields = [("x-big-%d" % i, "b" * 4000) for i in range((total + 3999) // 4000)]
    stream = c.next_id
    c.next_id += 2
    c.streams[stream] = {"status": None, "ended": False, "reset": None, "data": 0}
    block = c.encoder.encode([(":method", "GET"), (":scheme", "http"), (":authority", "h2.test"), (":path", "/")] + fields)
    pieces = [block[i:i + 16384] for i in range(0, len(block), 16384)]
    frames = b""
    for index, piece in enumerate(pieces):
        frame = HeadersFrame(stream) if index == 0 else ContinuationFrame(stream)
        frame.data = piece
        if index == 0:
            frame.flags.add("END_STREAM")
        if index == len(pieces) - 1:
            frame.flags.add("END_HEADERS")
        frames += frame.serialize()
    c.send(frames)
    c.read_until(lambda: c.finished(stream))
    first = c.outcome(stream)
    second_stream, headers = c.request("/")
    c.send(headers)
    c.read_until(lambda: c.finished(second_stream))
    return c.report(first=first, second=c.outcome(second_stream), fields=len(fields))


def zero_window(port, path):
    c = Connection(port, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0}, timeout=6.0, window_updates=False)
    stream, headers = c.request(path)
    c.send(headers)
    c.read_until(lambda: c.streams[stream]["status"] is not None)
    answered = time.monotonic()
    c.read_to_end()
    state = c.streams[stream]
    return c.report(status=state["status"], data_bytes=state["data"], reset=state["reset"],
                    closed_after=time.monotonic() - answered)


def malformed(port, kind):
    c = Connection(port)
    if kind == "bad-hpack":
        # An indexed field far beyond both tables: COMPRESSION_ERROR.
        c.send(raw_frame(0x1, 0x5, 1, b"\xff\xff\xff\xff\x0f"))
    elif kind == "data-on-zero":
        c.send(raw_frame(0x0, 0x0, 0, b"hello"))
    elif kind == "short-settings":
        c.send(raw_frame(0x4, 0x0, 0, b"\x00\x03\x00\x00\x00"))
    else:
        raise SystemExit("unknown malformed kind " + kind)
    c.read_to_end()
    return c.report()


def upgrade(port, kind):
    c = Connection(port)
    c.encoder = Encoder()
    if kind == "fields":
        fields = [("upgrade", "websocket"), ("connection", "upgrade"), ("sec-websocket-version", "13"),
                  ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]
        stream, headers = c.request("/socket", fields=fields, end_stream=False)
    elif kind == "upgrade-only":
        stream, headers = c.request("/socket", fields=[("upgrade", "websocket"), ("sec-websocket-version", "13")],
                                    end_stream=False)
    elif kind == "connect-protocol":
        pseudo = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                  (":authority", "h2.test"), (":path", "/socket")]
        stream, headers = c.request("/socket", pseudo=pseudo, fields=[("sec-websocket-version", "13")], end_stream=False)
    else:
        raise SystemExit("unknown upgrade kind " + kind)
    payload = DataFrame(stream)
    payload.data = b"through the tunnel?"
    c.send(headers + payload.serialize())
    c.read_until(lambda: c.streams[stream]["status"] is not None or c.streams[stream]["reset"] is not None)
    if c.streams[stream]["reset"] is None and not c.streams[stream]["ended"]:
        # Answered but still open: give it a moment to show whether bytes come back.
        c.sock.settimeout(1.0)
        c.read_until(lambda: c.finished(stream))
        c.closed = None
        c.sock.settimeout(10.0)
        if not c.finished(stream):
            reset = RstStreamFrame(stream)
            reset.error_code = CANCEL
            c.send(reset.serialize())
    first = c.outcome(stream)
    first_data = c.streams[stream]["data"]
    second_stream, get = c.request("/")
    c.send(get)
    c.read_until(lambda: c.finished(second_stream))
    return c.report(first=first, first_data=first_data, second=c.outcome(second_stream))


def sigterm_watch(port, path):
    c = Connection(port, timeout=15.0)
    in_flight = set()
    answered = 0
    announced = False
    first_goaway = None
    late = []
    while True:
        now = time.monotonic()
        if first_goaway is None and c.goaways:
            first_goaway = now
        opening = first_goaway is None or now - first_goaway < 0.2
        if not opening and not in_flight:
            break
        while opening and len(in_flight) < 8:
            stream, headers = c.request(path)
            in_flight.add(stream)
            if first_goaway is not None:
                late.append(stream)
            if not c.send(headers):
                break
        if c.read_frame() is None:
            break
        for stream in [s for s in in_flight if c.finished(s)]:
            in_flight.discard(stream)
            answered += 1
        if not announced and answered >= 8:
            announced = True
            print("RUNNING", file=sys.stderr, flush=True)
        if c.goaways and c.goaways[-1][0] < 2**31 - 1:
            # The final GOAWAY: streams above its last id will never be answered.
            last = c.goaways[-1][0]
            in_flight = {s for s in in_flight if s <= last}
    if c.closed is None:
        c.read_to_end()
    return c.report(late=late, streams={str(k): {"status": v["status"], "ended": v["ended"], "reset": v["reset"]}
                             for k, v in c.streams.items()})


def main():
    case, port = sys.argv[1], int(sys.argv[2])
    args = sys.argv[3:]
    if case == "rapid-reset":
        result = rapid_reset(port, int(args[0]))
    elif case == "continuation":
        result = continuation(port, int(args[0]), end=len(args) > 1 and args[1] == "end")
    elif case == "settings-flood":
        result = flood(port, int(args[0]), "settings")
    elif case == "ping-flood":
        result = flood(port, int(args[0]), "ping")
    elif case == "big-headers":
        result = big_headers(port, int(args[0]))
    elif case == "zero-window":
        result = zero_window(port, args[0])
    elif case == "malformed":
        result = malformed(port, args[0])
    elif case == "upgrade":
        result = upgrade(port, args[0])
    elif case == "sigterm-watch":
        result = sigterm_watch(port, args[0])
    else:
        raise SystemExit("unknown case " + case)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
