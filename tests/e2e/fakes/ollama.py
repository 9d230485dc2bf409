# ollama.py - a scripted Ollama native API provider on 127.0.0.1:0 for the e2e tests.
# The model name (its ":tag" ignored) picks the behaviour; streams are NDJSON, on by default.
"""Fake Ollama server; base_url is the root (clients add /api/chat).

Routes: POST /api/chat (stream defaults to true: application/x-ndjson, one object a line,
the last with done: true, done_reason and the counters; "stream": false gives one JSON
object), POST /api/embed, POST /api/embeddings (the older single-prompt form),
GET /api/tags, GET /api/version, GET / ("Ollama is running").

Behaviours: the common ones of fakes.base ("echo" and "echo:latest" are the same model), and
  usage-details   = echo: Ollama reports no cached or thinking counts
  no-usage        no prompt_eval_count / eval_count in the final object
  json            {"format": "none" | "json" | "json_schema"} from the request's format
  tool-call       message.tool_calls with arguments as an object, in one chunk (Ollama
                  does not split calls), done_reason "stop"
  max-tokens      cut to options.num_predict, done_reason "length"
  error-529       = error-503
  refusal         REFUSAL_TEXT as ordinary content, done_reason "stop"
  stream-error    two content lines, then {"error": "..."} and the end
Validation (400 {"error": ...}): model missing; tool_calls arguments that are not objects
(the Go decoder's message); images that are not base64; format neither "json" nor an
object; options not an object. An unknown model: 404 {"error": "model 'x' not found"}.
"""

import base64
import json
import time

from .base import (BAD_REQUEST_MESSAGE, COMMON, EMBED_DIM, RETRY_AFTER, BaseHandler, ErrorPlan,
                   FakeServer, View, b64_len, count_words, embedding, plan_for, rand_id,
                   sniff_mime)

__all__ = ["FakeOllama", "BEHAVIOURS", "ndjson"]

VERSION = "0.12.6"
DIGEST = "fa4e" * 16
ERRORS = {
    400: BAD_REQUEST_MESSAGE,
    401: "unauthorized",
    403: "forbidden",
    404: None,  # model 'x' not found
    429: "too many requests, please retry later",
    500: "llama runner process has terminated: exit status 2",
    503: "server busy, please try again.  maximum pending requests exceeded",
}
# Ollama has no refusal field: a refusal is ordinary text that stops normally.
DONE = {"stop": "stop", "length": "length", "tool": "stop", "stop_sequence": "stop",
        "refusal": "stop"}


def created_at():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%09dZ" % (
        int((t % 1) * 1e9))


def ndjson(raw):
    """The objects of an NDJSON body."""
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def sniff_b64(data):
    return sniff_mime(base64.b64decode(data))


def model_name(body):
    m = body.get("model") if isinstance(body, dict) else None
    if not isinstance(m, str):
        return None
    return m.split(":", 1)[0]


def prompt_words(body):
    return sum(count_words(m.get("content") or "") for m in body.get("messages") or []
               if isinstance(m, dict) and isinstance(m.get("content"), str))


def validate(body):
    if not body.get("model"):
        return "model is required"
    fmt = body.get("format")
    if fmt is not None and fmt != "" and fmt != "json" and not isinstance(fmt, dict):
        return 'invalid format: expected "json" or a valid JSON schema'
    if "options" in body and not isinstance(body["options"], dict):
        return ("json: cannot unmarshal %s into Go struct field ChatRequest.options of type "
                "map[string]interface {}" % type(body["options"]).__name__)
    for m in body.get("messages") or []:
        if not isinstance(m, dict):
            return "json: cannot unmarshal into Go struct field ChatRequest.messages"
        if m.get("content") is not None and not isinstance(m.get("content"), str):
            return ("json: cannot unmarshal array into Go struct field Message.messages."
                    "content of type string")
        for img in m.get("images") or []:
            if not isinstance(img, str) or b64_len(img) < 0:
                return "illegal base64 data at input byte 0"
        for tc in m.get("tool_calls") or []:
            args = (tc.get("function") or {}).get("arguments") if isinstance(tc, dict) else None
            if not isinstance(args, dict):
                return ("json: cannot unmarshal %s into Go struct field ToolCallFunction."
                        "messages.tool_calls.function.arguments of type "
                        "api.ToolCallFunctionArguments" % _go_type(args))
    return None


def _go_type(v):
    return {str: "string", list: "array", int: "number", float: "number",
            bool: "bool"}.get(type(v), "null" if v is None else "object")


def view_of(body, stream):
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last_user, images = "", []
    for m in msgs:
        if m.get("role") == "user":
            last_user = m.get("content") or ""
        for img in m.get("images") or []:
            images.append("%s;%d" % (sniff_b64(img), b64_len(img)))
    tool_result = None
    if msgs and msgs[-1].get("role") == "tool":
        tool_result = msgs[-1].get("content") or ""
    fmt = body.get("format")
    fmt = "json_schema" if isinstance(fmt, dict) else (fmt or "none")
    opts = body.get("options") or {}
    stop = opts.get("stop")
    return View(stream=stream, prompt_words=prompt_words(body), last_user_text=last_user,
                tool_result=tool_result,
                tool_names=[(t.get("function") or {}).get("name")
                            for t in body.get("tools") or [] if isinstance(t, dict)],
                images=images, format_asked=fmt, max_tokens=opts.get("num_predict"),
                stop_sequences=[stop] if isinstance(stop, str) else (stop or []),
                model=body.get("model"))


class Handler(BaseHandler):
    server_version = "fake-ollama/1.0"

    def behaviour_of(self, body):
        return model_name(body)

    def error(self, rec, status, body=None, message=None):
        status = 503 if status == 529 else status
        if status == 404 and message is None:
            message = "model '%s' not found" % (body or {}).get("model")
        headers = {"Retry-After": RETRY_AFTER} if status == 429 else {}
        self.send_json(rec, status, {"error": message or ERRORS[status]}, headers,
                       ctype="application/json; charset=utf-8")
        return None

    # ---- routing ----------------------------------------------------------------------
    def handle_request(self, method, rec, body):
        path = self.url_path.rstrip("/") or "/"
        if method == "GET":
            if path == "/":
                rec["status"] = 200
                self.send_raw(200, b"Ollama is running", "text/plain; charset=utf-8")
            elif path == "/api/tags":
                self.send_json(rec, 200, {"models": [tag_obj(b) for b in BEHAVIOURS]},
                               ctype="application/json; charset=utf-8")
            elif path == "/api/version":
                self.send_json(rec, 200, {"version": VERSION},
                               ctype="application/json; charset=utf-8")
            else:
                rec["status"] = 404
                self.send_raw(404, b"404 page not found", "text/plain")
            return None
        if path not in ("/api/chat", "/api/embed", "/api/embeddings"):
            rec["status"] = 404
            self.send_raw(404, b"404 page not found", "text/plain")
            return None
        if not isinstance(body, dict):
            return self.error(rec, 400, message="invalid character looking for beginning "
                                                "of value" if rec["parse_error"] else
                              "missing request body")
        if path != "/api/chat":
            return self.embed(rec, body, path == "/api/embed")
        problem = validate(body)
        if problem:
            return self.error(rec, 400, message=problem)
        stream = body.get("stream", True) is not False
        plan = plan_for(rec["behaviour"], view_of(body, stream))
        if plan is None:
            return self.error(rec, 404, body)
        return self.run_plan(rec, plan, lambda p: self.answer(rec, body, p, stream),
                             lambda status: self.error(rec, status, body))

    # ---- answers ----------------------------------------------------------------------
    def _final(self, body, plan, content, tool_calls=None):
        msg = {"role": "assistant", "content": content}
        if tool_calls:
            msg["tool_calls"] = tool_calls
        obj = {"model": body.get("model"), "created_at": created_at(), "message": msg,
               "done_reason": DONE[plan.finish], "done": True,
               "total_duration": 123456789, "load_duration": 1234567}
        if plan.usage:
            obj["prompt_eval_count"] = prompt_words(body)
        obj["prompt_eval_duration"] = 2345678
        if plan.usage:
            obj["eval_count"] = plan.completion_tokens
        obj["eval_duration"] = 34567890
        return obj

    def _line(self, rec, obj):
        self.chunk(json.dumps(obj).encode() + b"\n")
        rec["sent"].append(obj)

    def answer(self, rec, body, plan, stream):
        calls = [{"id": "call_" + rand_id(8).lower(),
                  "function": {"index": i, "name": n, "arguments": a}}
                 for i, (n, a) in enumerate(plan.calls)]
        if not stream:
            self.send_json(rec, 200, self._final(body, plan, plan.text or "", calls),
                           ctype="application/json; charset=utf-8")
            return None
        self.start_stream(rec, "application/x-ndjson")
        model = body.get("model")
        if calls:
            self._line(rec, {"model": model, "created_at": created_at(),
                             "message": {"role": "assistant", "content": "",
                                         "tool_calls": calls}, "done": False})
        else:
            for i, piece in enumerate(plan.stream_pieces()):
                self.stream_gap(plan, i)
                self._line(rec, {"model": model, "created_at": created_at(),
                                 "message": {"role": "assistant", "content": piece},
                                 "done": False})
                if self.stream_pace(plan, i):
                    return "cut"
                if plan.error_after is not None and i + 1 == plan.error_after:
                    self._line(rec, {"error": "an error was encountered while running the "
                                              "model: unexpected EOF"})
                    self.end_chunks()
                    return None
        self._line(rec, self._final(body, plan, ""))
        self.end_chunks()
        return None

    # ---- embeddings -------------------------------------------------------------------
    def embed(self, rec, body, new_api):
        if not body.get("model"):
            return self.error(rec, 400, message="model is required")
        fn = COMMON.get(rec["behaviour"])
        if fn is not None and isinstance(fn(View()), ErrorPlan):
            return self.error(rec, fn(View()).status, body)
        if rec["behaviour"] not in BEHAVIOURS:
            return self.error(rec, 404, body)
        if not new_api:  # /api/embeddings: {"prompt"} -> {"embedding"}
            self.send_json(rec, 200, {"embedding": embedding(body.get("prompt") or "")},
                           ctype="application/json; charset=utf-8")
            return None
        inp = body.get("input")
        inputs = [inp] if isinstance(inp, str) else inp
        if not isinstance(inputs, list) or not all(isinstance(x, str) for x in inputs):
            return self.error(rec, 400, message="invalid input type")
        dim = body.get("dimensions") or EMBED_DIM
        self.send_json(rec, 200, {
            "model": body["model"], "embeddings": [embedding(x, dim) for x in inputs],
            "total_duration": 14143917, "load_duration": 1019500,
            "prompt_eval_count": sum(count_words(x) for x in inputs)},
            ctype="application/json; charset=utf-8")
        return None


def tag_obj(name):
    return {"name": name + ":latest", "model": name + ":latest",
            "modified_at": "2025-05-01T12:00:00.000000000Z", "size": 2019393189,
            "digest": DIGEST,
            "details": {"parent_model": "", "format": "gguf", "family": "llama",
                        "families": ["llama"], "parameter_size": "3.2B",
                        "quantization_level": "Q4_K_M"}}


BEHAVIOURS = sorted(COMMON)


class FakeOllama(FakeServer):
    """The fake Ollama provider. base_url is the root: clients add /api/chat."""

    handler = Handler
    base_path = ""

    def chat_requests(self, behaviour=None):
        return self.requests_to("/api/chat", behaviour)


if __name__ == "__main__":  # manual use: cd tests/e2e && python3 -m fakes.ollama
    FakeOllama().serve_forever()
