# base.py - what every fake provider shares: the threaded loopback server, request recording,
# stream plumbing (chunked writes, peer-gone detection, deliberate cuts) and the common scripts.
"""Shared machinery of the fake providers.

A fake is a FakeServer subclass with a Handler (a BaseHandler subclass). The handler turns a
request into a View (what the scripts need to know about it, in any wire format), asks
plan_for(behaviour, view) what to answer, and renders the Plan or the error in its own format.

Common behaviours (the same names in every fake; a fake may add its own):
  echo            "echo: <last user text>"; usage counts words; streams word by word
  usage-details   as echo, usage also reports cached (2) and reasoning/thinking (3) tokens
                  where the format has them
  no-usage        as echo, without usage where the format allows it
  tool-call       with a tool result last: "tool said: <result text>"; otherwise a call of
                  the first declared tool with TOOL_ARGS_OBJ, streamed in pieces where the
                  format streams arguments
  parallel-tools  as tool-call but two calls, locations "Paris, France" and "Tokyo, Japan"
  echo-split      as echo, streamed ECHO_SPLIT characters at a time (placeholders such as
                  "[EMAIL_1]" arrive cut across deltas)
  tool-echo       with a tool result last: "tool said: <result text>"; otherwise a call of
                  the first declared tool with {"text": <last user text>}
  json            {"format": "<what the request asked for>"} (each fake says how it names it)
  image           "image: <n> parts: <url=<url> | <mime>;<decoded bytes>, ...>"
  max-tokens      the echo cut to the request's max tokens (4 words when absent), stopped
                  for length
  stop-sequence   the echo's first two words, stopped by the request's first stop sequence
  error-400 error-401 error-403 error-404 error-429 (Retry-After: 7) error-500 error-503
  error-529       Anthropic's overloaded_error; the others answer 503
  broken-stream   two text deltas, then the socket is cut (no final event)
  stream-error    two text deltas, then the format's in-stream error event
  stall-stream    one delta, a STALL_S pause, then the rest
  slow-headers    waits SLOW_HEADERS_S before answering like echo
  empty           a successful answer with empty text, a normal stop and usage (0 completion
                  tokens); streams carry no text pieces
  refusal         the provider's own refusal (plan finish "refusal", text REFUSAL_TEXT):
                  OpenAI message.refusal with content null (streams: delta.refusal pieces),
                  finish "stop"; Anthropic stop_reason "refusal" with no content blocks;
                  Gemini a candidate stopped by SAFETY without content; Ollama, which has no
                  refusal field, REFUSAL_TEXT as ordinary text with done_reason "stop"
  not-json        NOT_JSON_TEXT (invalid JSON), whatever format the request asked for
  hold            waits HOLD_S before answering like echo: keeps a model busy
  hold-max        waits HOLD_S before answering like max-tokens
  weak            "weak: <last user text>": a stand-in for a small model, told apart by the
                  judge below
  judge           a judge of hearth's shadow evaluation: reads "[Request]", "[Answer A]"
                  and "[Answer B]" from the last user text and answers {"a": n, "b": n},
                  JUDGE_LOW for an answer from weak to a request containing "hard", else
                  JUDGE_HIGH; with one "[Answer]" (the cascade's judged check) it answers
                  {"score": n} by the same rule
  flaky           every second chat request to this behaviour on this fake instance (the 2nd,
                  4th, ...; a counter per fake, under a lock) answers 500 in the format's
                  error shape, the others like echo: it fails exactly half its requests
"""

import base64
import hashlib
import json
import os
import random
import select
import socket
import string
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

BAD_REQUEST_MESSAGE = "fake provider refuses this request: zebra-quartz-42"
RETRY_AFTER = "7"
# Delays that must outlast hearth's configured timeouts, which the suite stretches when the
# server runs under valgrind (see helpers.SLOW).
_SCALE = 8 if os.environ.get("HEARTH_VALGRIND") == "1" else 1
SLOW_HEADERS_S = 3.0 * _SCALE
STALL_S = 5.0 * _SCALE
HOLD_S = 1.0 * _SCALE
REFUSAL_TEXT = "I'm sorry, but I can't help with that."
NOT_JSON_TEXT = 'Sure! Here it is: {"answer": 42'
JUDGE_LOW, JUDGE_HIGH = 2, 9
TOOL_ARGS_OBJ = {"location": "Paris, France", "unit": "celsius"}
TOOL_ARGS = json.dumps(TOOL_ARGS_OBJ)
PARALLEL_LOCATIONS = ("Paris, France", "Tokyo, Japan")
DEFAULT_TOOL = "get_weather"  # called when the request declares no tool
TOOL_CALL_TOKENS = 18  # completion tokens reported per tool call
DETAIL_CACHED = 2
DETAIL_REASONING = 3
MAX_TOKENS_DEFAULT = 4
EMBED_DIM = 8
ERROR_STATUSES = (400, 401, 403, 404, 429, 500, 503, 529)


def rand_id(n, alphabet=string.ascii_letters + string.digits):
    return "".join(random.choice(alphabet) for _ in range(n))


def count_words(text):
    return len(text.split())


def words_to_pieces(text):
    """Stream pieces of text, word by word: "a b c" -> ["a", " b", " c"]."""
    words = text.split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def embedding(text, dim=EMBED_DIM):
    """A deterministic unit-ish vector for text: the same text gives the same floats."""
    out = []
    i = 0
    while len(out) < dim:
        h = hashlib.sha256(("%d:%s" % (i, text)).encode()).digest()
        for k in range(0, len(h), 4):
            if len(out) == dim:
                break
            v = struct.unpack(">I", h[k:k + 4])[0] / 0xFFFFFFFF * 2 - 1
            out.append(round(v, 6))
        i += 1
    return out


def sniff_mime(data):
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def b64_len(data):
    """Length of the decoded base64 text data, or -1 when it is not valid base64."""
    try:
        return len(base64.b64decode(data, validate=True))
    except (ValueError, TypeError):
        return -1


def describe_url(url):
    """url=<url> for a link; <mime>;<bytes> for a data: URL."""
    if isinstance(url, str) and url.startswith("data:") and "," in url:
        head, data = url[5:].split(",", 1)
        mime = head.split(";")[0] or "text/plain"
        if head.endswith(";base64"):
            return "%s;%d" % (mime, b64_len(data))
        return "%s;%d" % (mime, len(unquote(data).encode()))
    return "url=%s" % url


def describe_inline(mime, data):
    return "%s;%d" % (mime, b64_len(data))


# ---- what a script needs to know about a request ------------------------------------------
class View:
    """A request seen from the scripts; each fake fills it from its own wire format."""

    def __init__(self, *, stream=False, prompt_words=0, last_user_text="", tool_result=None,
                 tool_names=(), images=(), format_asked="none", max_tokens=None,
                 stop_sequences=(), model=""):
        self.stream = stream
        self.prompt_words = prompt_words
        self.last_user_text = last_user_text
        self.tool_result = tool_result  # text of the last tool result when it is last
        self.tool_names = list(tool_names)
        self.images = list(images)
        self.format_asked = format_asked
        self.max_tokens = max_tokens
        self.stop_sequences = list(stop_sequences)
        self.model = model


class Plan:
    """What to answer: text or tool calls, how it stops, and how the stream misbehaves."""

    def __init__(self, text=None, calls=None, finish="stop", usage=True, details=False,
                 pieces=None, cut_after=None, stall_after=None, error_after=None,
                 stop_sequence=None, completion_tokens=None, gap=0.0, record_chunks=True):
        self.text = text
        self.calls = calls or []  # [(name, args dict)]
        self.finish = finish  # stop | length | tool | stop_sequence | refusal
        self.usage = usage
        self.details = details
        self.pieces = pieces
        self.cut_after = cut_after
        self.stall_after = stall_after
        self.error_after = error_after
        self.stop_sequence = stop_sequence
        self._completion = completion_tokens
        self.gap = gap  # seconds between stream pieces
        self.record_chunks = record_chunks  # False: keep the pieces out of rec["sent"]

    @property
    def completion_tokens(self):
        if self._completion is not None:
            return self._completion
        if self.calls:
            return TOOL_CALL_TOKENS * len(self.calls)
        return count_words(self.text or "")

    def stream_pieces(self):
        if self.pieces is not None:
            return list(self.pieces)
        return words_to_pieces(self.text or "")


class ErrorPlan:
    def __init__(self, status):
        self.status = status


class Delay:
    """Wait seconds (SLOW_HEADERS_S unless given), then answer with plan."""

    def __init__(self, plan, seconds=None):
        self.plan = plan
        self.seconds = SLOW_HEADERS_S if seconds is None else seconds


class Alternate:
    """Answer with ok, but with ErrorPlan(status) on every second request the fake gets for
    key: the fake's counter decides, so the choice is made in run_plan, not in the script."""

    def __init__(self, key, ok, status=500):
        self.key = key
        self.ok = ok
        self.status = status


def _echo(view):
    return "echo: " + view.last_user_text


def _judge(view):
    text = view.last_user_text
    if "\n\n[Answer]\n" in text:  # the cascade's check of one answer: {"score": n}
        request, answer = text.split("[Request]\n", 1)[-1].split("\n\n[Answer]\n", 1)
        low = answer.startswith("weak:") and "hard" in request
        return Plan(text=json.dumps({"score": JUDGE_LOW if low else JUDGE_HIGH}))
    try:
        request = text.split("[Request]\n", 1)[1].split("\n\n[Answer A]\n", 1)[0]
        a = text.split("[Answer A]\n", 1)[1].split("\n\n[Answer B]\n", 1)[0]
        b = text.split("[Answer B]\n", 1)[1]
    except IndexError:
        return Plan(text="I cannot judge this.")

    def score(answer):
        return JUDGE_LOW if answer.startswith("weak:") and "hard" in request else JUDGE_HIGH
    return Plan(text=json.dumps({"a": score(a), "b": score(b)}))


def _tools(view, locations):
    if view.tool_result is not None:
        return Plan(text="tool said: " + view.tool_result)
    name = view.tool_names[0] if view.tool_names else DEFAULT_TOOL
    calls = []
    for loc in locations:
        args = dict(TOOL_ARGS_OBJ)
        args["location"] = loc
        calls.append((name, args))
    return Plan(calls=calls, finish="tool")


ECHO_SPLIT = 3


def _echo_split(view):
    text = _echo(view)
    return Plan(text=text, pieces=[text[i:i + ECHO_SPLIT] for i in range(0, len(text),
                                                                          ECHO_SPLIT)])


def _tool_echo(view):
    if view.tool_result is not None:
        return Plan(text="tool said: " + view.tool_result)
    name = view.tool_names[0] if view.tool_names else DEFAULT_TOOL
    return Plan(calls=[(name, {"text": view.last_user_text})], finish="tool")


def _max_tokens(view):
    words = _echo(view).split(" ")
    n = view.max_tokens if isinstance(view.max_tokens, int) and view.max_tokens > 0 \
        else MAX_TOKENS_DEFAULT
    return Plan(text=" ".join(words[:n]), finish="length")


def _stop_sequence(view):
    seq = view.stop_sequences[0] if view.stop_sequences else None
    text = " ".join(_echo(view).split(" ")[:2])
    return Plan(text=text, finish="stop_sequence" if seq else "stop", stop_sequence=seq)


def _image(view):
    return Plan(text="image: %d parts: %s" % (len(view.images), ", ".join(view.images)))


COMMON = {
    "echo": lambda v: Plan(text=_echo(v)),
    "usage-details": lambda v: Plan(text=_echo(v), details=True),
    "no-usage": lambda v: Plan(text=_echo(v), usage=False),
    "tool-call": lambda v: _tools(v, PARALLEL_LOCATIONS[:1]),
    "parallel-tools": lambda v: _tools(v, PARALLEL_LOCATIONS),
    "echo-split": _echo_split,
    "tool-echo": _tool_echo,
    "json": lambda v: Plan(text=json.dumps({"format": v.format_asked})),
    "image": _image,
    "max-tokens": _max_tokens,
    "stop-sequence": _stop_sequence,
    "broken-stream": lambda v: Plan(text=_echo(v)) if not v.stream else Plan(
        text="partial answer, then", pieces=["partial answer,", " then"], cut_after=2),
    "stream-error": lambda v: Plan(text=_echo(v)) if not v.stream else Plan(
        text="partial answer, then", pieces=["partial answer,", " then"], error_after=2),
    "stall-stream": lambda v: Plan(text=_echo(v)) if not v.stream else Plan(
        text="first second third", pieces=["first", " second", " third"], stall_after=1),
    "slow-headers": lambda v: Delay(Plan(text=_echo(v))),
    # pieces=[]: a stream of no text deltas, rather than one empty delta
    "empty": lambda v: Plan(text="", pieces=[]),
    "refusal": lambda v: Plan(text=REFUSAL_TEXT, finish="refusal"),
    "not-json": lambda v: Plan(text=NOT_JSON_TEXT),
    "hold": lambda v: Delay(Plan(text=_echo(v)), HOLD_S),
    "hold-max": lambda v: Delay(_max_tokens(v), HOLD_S),
    "flaky": lambda v: Alternate("flaky", Plan(text=_echo(v))),
    "weak": lambda v: Plan(text="weak: " + v.last_user_text),
    "judge": _judge,
}
for _status in ERROR_STATUSES:
    COMMON["error-%d" % _status] = (lambda s: lambda v: ErrorPlan(s))(_status)


def plan_for(behaviour, view, extra=None):
    """The Plan, ErrorPlan or Delay for behaviour; None when the name is unknown."""
    fn = (extra or {}).get(behaviour) or COMMON.get(behaviour)
    return fn(view) if fn else None


# ---- HTTP plumbing ------------------------------------------------------------------------
class PeerGone(Exception):
    pass


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake/1.0"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def setup(self):
        super().setup()
        # small writes (headers, then each event) must not wait for delayed ACKs
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def fake(self):
        return self.server.fake

    # ---- reading ----------------------------------------------------------------------
    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    @property
    def url_path(self):
        return unquote(urlsplit(self.path).path)

    @property
    def query(self):
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def peer_closed(self):
        """True when the client has closed its side (readable with EOF)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # ---- writing ----------------------------------------------------------------------
    def extra_headers(self):
        """Headers the real provider puts on every answer."""
        return {}

    def write(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as e:
            raise PeerGone() from e

    def send_raw(self, status, data, ctype, extra_headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in self.extra_headers().items():
            self.send_header(k, v)
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.write(data)

    def send_json(self, rec, status, obj, extra_headers=None,
                  ctype="application/json"):
        data = json.dumps(obj).encode()
        if rec is not None:  # before sending: the client may look at once
            rec["status"] = status
            rec["response"] = obj
            rec["response_raw"] = data
        self.send_raw(status, data, ctype, extra_headers)
        return data

    def start_stream(self, rec, ctype, extra_headers=None):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for k, v in self.extra_headers().items():
            self.send_header(k, v)
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if rec is not None:
            rec["status"] = 200
        try:
            self.wfile.flush()
        except OSError as e:
            raise PeerGone() from e

    def chunk(self, payload):
        """Writes one HTTP chunk holding payload (bytes)."""
        if self.peer_closed():
            raise PeerGone()
        self.write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def end_chunks(self):
        self.write(b"0\r\n\r\n")

    def cut(self):
        """Closes the socket in the middle of an answer, on purpose."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return "cut"

    def sleep(self, seconds):
        """Sleeps unless the fake is being shut down; True when it was."""
        return self.fake.stopping.wait(seconds)

    def stream_gap(self, plan, i):
        """Before piece i (0-based) is written: the plan's pause between pieces."""
        if i and plan.gap and self.sleep(plan.gap):
            raise PeerGone()

    def stream_pace(self, plan, i):
        """After piece i (0-based) was written: cut, stall or go on. Returns "cut" or None."""
        if plan.cut_after is not None and i + 1 == plan.cut_after:
            return self.cut()
        if plan.stall_after is not None and i + 1 == plan.stall_after:
            if self.sleep(STALL_S):
                raise PeerGone()
        return None

    # ---- dispatch ---------------------------------------------------------------------
    def handle_request(self, method, rec, body):
        """Answers the request; returns the outcome (None means "completed")."""
        raise NotImplementedError

    def behaviour_of(self, body):
        return body.get("model") if isinstance(body, dict) else None

    def _dispatch(self, method, with_body):
        raw = self.read_body() if with_body else b""
        body = None
        parse_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                parse_error = True
        rec = self.fake._record(self, body, raw, self.behaviour_of(body))
        rec["parse_error"] = parse_error
        outcome = "completed"
        try:
            outcome = self.handle_request(method, rec, body) or "completed"
        except PeerGone:
            outcome = "aborted"
            self.close_connection = True
        self.fake._finish(rec, outcome)

    def run_plan(self, rec, plan, render, on_error):
        """render(plan) for a Plan, on_error(status) for an ErrorPlan, after the wait of a
        Delay, and either of them for an Alternate; returns the outcome."""
        if isinstance(plan, Alternate):
            plan = plan.ok if self.fake.count(plan.key) % 2 else ErrorPlan(plan.status)
        if isinstance(plan, Delay):
            if self.sleep(plan.seconds) or self.peer_closed():
                return "aborted"
            plan = plan.plan
        if isinstance(plan, ErrorPlan):
            return on_error(plan.status)
        return render(plan)

    def do_GET(self):
        self._dispatch("GET", False)

    def do_POST(self):
        self._dispatch("POST", True)

    def do_DELETE(self):
        self._dispatch("DELETE", True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # listen backlog: hearth may open hundreds of upstream connections at once (a load test),
    # and the default of 5 would refuse some; the kernel caps it at net.core.somaxconn
    request_queue_size = 1024
    allow_reuse_address = True


class FakeServer:
    """A fake provider. start() binds 127.0.0.1:0; base_url is what a config points at."""

    handler = BaseHandler
    base_path = ""

    def __init__(self):
        self.requests = []
        self.stopping = threading.Event()
        self._lock = threading.Condition()
        self._counts = {}  # Alternate key -> requests seen, on this instance
        self._srv = None
        self._thread = None

    def start(self):
        self._srv = _Server(("127.0.0.1", 0), self.handler)
        self._srv.fake = self
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._srv.server_address[1]

    @property
    def root_url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def base_url(self):
        return self.root_url + self.base_path

    def close(self):
        self.stopping.set()
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # ---- recording --------------------------------------------------------------------
    def _record(self, handler, body, raw, behaviour):
        rec = {
            "method": handler.command,
            "path": handler.path,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": body if isinstance(body, dict) else None,
            "raw": raw,
            "behaviour": behaviour,
            "peer_port": handler.client_address[1],  # same port = a reused connection
            "status": None,
            "outcome": None,
            "sent": [],
            "response": None,
            "t": time.time(),
        }
        with self._lock:
            self.requests.append(rec)
            self._lock.notify_all()
        return rec

    def count(self, key):
        """Counts one more request for key; returns the new count (1 for the first)."""
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def _finish(self, rec, outcome):
        with self._lock:
            rec["outcome"] = outcome
            self._lock.notify_all()

    def requests_to(self, path_part, behaviour=None, method="POST"):
        """Recorded requests whose path contains path_part (and behaviour, if given)."""
        with self._lock:
            return [r for r in self.requests
                    if r["method"] == method and path_part in r["path"]
                    and (behaviour is None or r["behaviour"] == behaviour)]

    def wait_for(self, pred, timeout):
        """Waits until pred(requests) is truthy; returns its value, or None on timeout."""
        end = time.monotonic() + timeout
        with self._lock:
            while True:
                v = pred(list(self.requests))
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(min(left, 0.1))

    def wait_outcome(self, behaviour, timeout):
        """Waits until a request for behaviour has an outcome; returns the record."""
        def pred(reqs):
            for r in reqs:
                if r["behaviour"] == behaviour and r["outcome"] is not None:
                    return r
            return None
        return self.wait_for(pred, timeout)

    def summary(self):
        with self._lock:
            lines = []
            for r in self.requests:
                lines.append("%s %s model=%s status=%s outcome=%s chunks=%d" % (
                    r["method"], r["path"], r["behaviour"], r["status"], r["outcome"],
                    len(r["sent"])))
            return "\n".join(lines) or "(no requests)"

    def serve_forever(self):
        """Manual use: python3 -m fakes.<name> from tests/e2e."""
        self.start()
        print("%s on %s" % (type(self).__name__, self.base_url), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            self.close()
