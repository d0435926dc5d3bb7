#!/usr/bin/env python3
"""A stand-in for systemd's notification socket, for cutover's sd_notify tests. Standard
library only.

    upgrade_notify.py --socket PATH --out FILE

Binds a unix datagram socket at PATH (a leading "@" makes it an abstract name, as NOTIFY_SOCKET
writes it), with SO_PASSCRED so the kernel tells which process sent each datagram, as it tells
systemd. Prints "READY" on stdout once bound; then FILE gets one JSON line per datagram:
  {"pid": SENDER_PID, "us": CLOCK_MONOTONIC_MICROSECONDS_AT_RECEIPT, "message": TEXT}
It exits when its stdin reaches EOF (so it never outlives the test process that started it).
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time


def watch_parent():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    address = "\0" + args.socket[1:] if args.socket.startswith("@") else args.socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind(address)
    threading.Thread(target=watch_parent, daemon=True).start()
    with open(args.out, "a", buffering=1) as out:
        print("READY", flush=True)
        while True:
            data, ancillary, _flags, _address = sock.recvmsg(65536, socket.CMSG_SPACE(12))
            received = time.monotonic_ns() // 1000
            pid = 0
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", payload[:12])[0]
            out.write(json.dumps({"pid": pid, "us": received, "message": data.decode("utf-8", "replace")}) + "\n")


if __name__ == "__main__":
    main()
