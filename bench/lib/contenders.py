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

    def __init__(self, workdir, cpus, workers=1):
        self.dir, self.cpus, self.workers = workdir, cpus, workers
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

    def __init__(self, workdir, cpus, workers, binary):
        self.binary, self.generation = binary, 0
        super().__init__(workdir, cpus, workers)

    def write_config(self):
        backends = "".join(f"      - {{ address: 127.0.0.1:{p} }}\n" for p in UPSTREAM_PORTS)
        self.conf = self.write_file("cutover.yaml", f"""# bench config, generation {self.generation}
workers: {self.workers}
listeners:
  - name: web
    listen: 127.0.0.1:{self.port()}
    protocol: http
    route: app
routes:
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
        self.conf = self.write_file("haproxy.cfg", f"""global
    nbthread {self.workers}
    maxconn {MAX_CONNS}
    ulimit-n {FD_LIMIT}
{strict}    hard-stop-after 10s
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
backend app
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
        location / {{
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
