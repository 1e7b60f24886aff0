#!/usr/bin/env python3
"""mcp-sandbox benchmark: one command, one table, measured in one run.

Compares, with the same runner images and the same limits:
  docker run --rm (the CLI), the raw Engine API lifecycle (create/attach/start/
  wait/remove with NetworkDisabled, persistent connection), `mcp-sandbox run`,
  and run_code over MCP (first call of a new conversation; follow-up calls).
Variants are interleaved (shuffled each round) so machine noise hits all alike.
Then a concurrency sweep, server RSS, tools/list under wrk and /files download
throughput against cat. Prints a Markdown report; --out also writes it.

Standard library only. Usage: bench/bench.py --bin build/bin/mcp-sandbox [--rounds 30]
"""

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

# runner/container_spec.hpp kBootstrap: the same process tree in every variant.
BOOTSTRAP = ('IFS= read -r t && IFS= read -r n && head -c "$n" > "$0" && { "$@"; s=$?; '
             'printf \'%s %d\\n\' "$t" "$s"; printf \'%s %d\\n\' "$t" "$s" >&2; exit "$s"; }')
PROGRAMS = {"python": "print(1)\n", "typescript": "const n: number = 1;\nconsole.log(n);\n"}
# The server's defaults (server/config/config.hpp RunLimits); the CLI and the raw API get the same.
LIMITS = {"cpus": 0.5, "memory_mb": 256, "pids": 128, "tmp_mb": 64, "nofile": 1024, "file_size_mb": 512}
UID = "1000:1000"
MIB = 1024 * 1024


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def log(message):
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- engine API


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


class Engine:
    """The raw Engine API over one persistent unix-socket connection (per thread)."""

    def __init__(self, socket_path, api="v1.41"):
        self.socket_path = socket_path
        self.api = api
        self.conn = UnixHTTPConnection(socket_path)

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.conn.request(method, f"/{self.api}{path}", body=json.dumps(body) if body is not None else None,
                          headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
        return json.loads(data) if data else None

    def attach(self, container_id):
        """A hijacked attach connection (like the server's), before start."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.socket_path)
        request = (f"POST /{self.api}/containers/{container_id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
                   "Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n")
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError("attach: connection closed")
            head += chunk
        status = head.split(b" ", 2)[1]
        if status not in (b"101", b"200"):
            raise RuntimeError(f"attach: {head[:200]!r}")
        return sock, head.split(b"\r\n\r\n", 1)[1]

    def image_manifest(self, image):
        labels = self.call("GET", f"/images/{image}/json")["Config"]["Labels"]
        return json.loads(labels["io.mcp-sandbox.manifest"])


def create_body(manifest, name_label):
    """The create request our executor sends (runner/container_spec.cpp), minus /data."""
    return {
        "Image": manifest["image"],
        "Cmd": ["/bin/sh", "-c", BOOTSTRAP, "/tmp/" + manifest["file"], *manifest["command"]],
        "User": UID,
        "WorkingDir": "/tmp",
        "Labels": {"io.mcp-sandbox.bench": name_label},
        "OpenStdin": True, "StdinOnce": True, "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
        "NetworkDisabled": True,
        "HostConfig": {
            "NanoCpus": int(LIMITS["cpus"] * 1e9),
            "Memory": LIMITS["memory_mb"] * MIB, "MemorySwap": LIMITS["memory_mb"] * MIB,
            "PidsLimit": LIMITS["pids"], "NetworkMode": "none", "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"], "ReadonlyRootfs": True,
            "Tmpfs": {"/tmp": f"rw,noexec,nosuid,nodev,size={LIMITS['tmp_mb']}m,mode=1777"},
            "Ulimits": [{"Name": "nofile", "Soft": LIMITS["nofile"], "Hard": LIMITS["nofile"]},
                        {"Name": "fsize", "Soft": LIMITS["file_size_mb"] * MIB, "Hard": LIMITS["file_size_mb"] * MIB}],
            "LogConfig": {"Type": "none"},
        },
    }


def framed(code):
    # The end-line token, then the code. The docker CLI and the raw lifecycle read to the end of
    # the stream as an engine client does; only the server ends a run at its end lines.
    data = code.encode()
    return b"bench-end\n" + str(len(data)).encode() + b"\n" + data


def raw_lifecycle(engine, manifest, code, label, timing=None):
    """create -> attach -> start -> deliver code -> read to EOF -> wait -> remove; returns stdout bytes.
    With `timing` (a dict), timing["start_ms"] is the start call alone."""
    created = engine.call("POST", "/containers/create", create_body(manifest, label))
    container_id = created["Id"]
    try:
        sock, rest = engine.attach(container_id)
        try:
            began = time.perf_counter()
            engine.call("POST", f"/containers/{container_id}/start")
            if timing is not None:
                timing["start_ms"] = (time.perf_counter() - began) * 1000.0
            sock.sendall(framed(code))
            sock.shutdown(socket.SHUT_WR)
            out = bytearray(rest)
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                out += chunk
        finally:
            sock.close()
        engine.call("POST", f"/containers/{container_id}/wait?condition=not-running")
        return demux_stdout(bytes(out))
    finally:
        engine.call("DELETE", f"/containers/{container_id}?force=1&v=1")


def demux_stdout(data):
    out, i = b"", 0
    while i + 8 <= len(data):
        stream, size = data[i], struct.unpack(">I", data[i + 4:i + 8])[0]
        if stream == 1:
            out += data[i + 8:i + 8 + size]
        i += 8 + size
    return out


def docker_cli_run(docker, manifest, code):
    cmd = [docker, "run", "--rm", "-i", "--network", "none", "--cpus", str(LIMITS["cpus"]),
           "--memory", f"{LIMITS['memory_mb']}m", "--memory-swap", f"{LIMITS['memory_mb']}m",
           "--pids-limit", str(LIMITS["pids"]), "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
           "--read-only", "--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={LIMITS['tmp_mb']}m,mode=1777",
           "--ulimit", f"nofile={LIMITS['nofile']}:{LIMITS['nofile']}", "--user", UID, "--log-driver", "none",
           "--label", "io.mcp-sandbox.bench=cli",
           manifest["image"], "/bin/sh", "-c", BOOTSTRAP, "/tmp/" + manifest["file"], *manifest["command"]]
    done = subprocess.run(cmd, input=framed(code), capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker run: {done.returncode} {done.stderr[:300]!r}")
    return done.stdout


# --------------------------------------------------------------------------- MCP client


class McpClient:
    """A 2025-06-18 Streamable HTTP session over one keep-alive connection."""

    opened = []  # every client, closed before the server stops (open keep-alive connections delay its exit)

    def __init__(self, port, token):
        McpClient.opened.append(self)
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port)
        self.last_answer = time.monotonic()
        self.session = None
        self.next_id = 1
        init = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                          "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                     "clientInfo": {"name": "bench", "version": "1"}}})
        if "result" not in init:
            raise RuntimeError(f"initialize: {init}")
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def headers(self):
        h = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
             "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}
        if self.session:
            h["Mcp-Session-Id"] = self.session
        return h

    def post(self, message):
        # The server ends a kept-alive connection after 5 s idle; a loaded machine's other variants
        # can take that long between two calls. A client reconnects, and so does this one.
        if time.monotonic() - self.last_answer > 4.0:
            self.conn.close()
        self.conn.request("POST", "/mcp", body=json.dumps(message), headers=self.headers())
        response = self.conn.getresponse()
        data = response.read()
        self.last_answer = time.monotonic()
        if self.session is None:
            self.session = response.getheader("Mcp-Session-Id")
        if not data:
            return {}
        if response.getheader("Content-Type", "").startswith("text/event-stream"):
            for line in reversed(data.decode().splitlines()):
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if "id" in event:
                        return event
            return {}
        return json.loads(data)

    def call(self, name, arguments):
        self.next_id += 1
        answer = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                            "params": {"name": name, "arguments": arguments}})
        result = answer.get("result")
        if not result or result.get("isError"):
            raise RuntimeError(f"{name}: {json.dumps(answer)[:400]}")
        return result["structuredContent"]


class Server:
    def __init__(self, binary, root, extra_env):
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.env = dict(os.environ, FILE_SECRET=secrets.token_hex(24), MCP_API_TOKEN=self.token,
                        SANDBOX_ROOT=root, MCP_HTTP_ADDR=f"127.0.0.1:{self.port}",
                        PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}", LOG_LEVEL="warn",
                        # One token drives every client here: the per-token call budget (300 a
                        # minute by default) would measure the limiter, not the server.
                        RATE_LIMIT_CALLS_PER_MINUTE="0", **extra_env)
        self.process = subprocess.Popen([binary, "serve"], env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def rss_mib(self, field="VmRSS"):
        """VmRSS (now) or VmHWM (the peak so far) in MiB."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def settle(self):
        """Waits until the server is quiet: kept-alive connections end after 5 s idle, and a worker
        thread idle for 5 s more ends and (the last one) returns free heap pages (WorkerPool)."""
        for client in McpClient.opened:
            client.conn.close()
        time.sleep(12)

    def metric(self, name):
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {self.token}"})
        text = conn.getresponse().read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def cpu_seconds(self):
        """User + system CPU time the server process has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def engine_calls(self):
        """Engine API calls so far, by call (mcp_sandbox_engine_calls_total, every error label)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/metrics", headers={"Authorization": f"Bearer {self.token}"})
        calls = {}
        for line in conn.getresponse().read().decode().splitlines():
            match = re.match(r'mcp_sandbox_engine_calls_total\{.*?call="([^"]+)".*\} (\S+)$', line)
            if match:
                calls[match.group(1)] = calls.get(match.group(1), 0.0) + float(match.group(2))
        return calls

    def stop(self):
        for client in McpClient.opened:
            client.conn.close()
        self.process.send_signal(signal.SIGTERM)
        started = time.perf_counter()
        self.process.wait(timeout=180)
        return time.perf_counter() - started


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --------------------------------------------------------------------------- measurements


def new_conversation():
    """An id never used before: without one, a 2025 session would reuse its own conversation."""
    return "bench-" + secrets.token_hex(8)


def timed(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def check_output(out, what):
    if b"1" not in out:
        raise RuntimeError(f"{what}: unexpected output {out!r}")


IDLE_BEFORE_FOLLOW_UP = 1.0  # seconds: an assistant reading the answer before its next call


def latency_table(args, engine, server, manifests):
    client = McpClient(server.port, server.token)
    follow_conv, back_conv, answered = {}, {}, {}
    for language in PROGRAMS:  # conversations per language, existing before measuring
        for convs in (follow_conv, back_conv):
            convs[language] = client.call("run_code", {"language": language, "code": PROGRAMS[language],
                                                       "conversationId": new_conversation()})["conversationId"]
        answered[language] = time.monotonic()
    cli_env = dict(server.env)

    def follow_up(language, code):
        # At least 1 s after this conversation's previous answer (usually more: other variants ran between).
        time.sleep(max(0.0, answered[language] + IDLE_BEFORE_FOLLOW_UP - time.monotonic()))
        took = timed(lambda: client.call("run_code", {"language": language, "code": code,
                                                      "conversationId": follow_conv[language]}))
        answered[language] = time.monotonic()
        return took

    def back_to_back(language, code):
        # A script or agent loop: the measured call is sent the moment the previous answer arrived.
        arguments = {"language": language, "code": code, "conversationId": back_conv[language]}
        client.call("run_code", arguments)
        return timed(lambda: client.call("run_code", arguments))

    def start_alone(manifest, code):
        # The floor of a back-to-back call: its container's start began when the previous call's
        # code was delivered, a few ms before that answer; nothing here makes a start shorter.
        timing = {}
        check_output(raw_lifecycle(engine, manifest, code, "raw", timing), "raw")
        return timing["start_ms"]

    def variants(language):
        manifest, code = manifests[language], PROGRAMS[language]
        return {
            "docker run --rm (CLI)": lambda: timed(lambda: check_output(docker_cli_run(args.docker, manifest, code),
                                                                        "cli")),
            "Engine API lifecycle": lambda: timed(lambda: check_output(raw_lifecycle(engine, manifest, code, "raw"),
                                                                       "raw")),
            "Engine API start alone (created, attached)": lambda: start_alone(manifest, code),
            "mcp-sandbox run": lambda: timed(lambda: check_output(subprocess.run(
                [args.bin, "run", "-l", language, "-"], input=code.encode(), env=cli_env, capture_output=True,
                check=True).stdout, "mcp-sandbox run")),
            "run_code, first call": lambda: timed(lambda: client.call(
                "run_code", {"language": language, "code": code, "conversationId": new_conversation()})),
            "run_code, follow-up after 1 s idle": lambda: follow_up(language, code),
            "run_code, back-to-back": lambda: back_to_back(language, code),
        }

    samples = {}
    jobs = [(language, name, fn) for language in PROGRAMS for name, fn in variants(language).items()]
    for job in jobs:  # one unmeasured warm-up each (page cache, first image use)
        job[2]()
    hits_before = server.metric('mcp_sandbox_warm_claims_total{result="hit"}')
    new_before = server.metric('mcp_sandbox_warm_new_conversations_total{result="hit"}')
    lent_before = server.metric('mcp_sandbox_warm_lent_total')
    for round_index in range(args.rounds):
        random.shuffle(jobs)
        for language, name, fn in jobs:
            samples.setdefault((language, name), []).append(fn())
        if round_index % 10 == 9:
            log(f"  latency round {round_index + 1}/{args.rounds}")
    hits = server.metric('mcp_sandbox_warm_claims_total{result="hit"}') - hits_before
    new_hits = server.metric('mcp_sandbox_warm_new_conversations_total{result="hit"}') - new_before
    lent = server.metric('mcp_sandbox_warm_lent_total') - lent_before
    return samples, hits, new_hits, lent


def sweep(args, server, manifests, concurrency, variant, seconds):
    """`concurrency` clients each running Python back to back for `seconds`; returns (runs/s, latencies).

    The window opens once every client is ready (ours: after its conversation's first, cold call),
    for both variants: counting that set-up inside the window charged ours 1-3 s of cold starts
    per 10 s window at 4-8 clients on a slow machine."""
    latencies, lock, errors = [], threading.Lock(), []
    window = {}

    def open_window():
        window["started"] = time.perf_counter()
        window["stop_at"] = window["started"] + seconds

    ready = threading.Barrier(concurrency, action=open_window)

    def client_loop():
        try:
            if variant == "raw":
                engine = Engine(args.socket)
                fn = lambda: raw_lifecycle(engine, manifests["python"], PROGRAMS["python"], "sweep")
            else:
                client = McpClient(server.port, server.token)
                conv = new_conversation()
                client.call("run_code", {"language": "python", "code": PROGRAMS["python"], "conversationId": conv})
                fn = lambda: client.call("run_code", {"language": "python", "code": PROGRAMS["python"],
                                                      "conversationId": conv})
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
            ready.abort()
            return
        try:
            ready.wait()
            while time.perf_counter() < window["stop_at"]:
                took = timed(fn)
                with lock:
                    latencies.append(took)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=client_loop) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return len(latencies) / (time.perf_counter() - window["started"]), latencies


def wrk_tools_list(server, seconds):
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    client = McpClient(server.port, server.token)
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    headers = client.headers()
    script.write('wrk.method = "POST"\n')
    script.write("wrk.body = '" + json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) + "'\n")
    for key, value in headers.items():
        script.write(f'wrk.headers["{key}"] = "{value}"\n')
    script.close()
    out = subprocess.run([wrk, "-t2", "-c4", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"http://127.0.0.1:{server.port}/mcp"], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)

    def ms(text):
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "errors": int(non2xx.group(1)) if non2xx else 0}


def loopback_tcp_ceiling(path, reads=4 * MIB):
    """MiB/s of the file's bytes over one loopback TCP connection with no HTTP and no process start:
    pread 1 MiB + send on one thread, recv into a 4 MiB buffer on another (best of 5). What any
    download on this machine could reach at most; curl's own reads are smaller."""
    size = os.path.getsize(path)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def send():
            conn, _ = listener.accept()
            with conn, open(path, "rb") as file:
                chunk = bytearray(MIB)
                offset = 0
                while offset < size:
                    n = os.preadv(file.fileno(), [chunk], offset)
                    conn.sendall(memoryview(chunk)[:n])
                    offset += n

        best = 0.0
        for _ in range(5):
            sender = threading.Thread(target=send)
            sender.start()
            with socket.create_connection(listener.getsockname()) as conn:
                buffer = bytearray(reads)
                got = 0
                started = time.perf_counter()
                while n := conn.recv_into(buffer):
                    got += n
                elapsed = time.perf_counter() - started
            sender.join()
            best = max(best, got / MIB / elapsed)
    return best


def download_vs_cat(server, root):
    """MiB/s of a 100 MiB /files download with curl, and of three references on the same file:
    cat to /dev/null (the issue's baseline: a page-cache read, nothing crosses a process), cat
    piped into cat (a copy into another process), and curl from python3's http.server (a plain
    server: a 64 KiB read/write loop, shutil.copyfileobj, not sendfile).

    Each command also runs on an empty file, and its throughput is 100 MiB over the difference of
    the two times (best of 9 each, interleaved): a whole command's time includes its process
    start — curl's is 10-20 ms, a third of the 100 MiB transfer itself, cat's about 1 ms — which
    is not transfer throughput. The whole-command figures are reported too."""
    client = McpClient(server.port, server.token)
    made = client.call("run_code", {"language": "python", "code":
                                    "import os\nwith open('big.bin','wb') as f:\n"
                                    "    for _ in range(100): f.write(os.urandom(1048576))\n"
                                    "open('empty.bin','wb').close()\n"})
    urls = {os.path.basename(f["name"]): f["url"] for f in made["files"]}
    path = subprocess.run(["find", root, "-name", "big.bin"], capture_output=True, text=True).stdout.split()[0]
    empty = os.path.join(os.path.dirname(path), "empty.bin")
    size = os.path.getsize(path)
    port = free_port()
    sendfile_server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                        "--directory", os.path.dirname(path)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def commands(name):
        file = path if name == "big.bin" else empty
        return {
            "download": ["curl", "-sf", "-o", "/dev/null", urls[name]],
            "cat": f"cat '{file}' > /dev/null",
            "pipe": f"cat '{file}' | cat > /dev/null",
            "sendfile": ["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}/{name}"],
        }
    try:
        wait_for_port(port)
        best = {}
        for _ in range(9):  # interleaved, best of 9, page cache warm for all
            for name in ("big.bin", "empty.bin"):
                for what, command in commands(name).items():
                    ms = timed(lambda: subprocess.run(command, shell=isinstance(command, str), check=True))
                    best[(what, name)] = min(best.get((what, name), float("inf")), ms)
    finally:
        sendfile_server.terminate()
        sendfile_server.wait()
    mib = size / MIB
    tcp = loopback_tcp_ceiling(path)
    return {"tcp": {"rate": tcp, "whole": tcp, "start_ms": 0.0}} | {what: {"rate": mib / (max(best[(what, "big.bin")] - best[(what, "empty.bin")], 1e-3) / 1000),
                   "whole": mib / (best[(what, "big.bin")] / 1000),
                   "start_ms": best[(what, "empty.bin")]}
            for what in ("download", "cat", "pipe", "sendfile")}


def run_many(server, total, concurrency=4):
    """`total` successful runs from `concurrency` clients; raises unless every one succeeded
    (a figure "after N runs" must be after N runs)."""
    per_client = total // concurrency
    done = [0] * concurrency
    errors = []

    def loop(index):
        try:
            client = McpClient(server.port, server.token)
            conv = None
            for _ in range(per_client):
                arguments = {"language": "python", "code": PROGRAMS["python"]}
                if conv:
                    arguments["conversationId"] = conv
                conv = client.call("run_code", arguments)["conversationId"]
                done[index] += 1
        except Exception as error:  # reported below, with the count that did run
            errors.append(error)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"only {sum(done)} of {per_client * concurrency} runs succeeded: {errors[0]}")


# --------------------------------------------------------------------------- report


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem = int(info.readline().split()[1]) // 1024
    engine = subprocess.run(["/usr/bin/docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"],
                            capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem} MiB RAM, {platform.system()} {platform.release()}, "
            f"dockerd {engine}, load average at start {load[0]:.1f}")


BEGIN, END = "<!-- bench:begin (written by bench/bench.py) -->", "<!-- bench:end -->"


def write_between_markers(path, text):
    """Replaces the generated part of the document (between the markers), keeping the prose around it."""
    try:
        with open(path) as current:
            document = current.read()
    except FileNotFoundError:
        document = ""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
    else:
        head, tail = document + "\n", "\n"
    with open(path, "w") as out:
        out.write(head + BEGIN + "\n" + text + END + tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default="build/bin/mcp-sandbox")
    parser.add_argument("--docker", default="/usr/bin/docker", help="the docker CLI measured (default Debian's)")
    parser.add_argument("--socket", default="/var/run/docker.sock")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds of the latency table")
    parser.add_argument("--sweep-seconds", type=float, default=10.0)
    parser.add_argument("--rss-runs", type=int, default=1000)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--out", help="also write the report into this Markdown file, between its bench markers")
    args = parser.parse_args()

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    description = machine()
    engine = Engine(args.socket)
    manifests = {language: engine.image_manifest(f"mcp-sandbox/runner-{language}:latest") for language in PROGRAMS}
    root = tempfile.mkdtemp(prefix="mcp-sandbox-bench-")
    os.chmod(root, 0o755)
    server = Server(args.bin, root, {})
    report = []
    try:
        time.sleep(1)
        rss_start = server.rss_mib()
        log(f"latency table: {args.rounds} interleaved rounds")
        samples, hits, new_hits, lent = latency_table(args, engine, server, manifests)

        report.append(f"Measured {started} on {description}. `docker run` is `{args.docker}` "
                      f"({subprocess.run([args.docker, 'version', '--format', '{{.Client.Version}}'], capture_output=True, text=True).stdout.strip()}). "
                      f"Limits for every variant: {LIMITS['cpus']} CPU, {LIMITS['memory_mb']} MiB, no swap, "
                      f"pids {LIMITS['pids']}, no network, read-only root, non-root user. "
                      f"{args.rounds} interleaved rounds; times in ms.\n")
        report.append("| language | variant | p50 | p90 | p99 | p50 / docker run p50 |")
        report.append("|---|---|---:|---:|---:|---:|")
        for language in PROGRAMS:
            base = percentile(samples[(language, "docker run --rm (CLI)")], 50)
            for (lang, name), values in samples.items():
                if lang != language:
                    continue
                p50 = percentile(values, 50)
                report.append(f"| {language} | {name} | {p50:.0f} | {percentile(values, 90):.0f} | "
                              f"{percentile(values, 99):.0f} | {p50 / base:.2f}x |")
        calls = args.rounds * len(PROGRAMS)
        report.append(f"\nWarm hits during the table: {hits:.0f} of {4 * calls} calls of run_code (first calls, "
                      f"follow-ups and both calls of each back-to-back pair); {new_hits:.0f} of {calls} first calls "
                      f"were served by a container started for a new conversation; {lent:.0f} calls (of {2 * calls} "
                      "back-to-back calls) borrowed one because their conversation's own was still starting.\n")

        log("concurrency sweep")
        report.append("| clients | variant | runs/s | p50 | p90 | p99 | ours / raw runs/s |")
        report.append("|---:|---|---:|---:|---:|---:|---:|")
        for concurrency in (1, 2, 4, 8):
            order = ["raw", "ours"] if concurrency % 2 else ["ours", "raw"]
            results = {v: sweep(args, server, manifests, concurrency, v, args.sweep_seconds) for v in order}
            raw_rps = results["raw"][0]
            for variant, label in (("raw", "Engine API lifecycle"), ("ours", "run_code follow-up")):
                rps, lat = results[variant]
                report.append(f"| {concurrency} | {label} | {rps:.1f} | {percentile(lat, 50):.0f} | "
                              f"{percentile(lat, 90):.0f} | {percentile(lat, 99):.0f} | "
                              f"{'' if variant == 'raw' else f'{rps / raw_rps:.0%}'} |")

        log("server figures")
        server.settle()
        rss_idle = server.rss_mib()
        wrk = wrk_tools_list(server, args.wrk_seconds)
        log(f"{args.rss_runs} runs for the RSS figure")
        cpu_before, calls_before = server.cpu_seconds(), server.engine_calls()
        run_many(server, args.rss_runs)
        cpu_per_run = (server.cpu_seconds() - cpu_before) / args.rss_runs * 1000.0
        calls_after = server.engine_calls()
        calls_per_run = {call: (calls_after[call] - calls_before.get(call, 0.0)) / args.rss_runs
                         for call in calls_after}
        server.settle()
        rss_after = server.rss_mib()
        rss_peak = server.rss_mib("VmHWM")
        transfer = download_vs_cat(server, root)
        report.append("")
        report.append("| server figure | value |")
        report.append("|---|---:|")
        report.append(f"| RSS right after start | {rss_start:.1f} MiB |")
        report.append(f"| RSS idle after the table and the sweep | {rss_idle:.1f} MiB |")
        report.append(f"| RSS idle after {args.rss_runs} more runs (4 clients) | {rss_after:.1f} MiB |")
        report.append(f"| RSS peak (VmHWM, under load) | {rss_peak:.1f} MiB |")
        report.append(f"| server CPU per run (user+sys over the {args.rss_runs} runs) | {cpu_per_run:.1f} ms |")
        report.append(f"| engine calls per run (over the {args.rss_runs} runs) | {sum(calls_per_run.values()):.2f}: " +
                      ", ".join(f"{call} {n:.2f}" for call, n in sorted(calls_per_run.items(), key=lambda kv: -kv[1])
                                if n >= 0.005) + " |")
        if wrk:
            report.append(f"| tools/list under wrk (2 threads, 4 connections, {args.wrk_seconds} s) | "
                          f"{wrk['rps']:.0f} req/s, p50 {wrk['p50']:.2f} ms, p99 {wrk['p99']:.2f} ms, "
                          f"{wrk['errors']} non-2xx |")
        else:
            report.append("| tools/list under wrk | wrk not installed (./build.sh bench installs it) |")
        rate = {what: figures["rate"] for what, figures in transfer.items()}
        report.append(f"| /files download, 100 MiB (curl) | {rate['download']:.0f} MiB/s |")
        report.append(f"| cat of the same file to /dev/null | {rate['cat']:.0f} MiB/s |")
        report.append(f"| download / cat | {rate['download'] / rate['cat']:.0%} |")
        report.append(f"| cat piped into cat (a copy into another process) | {rate['pipe']:.0f} MiB/s "
                      f"(download / pipe {rate['download'] / rate['pipe']:.0%}) |")
        report.append(f"| curl from python3 http.server (64 KiB read/write) | {rate['sendfile']:.0f} MiB/s "
                      f"(download / it {rate['download'] / rate['sendfile']:.0%}) |")
        report.append(f"| loopback TCP, no HTTP (one connection, 4 MiB reads) | {rate['tcp']:.0f} MiB/s "
                      f"({rate['tcp'] / rate['cat']:.0%} of cat; download / it {rate['download'] / rate['tcp']:.0%}) |")
        report.append("| whole commands, start-up included (download, cat, pipe, http.server) | " +
                      ", ".join(f"{transfer[w]['whole']:.0f}" for w in ("download", "cat", "pipe", "sendfile")) +
                      " MiB/s; start-up " +
                      ", ".join(f"{transfer[w]['start_ms']:.1f}" for w in ("download", "cat", "pipe", "sendfile")) +
                      " ms |")
    finally:
        stopped_in = server.stop()
        shutil.rmtree(root, ignore_errors=True)
    report.append(f"| server stop (SIGTERM, warm containers removed) | {stopped_in:.1f} s |")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        write_between_markers(args.out, text)


if __name__ == "__main__":
    main()
