"""The processes under test: the upstream app (two nginx instances) and the three proxies, with
equivalent configs. Each one is started pinned (taskset), and knows its processes, its reload and
its stop."""

import os
import resource
import signal
import socket
import subprocess
import time

from measure import descendants

UPSTREAM_PORTS = (18101, 18102)
PORTS = {"direct": UPSTREAM_PORTS[0], "cutover": 18081, "haproxy": 18082, "nginx": 18083}
# The same proxies terminating TLS (same certificate, TLS 1.2-1.3, the same ECDHE+AEAD suites).
TLS_PORTS = {"cutover": 18441, "haproxy": 18442, "nginx": 18443}
# HTTP/2 from clients (issue 17), when a set runs an h2 case: over TLS (ALPN h2,http/1.1, the same
# certificate) and h2c (prior knowledge on a plain listener); upstreams stay HTTP/1.1.
H2_TLS_PORTS = {"cutover": 18451, "haproxy": 18452, "nginx": 18453}
H2C_PORTS = {"cutover": 18091, "haproxy": 18092, "nginx": 18093}
# cutover's suites and groups (Sources/TLS/TLSPolicy.swift), given to HAProxy and nginx too.
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
TLS13_SUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
TLS_GROUPS = "X25519:P-256:P-384"
SMALL_BODY = b"hello from the upstream app\n"
BIG_BODY_SIZE = 64 * 1024
IDLE_TIMEOUT = "60s"
# Client connections each proxy accepts; bounded by the fd limit bench/run could raise to (the
# idle case needs 10,000 plus the upstream side).
FD_LIMIT = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
MAX_CONNS = max(11000, min(40000, FD_LIMIT - 1000))
# HAProxy reserves two fds per connection; where the fd limit cannot be raised that far
# (a container without CAP_SYS_RESOURCE), it must warn instead of refusing to start.
HAPROXY_NO_STRICT_LIMITS = FD_LIMIT < 2 * MAX_CONNS + 100


def make_certificate(workdir, key="rsa2048"):
    """A self-signed certificate for the TLS cases, made with the openssl command (no key lives in
    the repository): bench.crt, bench.key, and bench.pem (both, for HAProxy's `crt`)."""
    folder = os.path.join(workdir, "tls")
    os.makedirs(folder, exist_ok=True)
    crt, pem_key, both = (os.path.join(folder, n) for n in ("bench.crt", "bench.key", "bench.pem"))
    new_key = ["-newkey", "rsa:2048"] if key == "rsa2048" else ["-newkey", "ec", "-pkeyopt",
                                                               "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=bench.test",
                    "-addext", "subjectAltName=DNS:bench.test,IP:127.0.0.1", "-keyout", pem_key,
                    "-out", crt] + new_key, check=True, capture_output=True)
    with open(both, "w") as f:
        f.write(open(crt).read() + open(pem_key).read())
    return {"crt": crt, "key": pem_key, "pem": both}


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Proc:
    """One foreground process tree started under taskset; logs go to a file."""

    name = "proc"

    def __init__(self, workdir, cpus, workers=1, tls=None):
        self.dir, self.cpus, self.workers, self.tls = workdir, cpus, workers, tls
        self.h2 = False  # Stack sets it when the set runs an h2 case: listeners on the H2 ports
        self.p = None
        self.log = os.path.join(workdir, f"{self.name}.log")

    def argv(self):
        raise NotImplementedError

    def port(self):
        return PORTS[self.name]

    def start(self):
        self.write_config()
        self.logf = open(self.log, "ab")
        self.p = subprocess.Popen(["taskset", "-c", self.cpus] + self.argv(),
                                  stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.dir)
        wait_port(self.port())
        if self.tls and self.name in TLS_PORTS:
            wait_port(TLS_PORTS[self.name])
        if self.h2 and self.name in H2C_PORTS:
            wait_port(H2C_PORTS[self.name])
            if self.tls:
                wait_port(H2_TLS_PORTS[self.name])
        self.started = time.time()

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def pids(self):
        return descendants(self.p.pid) if self.alive() else []

    def worker_pid(self):
        """The process that serves traffic (strace target)."""
        pids = self.pids()
        return pids[-1] if len(pids) > 1 else self.p.pid

    def reload(self):
        raise NotImplementedError

    def processes(self):
        """How many processes the tree has when no reload is draining."""
        return 1

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Returns (exit code, seconds to exit); kills the tree when it does not exit in time."""
        if self.p is None:
            return None, 0.0
        t0 = time.time()
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                for pid in self.pids():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.p.wait()
        self.logf.close()
        return self.p.returncode, time.time() - t0

    def write_file(self, name, text):
        path = os.path.join(self.dir, name)
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)  # atomic: a reload never reads half a file
        return path


def nginx_common(workdir, tag):
    temp = os.path.join(workdir, f"{tag}-temp")
    os.makedirs(temp, exist_ok=True)
    paths = "".join(f"    {k}_temp_path {temp}/{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"pid {workdir}/{tag}.pid;\n"
            f"error_log {workdir}/{tag}.error.log warn;\n"
            f"worker_rlimit_nofile {FD_LIMIT};\n"
            f"events {{ worker_connections {MAX_CONNS}; }}\n"), paths


class Upstream(Proc):
    """The app: nginx, one worker, static /small and /64k, keep-alive without a request cap."""

    def __init__(self, workdir, cpus, index):
        self.index = index
        self.name = f"upstream{index}"
        super().__init__(workdir, cpus)

    def port(self):
        return UPSTREAM_PORTS[self.index]

    def write_config(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(www, exist_ok=True)
        os.chmod(self.dir, 0o755)
        with open(os.path.join(www, "small"), "wb") as f:
            f.write(SMALL_BODY)
        with open(os.path.join(www, "64k"), "wb") as f:
            f.write(bytes(i % 251 for i in range(BIG_BODY_SIZE)))
        head, paths = nginx_common(self.dir, self.name)
        self.conf = self.write_file(f"{self.name}.conf", head + f"""worker_processes 1;
http {{
    access_log off;
{paths}    sendfile on;
    tcp_nodelay on;
    open_file_cache max=16;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{self.port()} backlog=4096;
        root {www};
    }}
}}
""")

    def argv(self):
        return ["nginx", "-p", self.dir, "-c", self.conf, "-g", "daemon off;"]


class Cutover(Proc):
    name = "cutover"

    def __init__(self, workdir, cpus, workers, binary, tls=None):
        self.binary, self.generation = binary, 0
        super().__init__(workdir, cpus, workers, tls)

    def write_config(self):
        backends = "".join(f"      - {{ address: 127.0.0.1:{p} }}\n" for p in UPSTREAM_PORTS)
        tls = ""
        if self.tls:
            tls = f"""  - name: web-tls
    listen: 127.0.0.1:{TLS_PORTS[self.name]}
    protocol: http
    route: app
    tls:
      certificates:
        - {{ cert: {self.tls["crt"]}, key: {self.tls["key"]} }}
"""
        if self.h2:
            tls += f"""  - name: h2c
    listen: 127.0.0.1:{H2C_PORTS[self.name]}
    protocol: http
    route: app
    http2: h2c
"""
            if self.tls:
                tls += f"""  - name: h2-tls
    listen: 127.0.0.1:{H2_TLS_PORTS[self.name]}
    protocol: http
    route: app
    http2: true
    tls:
      certificates:
        - {{ cert: {self.tls["crt"]}, key: {self.tls["key"]} }}
"""
        self.conf = self.write_file("cutover.yaml", f"""# bench config, generation {self.generation}
workers: {self.workers}
listeners:
  - name: web
    listen: 127.0.0.1:{self.port()}
    protocol: http
    route: app
{tls}routes:
  app:
    pools: {{ app: 100 }}
pools:
  app:
    balance: round_robin
    backends:
{backends}timeouts:
  connect: 3s
  client_header: 10s
  upstream_response: 60s
  idle: {IDLE_TIMEOUT}
  shutdown: 5s
limits:
  max_connections: {MAX_CONNS}
""")

    def argv(self):
        return [self.binary, "run", "-c", self.conf]

    def reload(self):
        """The documented way: rewrite the config file, then SIGHUP."""
        self.generation += 1
        self.write_config()
        self.p.send_signal(signal.SIGHUP)


class HAProxy(Proc):
    name = "haproxy"

    def write_config(self):
        servers = "".join(f"    server s{i} 127.0.0.1:{p}\n" for i, p in enumerate(UPSTREAM_PORTS))
        strict = "    no strict-limits\n" if HAPROXY_NO_STRICT_LIMITS else ""
        tls_global = tls_frontend = ""
        if self.tls:
            tls_global = (f"    ssl-default-bind-options ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3\n"
                          f"    ssl-default-bind-ciphers {TLS12_CIPHERS}\n"
                          f"    ssl-default-bind-ciphersuites {TLS13_SUITES}\n"
                          f"    ssl-default-bind-curves {TLS_GROUPS}\n")
            tls_frontend = (f"frontend web-tls\n"
                            f"    bind 127.0.0.1:{TLS_PORTS[self.name]} ssl crt {self.tls['pem']} alpn http/1.1\n"
                            f"    default_backend app\n")
        if self.h2:
            tls_frontend += (f"frontend h2c\n"
                             f"    bind 127.0.0.1:{H2C_PORTS[self.name]} proto h2\n"
                             f"    default_backend app\n")
            if self.tls:
                tls_frontend += (f"frontend h2-tls\n"
                                 f"    bind 127.0.0.1:{H2_TLS_PORTS[self.name]} ssl crt {self.tls['pem']} alpn h2,http/1.1\n"
                                 f"    default_backend app\n")
        self.conf = self.write_file("haproxy.cfg", f"""global
    nbthread {self.workers}
    maxconn {MAX_CONNS}
    ulimit-n {FD_LIMIT}
{strict}{tls_global}    hard-stop-after 10s
    stats socket {self.dir}/haproxy.sock mode 600 level admin expose-fd listeners
defaults
    mode http
    maxconn {MAX_CONNS}
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive {IDLE_TIMEOUT}
    option forwardfor
    http-reuse always
frontend web
    bind 127.0.0.1:{self.port()}
    default_backend app
{tls_frontend}backend app
    balance roundrobin
{servers}""")

    def argv(self):
        # -W: master-worker (reload = SIGUSR2 to the master, listeners handed over), -db: foreground
        return ["haproxy", "-W", "-db", "-f", self.conf]

    def reload(self):
        self.p.send_signal(signal.SIGUSR2)

    def processes(self):
        return 2  # master + one worker (nbthread threads)


class NginxProxy(Proc):
    name = "nginx"

    def write_config(self):
        head, paths = nginx_common(self.dir, "nginx-proxy")
        servers = "".join(f"        server 127.0.0.1:{p};\n" for p in UPSTREAM_PORTS)
        tls = ""
        if self.tls:
            tls = f"""        listen 127.0.0.1:{TLS_PORTS[self.name]} ssl reuseport backlog=4096;
        ssl_certificate {self.tls["crt"]};
        ssl_certificate_key {self.tls["key"]};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {TLS12_CIPHERS};
        ssl_conf_command Ciphersuites {TLS13_SUITES};
        ssl_ecdh_curve {TLS_GROUPS};
        ssl_prefer_server_ciphers on;
        ssl_session_cache shared:SSL:10m;
"""
        if self.h2:
            tls = f"        listen 127.0.0.1:{H2C_PORTS[self.name]} http2 reuseport backlog=4096;\n" + tls
            if self.tls:
                tls = f"        listen 127.0.0.1:{H2_TLS_PORTS[self.name]} ssl http2 reuseport backlog=4096;\n" + tls
        self.conf = self.write_file("nginx-proxy.conf", head + f"""worker_processes {self.workers};
http {{
    access_log off;
{paths}    keepalive_timeout {IDLE_TIMEOUT};
    keepalive_requests 100000000;
    upstream app {{
{servers}        keepalive 1024;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{self.port()} reuseport backlog=4096;
{tls}        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffer_size 16k;
            proxy_buffers 8 16k;
            proxy_max_temp_file_size 0;
        }}
    }}
}}
""")

    def argv(self):
        return ["nginx", "-p", self.dir, "-c", self.conf, "-g", "daemon off;"]

    def reload(self):
        self.p.send_signal(signal.SIGHUP)  # what `nginx -s reload` sends to the master

    def processes(self):
        return 1 + self.workers
