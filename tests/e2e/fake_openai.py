# fake_openai.py - a scripted OpenAI-compatible provider on 127.0.0.1:0 for the e2e tests.
# The upstream model name in the request body picks the behaviour; every request is recorded.
"""Fake OpenAI chat-completions server.

Behaviours (the "model" field of the request body):
  echo-upstream   "echo: <last user text>"; usage counts words; streams word by word
  echo-details    as echo-upstream, usage also reports cached_tokens=2, reasoning_tokens=3
  no-usage        as echo-upstream but never reports usage (body nor stream)
  rate-limited    429, Retry-After: 7, OpenAI rate_limit error body
  server-error    500 with OpenAI's server_error body
  bad-request     400 invalid_request_error carrying BAD_REQUEST_MESSAGE
  unauthorized    401 invalid_api_key body
  slow-headers    waits SLOW_HEADERS_S before answering like echo-upstream
  broken-stream   two content chunks then the socket is cut (no finish_reason, no [DONE])
  stall-stream    one content chunk then a STALL_S pause, then the rest
  slow-stream     SLOW_STREAM_CHUNKS content chunks SLOW_STREAM_GAP_S apart
  garbage         200 with a body that is not JSON
  huge            a non-streaming answer with about HUGE_BYTES of content
  flood-stream    a stream of FLOOD_CHUNKS chunks of FLOOD_PIECE bytes, as fast as it can
  tool-call       a tool_calls answer; streamed as several argument deltas

Each request is recorded as a dict: method, path, headers (lower-case names), body (parsed
JSON or None), raw, behaviour, status, outcome ("completed", "aborted" when the peer went
away before the answer was fully written, "cut" when the fake cut it on purpose), sent
(the chunk objects written, for streams) and response (the object written, otherwise).
"""

import json
import os
import random
import select
import socket
import string
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BAD_REQUEST_MESSAGE = "fake provider refuses this request: zebra-quartz-42"
RETRY_AFTER = "7"
# Delays that must outlast hearth's configured timeouts, which the suite stretches when the
# server runs under valgrind (see helpers.SLOW).
_SCALE = 8 if os.environ.get("HEARTH_VALGRIND") == "1" else 1
SLOW_HEADERS_S = 3.0 * _SCALE
STALL_S = 5.0 * _SCALE
SLOW_STREAM_CHUNKS = 30
SLOW_STREAM_GAP_S = 0.1 * (3 if _SCALE > 1 else 1)  # longer under valgrind: ~9 s
HUGE_BYTES = 2 * 1024 * 1024
FLOOD_PIECE = 8192
FLOOD_CHUNKS = 4096  # 32 MiB of content
TOOL_ARGS = '{"location": "Paris, France", "unit": "celsius"}'
FINGERPRINT = "fp_fake0e2e01"


def _rand(n):
    return "".join(random.choice(string.ascii_letters + string.digits) for _ in range(n))


def message_text(content):
    """Text of a message's content: a string, or a list of parts (the text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def count_words(text):
    return len(text.split())


def prompt_words(body):
    return sum(count_words(message_text(m.get("content"))) for m in body.get("messages", [])
               if isinstance(m, dict))


def last_user_text(body):
    for m in reversed(body.get("messages", [])):
        if isinstance(m, dict) and m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


def usage_obj(prompt, completion, cached=0, reasoning=0):
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def error_obj(message, etype, code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


class _PeerGone(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1.0"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def setup(self):
        super().setup()
        # small writes (headers, then each event) must not wait for delayed ACKs
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---- plumbing ---------------------------------------------------------------------
    @property
    def fake(self):
        return self.server.fake

    def _read_body(self):
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

    def _peer_closed(self):
        """True when the client has closed its side (readable with EOF)."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _write(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as e:
            raise _PeerGone() from e

    def _send_json(self, status, obj, extra_headers=None):
        data = json.dumps(obj).encode()
        self._send_raw(status, data, "application/json", extra_headers)
        return data

    def _send_raw(self, status, data, ctype, extra_headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("openai-processing-ms", "1")
        self.send_header("x-request-id", "req_fake_" + _rand(12))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self._write(data)

    def _start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            self.wfile.flush()
        except OSError as e:
            raise _PeerGone() from e

    def _chunk(self, payload):
        """Writes one HTTP chunk holding payload (bytes)."""
        if self._peer_closed():
            raise _PeerGone()
        self._write(b"%x\r\n%s\r\n" % (len(payload), payload))

    def _event(self, rec, obj):
        self._chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")
        if rec is not None:
            rec["sent"].append(obj)

    def _end_stream(self):
        self._chunk(b"data: [DONE]\n\n")
        self._write(b"0\r\n\r\n")

    def _sleep(self, seconds):
        """Sleeps unless the fake is being shut down; True when it was."""
        return self.fake.stopping.wait(seconds)

    # ---- verbs ------------------------------------------------------------------------
    def do_GET(self):
        rec = self.fake._record(self, None, b"")
        if self.path.rstrip("/").endswith("/models"):
            data = {"object": "list", "data": [
                {"id": b, "object": "model", "created": 1700000000, "owned_by": "fake"}
                for b in BEHAVIOURS]}
            self._send_json(200, data)
            rec["status"] = 200
        else:
            self._send_json(404, error_obj("Unknown request URL: GET %s" % self.path,
                                           "invalid_request_error", "unknown_url"))
            rec["status"] = 404
        self.fake._finish(rec, "completed")

    def do_POST(self):
        raw = self._read_body()
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                body = None
        except ValueError:
            body = None
        rec = self.fake._record(self, body, raw)
        outcome = "completed"
        try:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                rec["status"] = 404
                self._send_json(404, error_obj("Unknown request URL: POST %s" % self.path,
                                               "invalid_request_error", "unknown_url"))
            elif body is None:
                rec["status"] = 400
                self._send_json(400, error_obj(
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error"))
            else:
                fn = BEHAVIOURS.get(rec["behaviour"], Handler.b_unknown_model)
                outcome = fn(self, rec, body) or "completed"
        except _PeerGone:
            outcome = "aborted"
            self.close_connection = True
        self.fake._finish(rec, outcome)

    # ---- answers ----------------------------------------------------------------------
    def _completion(self, body, message, finish, usage):
        obj = {
            "id": "chatcmpl-" + _rand(29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": finish}],
        }
        if usage is not None:
            obj["usage"] = usage
        obj["service_tier"] = "default"
        obj["system_fingerprint"] = FINGERPRINT
        return obj

    def _chunk_obj(self, cid, created, body, delta, finish=None, with_usage=False):
        obj = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model"),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish}],
        }
        if with_usage:
            obj["usage"] = None
        return obj

    def _usage_chunk(self, cid, created, body, usage):
        return {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model"),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [],
            "usage": usage,
        }

    def _echo(self, rec, body, *, report_usage=True, cached=0, reasoning=0, cut_after=None,
              stall_after=None, pieces=None, gap=0.0, record_chunks=True):
        text = "echo: " + last_user_text(body)
        usage = usage_obj(prompt_words(body), count_words(text), cached, reasoning)
        if not report_usage:
            usage = None
        if not body.get("stream"):
            obj = self._completion(body, {"role": "assistant", "content": text,
                                          "refusal": None, "annotations": []}, "stop", usage)
            rec["status"] = 200
            rec["response"] = obj
            rec["response_raw"] = self._send_json(200, obj)
            return "completed"
        if pieces is None:
            words = text.split(" ")
            pieces = [words[0]] + [" " + w for w in words[1:]]
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        with_usage = want_usage and report_usage
        cid, created = "chatcmpl-" + _rand(29), int(time.time())
        rec["status"] = 200
        self._start_stream()
        self._event(rec, self._chunk_obj(cid, created, body, {"role": "assistant",
                    "content": "", "refusal": None}, with_usage=with_usage))
        for i, piece in enumerate(pieces):
            if i and gap and self._sleep(gap):
                raise _PeerGone()
            self._event(rec if record_chunks else None,
                        self._chunk_obj(cid, created, body, {"content": piece},
                                        with_usage=with_usage))
            if cut_after is not None and i + 1 == cut_after:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return "cut"
            if stall_after is not None and i + 1 == stall_after:
                if self._sleep(STALL_S):
                    raise _PeerGone()
        self._event(rec, self._chunk_obj(cid, created, body, {}, "stop", with_usage=with_usage))
        if with_usage:
            self._event(rec, self._usage_chunk(cid, created, body, usage))
        self._end_stream()
        return "completed"

    def b_echo(self, rec, body):
        return self._echo(rec, body)

    def b_echo_details(self, rec, body):
        return self._echo(rec, body, cached=2, reasoning=3)

    def b_no_usage(self, rec, body):
        return self._echo(rec, body, report_usage=False)

    def b_rate_limited(self, rec, body):
        rec["status"] = 429
        self._send_json(429, error_obj(
            "Rate limit reached for %s in organization org-fake on requests per min (RPM): "
            "Limit 3, Used 3, Requested 1. Please try again in 7s." % body.get("model"),
            "requests", "rate_limit_exceeded"),
            {"Retry-After": RETRY_AFTER, "x-ratelimit-limit-requests": "3",
             "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "7s"})

    def b_server_error(self, rec, body):
        rec["status"] = 500
        self._send_json(500, error_obj(
            "The server had an error while processing your request. Sorry about that!",
            "server_error"))

    def b_bad_request(self, rec, body):
        rec["status"] = 400
        self._send_json(400, error_obj(BAD_REQUEST_MESSAGE, "invalid_request_error",
                                       None, "messages"))

    def b_unauthorized(self, rec, body):
        rec["status"] = 401
        self._send_json(401, error_obj(
            "Incorrect API key provided: sk-fake***. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "invalid_request_error", "invalid_api_key"))

    def b_slow_headers(self, rec, body):
        if self._sleep(SLOW_HEADERS_S):
            return "aborted"
        if self._peer_closed():
            return "aborted"
        return self._echo(rec, body)

    def b_broken_stream(self, rec, body):
        if not body.get("stream"):
            return self._echo(rec, body)
        return self._echo(rec, body, pieces=["partial answer,", " then"], cut_after=2)

    def b_stall_stream(self, rec, body):
        if not body.get("stream"):
            return self._echo(rec, body)
        return self._echo(rec, body, pieces=["first", " second", " third"], stall_after=1)

    def b_slow_stream(self, rec, body):
        pieces = ["w%d " % i for i in range(SLOW_STREAM_CHUNKS)]
        return self._echo(rec, body, pieces=pieces, gap=SLOW_STREAM_GAP_S)

    def b_flood_stream(self, rec, body):
        pieces = ["%06d" % i + "x" * (FLOOD_PIECE - 6) for i in range(FLOOD_CHUNKS)]
        return self._echo(rec, body, pieces=pieces, record_chunks=False)

    def b_garbage(self, rec, body):
        rec["status"] = 200
        self._send_raw(200, b"<html><body>this is not JSON {\"id\": </body></html>\n",
                       "application/json")

    def b_huge(self, rec, body):
        unit = "lorem ipsum dolor sit amet "
        text = (unit * (HUGE_BYTES // len(unit) + 1))[:HUGE_BYTES]
        obj = self._completion(body, {"role": "assistant", "content": text, "refusal": None,
                                      "annotations": []}, "stop",
                               usage_obj(prompt_words(body), count_words(text)))
        rec["status"] = 200
        rec["response"] = obj
        rec["response_raw"] = self._send_json(200, obj)

    def b_tool_call(self, rec, body):
        call_id = "call_" + _rand(24)
        usage = usage_obj(prompt_words(body), 18)
        if not body.get("stream"):
            obj = self._completion(body, {
                "role": "assistant", "content": None, "refusal": None, "annotations": [],
                "tool_calls": [{"id": call_id, "type": "function",
                                "function": {"name": "get_weather", "arguments": TOOL_ARGS}}],
            }, "tool_calls", usage)
            rec["status"] = 200
            rec["response"] = obj
            rec["response_raw"] = self._send_json(200, obj)
            return "completed"
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        cid, created = "chatcmpl-" + _rand(29), int(time.time())
        rec["status"] = 200
        self._start_stream()
        self._event(rec, self._chunk_obj(cid, created, body, {
            "role": "assistant", "content": None, "refusal": None,
            "tool_calls": [{"index": 0, "id": call_id, "type": "function",
                            "function": {"name": "get_weather", "arguments": ""}}]},
            with_usage=want_usage))
        step = 7
        for i in range(0, len(TOOL_ARGS), step):
            self._event(rec, self._chunk_obj(cid, created, body, {
                "tool_calls": [{"index": 0, "function": {"arguments": TOOL_ARGS[i:i + step]}}]},
                with_usage=want_usage))
        self._event(rec, self._chunk_obj(cid, created, body, {}, "tool_calls",
                                         with_usage=want_usage))
        if want_usage:
            self._event(rec, self._usage_chunk(cid, created, body, usage))
        self._end_stream()
        return "completed"

    def b_unknown_model(self, rec, body):
        rec["status"] = 404
        self._send_json(404, error_obj(
            "The model `%s` does not exist or you do not have access to it."
            % body.get("model"), "invalid_request_error", "model_not_found"))


BEHAVIOURS = {
    "echo-upstream": Handler.b_echo,
    "echo-details": Handler.b_echo_details,
    "no-usage": Handler.b_no_usage,
    "rate-limited": Handler.b_rate_limited,
    "server-error": Handler.b_server_error,
    "bad-request": Handler.b_bad_request,
    "unauthorized": Handler.b_unauthorized,
    "slow-headers": Handler.b_slow_headers,
    "broken-stream": Handler.b_broken_stream,
    "stall-stream": Handler.b_stall_stream,
    "slow-stream": Handler.b_slow_stream,
    "garbage": Handler.b_garbage,
    "huge": Handler.b_huge,
    "flood-stream": Handler.b_flood_stream,
    "tool-call": Handler.b_tool_call,
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # hearth may open many connections at once
    allow_reuse_address = True


class FakeOpenAI:
    """The fake provider. start() binds 127.0.0.1:0; base_url ends in /v1."""

    def __init__(self):
        self.requests = []
        self.stopping = threading.Event()
        self._lock = threading.Condition()
        self._srv = None
        self._thread = None

    def start(self):
        self._srv = _Server(("127.0.0.1", 0), Handler)
        self._srv.fake = self
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self):
        return self._srv.server_address[1]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d/v1" % self.port

    def close(self):
        self.stopping.set()
        if self._srv:
            self._srv.shutdown()
            self._srv.server_close()

    # ---- recording --------------------------------------------------------------------
    def _record(self, handler, body, raw):
        rec = {
            "method": handler.command,
            "path": handler.path,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": body,
            "raw": raw,
            "behaviour": body.get("model") if isinstance(body, dict) else None,
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

    def _finish(self, rec, outcome):
        with self._lock:
            rec["outcome"] = outcome
            self._lock.notify_all()

    def chat_requests(self, behaviour=None):
        with self._lock:
            return [r for r in self.requests
                    if r["method"] == "POST" and r["path"].endswith("/chat/completions")
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
        """Waits until a chat request for behaviour has an outcome; returns the record."""
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


if __name__ == "__main__":  # manual use: python3 fake_openai.py
    f = FakeOpenAI().start()
    print("fake OpenAI on", f.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        f.close()
