"""Opens COUNT keep-alive connections to 127.0.0.1:PORT, sends one GET /small on each and reads
the answer, then keeps them all open and idle. Prints `READY {"open": n, "failed": m}` and holds
the connections until stdin closes (or a line arrives); then closes them and exits.

With --tls the connections speak TLS (a full handshake each, no certificate check: the bench's
certificate is self-signed), for the memory an idle TLS connection costs.

usage: idle_conns.py PORT COUNT [--tls]"""

import asyncio
import json
import resource
import ssl
import sys


async def one(port, sem, conns, failures, tls):
    async with sem:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, ssl=tls), 10)
            writer.write(b"GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await asyncio.wait_for(reader.readexactly(length), 10)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            conns.append((reader, writer))
        except Exception as e:  # noqa: BLE001 - counted, first one reported
            failures.append(repr(e))


async def main(port, count, use_tls):
    tls = None
    if use_tls:
        tls = ssl.create_default_context()
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    sem = asyncio.Semaphore(128)  # few requests in flight: the proxy needs few upstream connections
    conns, failures = [], []
    await asyncio.gather(*(one(port, sem, conns, failures, tls) for _ in range(count)))
    print("READY " + json.dumps({"open": len(conns), "failed": len(failures),
                                 "first_failure": failures[0] if failures else None}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    closed_by_peer = sum(1 for r, _ in conns if r.at_eof())
    for _, w in conns:
        w.close()
    print(json.dumps({"closed_by_peer_while_idle": closed_by_peer}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), "--tls" in sys.argv[3:]))
