# helpers.py - the e2e harness: starts the real hearth binary on an ephemeral loopback port
# with an inline config, talks HTTP/SSE to it, and reads its usage database.
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VALGRIND = os.environ.get("HEARTH_VALGRIND") == "1"
# `make asan`: ASan keeps freed memory in quarantine, so RSS tracks churn, not retention
SANITIZED = os.environ.get("HEARTH_SANITIZED") == "1"
# Everything waits longer when the server runs under valgrind.
SLOW = 8 if VALGRIND else 1
READY_TIMEOUT = 60 if VALGRIND else 10
STOP_TIMEOUT = 10 * (3 if VALGRIND else 1)
HTTP_TIMEOUT = 15 * SLOW

FAKE_KEY = "sk-fake-e2e-7f3c9a1b"  # what the fake provider expects, given via env:FAKE_KEY
PRICE_IN = 1.0    # dollars per million prompt tokens, every model
PRICE_OUT = 2.0   # dollars per million completion tokens, every model

# Configured model name -> (provider id, upstream model = the fake's behaviour).
MODELS = {
    "echo": ("fake", "echo-upstream"),
    "echo-details": ("fake", "echo-details"),
    "no-usage": ("fake", "no-usage"),
    "rate-limited": ("fake", "rate-limited"),
    "server-error": ("fake", "server-error"),
    "bad-request": ("fake", "bad-request"),
    "unauthorized": ("fake", "unauthorized"),
    "slow-headers": ("fake", "slow-headers"),
    "broken-stream": ("fake", "broken-stream"),
    "stall-stream": ("fake", "stall-stream"),
    "slow-stream": ("fake", "slow-stream"),
    "flood-stream": ("fake", "flood-stream"),
    "garbage": ("fake", "garbage"),
    "huge": ("fake", "huge"),
    "tool-call": ("fake", "tool-call"),
    "dead-model": ("dead", "echo-upstream"),
}

COST_RE = re.compile(r"^\d+\.\d+$")


def hearth_bin():
    return Path(os.environ.get("HEARTH_BIN") or REPO / "build" / "hearth")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cost_of(prompt_tokens, completion_tokens, pin=PRICE_IN, pout=PRICE_OUT):
    return prompt_tokens * pin / 1e6 + completion_tokens * pout / 1e6


def assert_cost(actual, expected):
    """Costs are shown rounded to micro-dollars at least; allow that rounding."""
    assert abs(float(actual) - expected) <= 5e-7 + 1e-12, (actual, expected)


# ---- config -----------------------------------------------------------------------------
def _scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for nested dicts of scalars and flat lists."""
    out = []
    pad = "  " * indent
    for k, v in obj.items():
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            out.append("%s%s:" % (pad, k))  # a list of mappings, in flow style
            for x in v:
                out.append("%s  - {%s}" % (pad, ", ".join(
                    "%s: %s" % (kk, _scalar(vv)) for kk, vv in x.items())))
        elif isinstance(v, dict):
            if v:
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            else:
                out.append("%s%s: {}" % (pad, k))
        else:
            out.append("%s%s: %s" % (pad, k, _scalar(v)))
    return "\n".join(out)


def default_config(port, data_dir, fake_url, dead_url):
    providers = {
        "fake": {
            "kind": "openai",
            "base_url": fake_url,
            "api_key": "env:FAKE_KEY",
            "connect_timeout_ms": 500 * SLOW,
            "first_byte_timeout_ms": 1000 * SLOW,
            "idle_timeout_ms": 1000 * SLOW,
            "total_timeout_ms": 10000 * SLOW,
        },
        "dead": {"kind": "openai", "base_url": dead_url, "connect_timeout_ms": 500},
    }
    models = {}
    for name, (prov, upstream) in MODELS.items():
        models[name] = {"provider": prov, "upstream": upstream,
                        "input_price_per_mtok": PRICE_IN, "output_price_per_mtok": PRICE_OUT}
    return {
        "server": {
            "host": "127.0.0.1",
            "port": port,
            "client_timeout_ms": 2000 * SLOW,
            "max_body_bytes": 1048576,
            "max_header_bytes": 8192,
            "shutdown_timeout_ms": 5000 * SLOW,
        },
        "log": {"level": "debug"},
        "storage": {"data_dir": str(data_dir)},
        "limits": {"max_messages": 64},
        "providers": providers,
        "models": models,
    }


def clean_env(extra=None):
    """The environment for hearth: no proxies, no HEARTH_* or provider keys of the caller."""
    env = {}
    for k, v in os.environ.items():
        if k.startswith("HEARTH_") or k in ("OPENAI_API_KEY", "FAKE_KEY"):
            continue
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            continue
        env[k] = v
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["FAKE_KEY"] = FAKE_KEY
    env.update(extra or {})
    return env


# ---- HTTP -------------------------------------------------------------------------------
class Resp:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Resp %s %s>" % (self.status, self.text[:400])


def read_all(r):
    try:
        return r.read()
    except http.client.IncompleteRead as e:
        return e.partial


def encode_body(body):
    if body is None:
        return None, {}
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode(), {"Content-Type": "application/json"}
    if isinstance(body, str):
        return body.encode(), {"Content-Type": "application/json"}
    return body, {"Content-Type": "application/json"}


def http_request(port, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data, hdrs = encode_body(body)
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        payload = read_all(r)
        return Resp(r.status, r.reason, r.headers, payload)
    finally:
        if own:
            conn.close()


class SSE:
    """A parsed event stream: items are ("data", text) and ("comment", text) in order."""

    def __init__(self, text):
        self.raw = text
        self.items = []
        data = []
        for line in text.split("\n"):
            line = line.rstrip("\r")
            if line == "":
                if data:
                    self.items.append(("data", "\n".join(data)))
                    data = []
            elif line.startswith(":"):
                self.items.append(("comment", line[1:].strip()))
            elif line.startswith("data:"):
                v = line[5:]
                data.append(v[1:] if v.startswith(" ") else v)
        if data:
            self.items.append(("data", "\n".join(data)))

    @property
    def datas(self):
        return [v for k, v in self.items if k == "data"]

    @property
    def comments(self):
        return [v for k, v in self.items if k == "comment"]

    @property
    def objects(self):
        return [json.loads(d) for d in self.datas if d != "[DONE]"]

    @property
    def chunks(self):
        return [o for o in self.objects if "error" not in o]

    @property
    def done(self):
        return "[DONE]" in self.datas

    @property
    def error(self):
        errs = [o["error"] for o in self.objects if "error" in o]
        return errs[-1] if errs else None

    def content(self):
        out = []
        for c in self.chunks:
            for ch in c.get("choices") or []:
                piece = (ch.get("delta") or {}).get("content")
                if piece:
                    out.append(piece)
        return "".join(out)

    def finish_reasons(self):
        return [ch.get("finish_reason") for c in self.chunks for ch in c.get("choices") or []
                if ch.get("finish_reason")]

    def usage_chunks(self):
        return [c for c in self.chunks if c.get("choices") == [] and c.get("usage")]

    def cost(self):
        for c in self.comments:
            m = re.match(r"^x-hearth-cost=(\S+)$", c)
            if m:
                return m.group(1)
        return None


def chat_body(model, text="hello there", stream=False, **extra):
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    body.update(extra)
    return body


# ---- the server -------------------------------------------------------------------------
class Hearth:
    """One hearth server process with its own config file and data dir under root."""

    def __init__(self, root, config, env=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.port = config["server"]["port"]
        self.data_dir = Path(config["storage"]["data_dir"])
        self.config_path = self.root / "hearth.yaml"
        self.stderr_path = self.root / "stderr.log"
        self.stdout_path = self.root / "stdout.log"
        self.env = clean_env(env)
        self.proc = None
        self.returncode = None
        self.write_config()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def db_path(self):
        return self.data_dir / "hearth.db"

    @property
    def pid(self):
        return self.proc.pid

    def write_config(self, config=None, text=None):
        if config is not None:
            self.config = config
        self.config_path.write_text(text if text is not None else to_yaml(self.config) + "\n")

    # ---- process ----------------------------------------------------------------------
    def command(self):
        cmd = [str(hearth_bin()), "serve", "--config", str(self.config_path)]
        if VALGRIND:
            vg = ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                  "--error-exitcode=99", "--log-file=%s" % (self.root / "vg.%p")]
            supp = os.environ.get("HEARTH_VALGRIND_SUPP")
            if supp:
                vg.append("--suppressions=%s" % supp)
            cmd = vg + cmd
        return cmd

    def start(self, wait=True):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._err = open(self.stderr_path, "ab")
        self._out = open(self.stdout_path, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=str(self.root), env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err)
        self.returncode = None
        if wait:
            self.wait_ready()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout=READY_TIMEOUT):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("hearth exited with %s before it was ready; stderr:\n%s"
                                     % (self.proc.returncode, self.stderr_tail()))
            try:
                r = http_request(self.port, "GET", "/readyz", timeout=2 * SLOW)
                if r.status == 200:
                    return
                last = r.status
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("hearth not ready after %ss (last: %r); stderr:\n%s"
                             % (timeout, last, self.stderr_tail()))

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.returncode = self.proc.wait()
            self._close_files()
            raise AssertionError("hearth did not exit within %ss of SIGTERM; killed. stderr:\n%s"
                                 % (timeout, self.stderr_tail()))
        self._close_files()
        return self.returncode

    def stop(self, expect_code=0):
        """SIGTERM, wait, then check the exit status and (under valgrind) the leak report."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        code = self.wait_exit()
        problems = []
        if expect_code is not None and code != expect_code:
            problems.append("hearth exited with %s, expected %s" % (code, expect_code))
        if VALGRIND:
            problems += self.valgrind_problems()
        if problems:
            raise AssertionError("; ".join(problems) + "\nstderr:\n" + self.stderr_tail())
        return code

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f and not f.closed:
                f.close()

    def valgrind_problems(self):
        problems = []
        logs = sorted(self.root.glob("vg.*"))
        if not logs:
            return ["no valgrind log in %s" % self.root]
        for log in logs:
            text = log.read_text(errors="replace")
            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
            if not m:
                problems.append("%s: no ERROR SUMMARY (valgrind cut short?)" % log.name)
            elif m.group(1) != "0" or (lost and lost.group(1) != "0"):
                problems.append("%s reports errors or definite leaks:\n%s" % (log.name, text[-6000:]))
        return problems

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self, n=12000):
        t = self.stderr_text()
        return t[-n:]

    # ---- HTTP -------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT, conn=None):
        return http_request(self.port, method, path, body, headers, timeout, conn)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def chat(self, body, headers=None, timeout=HTTP_TIMEOUT, conn=None):
        return self.request("POST", "/v1/chat/completions", body, headers, timeout, conn)

    def stream(self, body, headers=None, timeout=HTTP_TIMEOUT):
        """POSTs a streaming request; returns (Resp, SSE or None when not an event stream)."""
        r = self.chat(body, headers=headers, timeout=timeout)
        sse = None
        if (r.header("Content-Type") or "").startswith("text/event-stream"):
            sse = SSE(r.text)
        return r, sse

    def connect(self, timeout=HTTP_TIMEOUT):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def model_ids(self, headers=None):
        r = self.get("/v1/models", headers=headers)
        assert r.status == 200, r
        return [m["id"] for m in r.json()["data"]]

    # ---- storage ----------------------------------------------------------------------
    def db(self):
        conn = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def rows(self, sql, args=()):
        conn = self.db()
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def record(self, request_id):
        """The usage record for request_id, read once, right now (None if absent)."""
        rows = self.rows("SELECT * FROM usage_records WHERE request_id = ?", (request_id,))
        assert len(rows) <= 1, rows
        return rows[0] if rows else None

    def wait_record(self, request_id, timeout=5):
        end = time.monotonic() + timeout * SLOW
        while True:
            try:
                rec = self.record(request_id)
            except sqlite3.OperationalError:
                rec = None
            if rec is not None or time.monotonic() > end:
                return rec
            time.sleep(0.05)

    # ---- CLI --------------------------------------------------------------------------
    def cli(self, *args, timeout=30 * SLOW, env=None):
        return run_cli(list(args), cwd=self.root, env=clean_env(env), timeout=timeout)


def run_cli(args, cwd=None, env=None, timeout=30):
    return subprocess.run([str(hearth_bin())] + [str(a) for a in args], cwd=cwd,
                          env=env if env is not None else clean_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def wait_until(fn, timeout, interval=0.05):
    """Calls fn until it returns a truthy value or timeout seconds pass; returns the last."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except OSError:
            v = None
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


# ---- raw sockets ------------------------------------------------------------------------
def raw_connect(port, timeout=HTTP_TIMEOUT):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def recv_until_close(s, timeout):
    """Reads until the peer closes (or resets) or timeout; returns (bytes, closed)."""
    s.settimeout(0.2)
    end = time.monotonic() + timeout
    data = b""
    while time.monotonic() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not b:
            return data, True
        data += b
    return data, False


def status_of(raw):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", raw)
    return int(m.group(1)) if m else None


def everything_written(h):
    """All hearth wrote: its log, every row of every table of its database, and the raw bytes
    of every file in its data directory (WAL, pepper), as one text (for checks that a secret
    or a personal value never reached any of them)."""
    parts = [h.stderr_text()]
    for f in sorted(Path(h.data_dir).iterdir()):
        if f.is_file():
            parts.append(f.read_bytes().decode("latin-1"))
    db = sqlite3.connect(str(h.root / "data" / "hearth.db"))
    try:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            parts += [json.dumps(row) for row in db.execute("SELECT * FROM %s" % name)]
    finally:
        db.close()
    return "\n".join(parts)


# ---- a receiver of hearth's own POSTs (alert webhooks, OTLP trace export) -----------------
class PostSink:
    """An HTTP server on loopback that keeps every POST: dicts of path, headers, raw bytes and
    the JSON body; it answers `status` with `{}`. close() stops it."""

    def __init__(self, status=200):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.posts = []
        sink = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.posts.append({"path": self.path, "headers": dict(self.headers),
                                   "raw": raw, "body": json.loads(raw)})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
