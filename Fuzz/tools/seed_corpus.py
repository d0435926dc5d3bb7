#!/usr/bin/env python3
"""Regenerates the seed corpora in Fuzz/corpus/ from the unit tests' inputs and conf/*.yaml.

Run from the repository root: python3 Fuzz/tools/seed_corpus.py
Seeds are named by the SHA-1 of their content (as libFuzzer names its own), so re-running is
idempotent and hand-added seeds are kept.
"""
import hashlib, os, re, glob, json

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "Fuzz", "corpus")

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')

def unescape(s):
    if "\\(" in s:
        # Interpolations: keep the literal parts only.
        s = re.sub(r'\\\([^)]*\)', '', s)
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u" and s[i + 2:i + 3] == "{":
                j = s.index("}", i)
                out += chr(int(s[i + 3:j], 16)).encode()
                i = j + 1
                continue
            out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\", '"': b'"', "'": b"'"}.get(n, n.encode())
            i += 2
            continue
        out += c.encode()
        i += 1
    return bytes(out)

def literals(paths):
    for path in paths:
        text = open(path, encoding="utf-8").read()
        for m in LITERAL.finditer(text):
            raw = m.group(1)
            if "\\r" in raw or "\\n" in raw:
                yield unescape(raw)

def write(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

METHOD = re.compile(rb'^(\r\n)?[!#$%&\'*+.^_`|~0-9A-Za-z-]+ ')

def main():
    tests = os.path.join(ROOT, "Tests", "HTTP1Tests")
    req_files = sorted(glob.glob(os.path.join(tests, "Request*.swift")) + [os.path.join(tests, "FieldLookupTests.swift"), os.path.join(tests, "SerializerTests.swift")])
    requests = set()
    for lit in literals(req_files):
        if lit.startswith(b"HTTP/"):
            continue
        if METHOD.match(lit) and b" HTTP/" in lit.split(b"\n")[0] + b" HTTP/":
            requests.add(lit if lit.endswith(b"\r\n\r\n") else lit + b"Host: a\r\n\r\n")
        else:
            # A field-line fragment: wrap it in a request.
            requests.add(b"GET / HTTP/1.1\r\nHost: a\r\n" + lit + b"\r\n")
    requests |= {
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\r\nPOST /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Drop\r\nX-Drop: 1\r\n\r\n",
        b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
        b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3, 3\r\n\r\nabc",
    }
    for r in requests:
        write("request-head", r)

    responses = set()
    for lit in literals([os.path.join(tests, "ResponseParserTests.swift"), os.path.join(tests, "SerializerTests.swift")]):
        if lit.startswith(b"HTTP/"):
            base = lit if lit.endswith(b"\r\n\r\n") else lit + b"\r\n"
        elif METHOD.match(lit):
            continue
        else:
            base = b"HTTP/1.1 200 OK\r\n" + lit + b"\r\n"
        responses.add(b"\x00" + base)
    responses |= {b"\x01HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"\x00HTTP/1.0 101 Switching\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
                  b"\x00HTTP/1.1 200\r\nTransfer-Encoding: gzip\r\nConnection: close, X-A\r\nX-A: b\r\n\r\n"}
    for r in responses:
        write("response-head", r)

    for lit in literals([os.path.join(tests, "ChunkedDecoderTests.swift")]):
        if METHOD.match(lit):
            continue
        write("chunked", b"\x00\x00" + lit)
        write("chunked", b"\x07\x03" + lit)

    for path in sorted(glob.glob(os.path.join(ROOT, "conf", "*.yaml"))):
        write("config", open(path, "rb").read())
    for path in sorted(glob.glob(os.path.join(ROOT, "Tests", "ConfigTests", "*.swift"))):
        text = open(path, encoding="utf-8").read()
        # Multi-line string literals hold the YAML documents.
        for m in re.finditer(r'"""\n(.*?)\n\s*"""', text, re.S):
            body = m.group(1)
            if "\\(" in body:
                continue
            indent = min((len(l) - len(l.lstrip()) for l in body.splitlines() if l.strip()), default=0)
            doc = "\n".join(l[indent:] for l in body.splitlines()) + "\n"
            write("config", doc.encode())

    # access-log: flags, 16 address bytes, port, 7 numbers, 5 lengths, then the strings.
    import struct
    def entry(flags, addr, port, nums, method, target, route, pool, backend):
        target = target + b"\0" * (-len(target) % 16)
        return (bytes([flags]) + addr.ljust(16, b"\0") + struct.pack(">H", port) + b"".join(struct.pack(">Q", n) for n in nums)
                + bytes([len(method), len(target) // 16, len(route), len(pool), len(backend)]) + method + target + route + pool + backend)
    nums = [1777629600123000000, 200, 78, 162, 412000, 301000, 1]
    write("access-log", entry(0, bytes([127, 0, 0, 1]), 50432, nums, b"GET", b"/", b"app", b"blue", b"127.0.0.1:9001"))
    write("access-log", entry(1, bytes(15) + b"\1", 443, nums, b"POST", b"/caf\xc3\xa9?q=\"x\"\\", b"r", b"green", b"[::1]:9002"))
    write("access-log", entry(30, bytes([10, 0, 0, 255]), 1, [0, 2**63, 0, 2**64 - 1, 999, 0, 2**64 - 1], b"G\x00T", b"/\xff\xed\xa0\x80\xf4\x90\x80\x80\x7f\x1b", b"", b"", b""))
    write("access-log", entry(0xE0, bytes([192, 0, 2, 1]), 8080, nums, b"PATCH", b"/\xf0\x9f\x98\x80/x", b"a", b"b", b"c"))

    # admin-request: what clients send the admin API, pipelined and not.
    admin = [
        b"GET /status HTTP/1.1\r\nHost: localhost:9901\r\nAuthorization: Bearer s3cret\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nHEAD /ready HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"POST /reload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        b"POST /backends/blue/127.0.0.1:9001?op=drain&now=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        b"POST /rollouts/app?action=pause&reason=a+b%20c%zz HTTP/1.0\r\n\r\n",
        b"POST /upgrade?binary=%2Fusr%2Fbin%2Fcutover&grace=30s#frag HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET /metrics?a=1&a=2&&=x&b HTTP/1.1\r\nHost: a\r\nauthorization:   bearer  t  \r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999\r\n\r\n",
    ]
    for a in admin:
        write("admin-request", a)

if __name__ == "__main__":
    main()
