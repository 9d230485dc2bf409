# openai.py - a scripted OpenAI-compatible provider on 127.0.0.1:0 for the e2e tests.
# The upstream model name in the request body picks the behaviour; every request is recorded.
"""Fake OpenAI server: POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models.

Behaviours (the "model" field of the request body): the common ones of fakes.base (echo,
usage-details, no-usage, tool-call, parallel-tools, json, image, max-tokens, stop-sequence,
error-400..error-529, broken-stream, stream-error, stall-stream, slow-headers, empty, refusal,
not-json, hold, flaky), and:
  echo-upstream   = echo
  echo-details    = usage-details: cached_tokens=2, reasoning_tokens=3
  rate-limited    = error-429: 429, Retry-After: 7, OpenAI rate_limit error body
  server-error    = error-500
  bad-request     = error-400: invalid_request_error carrying BAD_REQUEST_MESSAGE
  unauthorized    = error-401: invalid_api_key
  slow-stream     SLOW_STREAM_CHUNKS content chunks SLOW_STREAM_GAP_S apart
  garbage         200 with a body that is not JSON
  huge            a non-streaming answer with about HUGE_BYTES of content
  flood-stream    a stream of FLOOD_CHUNKS chunks of FLOOD_PIECE bytes, as fast as it can
json answers {"format": "none" | "text" | "json_object" | "json_schema:<name>"}.
Embeddings answer every behaviour but the error ones with EMBED_DIM floats per input (or
"dimensions"), base64 of little-endian float32 when encoding_format is "base64".
error-529 answers 503. stream-error sends data: {"error": {...}} and ends without [DONE].

Each request is recorded as a dict: method, path, headers (lower-case names), body (parsed
JSON or None), raw, behaviour, status, outcome ("completed", "aborted" when the peer went
away before the answer was fully written, "cut" when the fake cut it on purpose), sent
(the chunk objects written, for streams) and response (the object written, otherwise).
"""

import base64
import json
import struct
import time

from .base import (BAD_REQUEST_MESSAGE, COMMON, DETAIL_CACHED, DETAIL_REASONING, EMBED_DIM,
                   RETRY_AFTER, BaseHandler, ErrorPlan, FakeServer, Plan, View, _SCALE,
                   count_words, describe_url, embedding, plan_for, rand_id)

__all__ = ["FakeOpenAI", "BEHAVIOURS", "BAD_REQUEST_MESSAGE", "RETRY_AFTER", "FLOOD_CHUNKS",
           "FLOOD_PIECE", "TOOL_ARGS"]

SLOW_STREAM_CHUNKS = 30
SLOW_STREAM_GAP_S = 0.1 * (3 if _SCALE > 1 else 1)  # longer under valgrind: ~9 s
HUGE_BYTES = 2 * 1024 * 1024
FLOOD_PIECE = 8192
FLOOD_CHUNKS = 4096  # 32 MiB of content
TOOL_ARGS = '{"location": "Paris, France", "unit": "celsius"}'
TOOL_ARG_STEP = 7  # characters of arguments per streamed delta
FINGERPRINT = "fp_fake0e2e01"


def message_text(content):
    """Text of a message's content: a string, or a list of parts (the text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_words(body):
    return sum(count_words(message_text(m.get("content"))) for m in body.get("messages", [])
               if isinstance(m, dict))


def last_user_text(body):
    for m in reversed(body.get("messages", [])):
        if isinstance(m, dict) and m.get("role") == "user":
            return message_text(m.get("content"))
    return ""


def echo_words(body):
    return count_words("echo: " + last_user_text(body))


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


def view_of(body):
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    tool_result = None
    if msgs and msgs[-1].get("role") == "tool":
        tool_result = message_text(msgs[-1].get("content"))
    names = [(t.get("function") or {}).get("name") for t in body.get("tools") or []
             if isinstance(t, dict) and t.get("type", "function") == "function"]
    images = []
    for m in msgs:
        if isinstance(m.get("content"), list):
            for p in m["content"]:
                if isinstance(p, dict) and p.get("type") == "image_url":
                    iu = p.get("image_url")
                    images.append(describe_url(iu.get("url") if isinstance(iu, dict) else iu))
    rf = body.get("response_format")
    fmt = "none"
    if isinstance(rf, dict):
        fmt = rf.get("type") or "none"
        if fmt == "json_schema":
            fmt = "json_schema:%s" % ((rf.get("json_schema") or {}).get("name"))
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else (stop or [])
    return View(stream=bool(body.get("stream")), prompt_words=prompt_words(body),
                last_user_text=last_user_text(body), tool_result=tool_result,
                tool_names=[n for n in names if n], images=images, format_asked=fmt,
                max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
                stop_sequences=stops, model=body.get("model") or "")


# A refusal stops normally: the refusal field, not the finish reason, tells it apart.
FINISH = {"stop": "stop", "length": "length", "tool": "tool_calls", "stop_sequence": "stop",
          "refusal": "stop"}


class Handler(BaseHandler):
    server_version = "fake-openai/1.0"

    def extra_headers(self):
        return {"openai-processing-ms": "1", "x-request-id": "req_fake_" + rand_id(12)}

    # ---- routing ----------------------------------------------------------------------
    def handle_request(self, method, rec, body):
        path = self.url_path.rstrip("/")
        if method == "GET":
            if path.endswith("/models"):
                data = {"object": "list", "data": [
                    {"id": b, "object": "model", "created": 1700000000, "owned_by": "fake"}
                    for b in BEHAVIOURS]}
                self.send_json(rec, 200, data)
            else:
                self.send_json(rec, 404, error_obj("Unknown request URL: GET %s" % self.path,
                                                   "invalid_request_error", "unknown_url"))
            return None
        chat = path.endswith("/chat/completions")
        if not chat and not path.endswith("/embeddings"):
            self.send_json(rec, 404, error_obj("Unknown request URL: POST %s" % self.path,
                                               "invalid_request_error", "unknown_url"))
            return None
        if not isinstance(body, dict):
            self.send_json(rec, 400, error_obj(
                "We could not parse the JSON body of your request.", "invalid_request_error"))
            return None
        if not chat:
            return self.embeddings(rec, body)
        view = view_of(body)
        special = SPECIALS.get(rec["behaviour"])
        if special:
            return special(self, rec, body)
        plan = plan_for(ALIASES.get(rec["behaviour"], rec["behaviour"]), view)
        if plan is None:
            return self.error(rec, body, 404)
        return self.run_plan(rec, plan, lambda p: self.answer(rec, body, p),
                             lambda status: self.error(rec, body, status))

    # ---- errors -----------------------------------------------------------------------
    def error(self, rec, body, status):
        model = body.get("model")
        if status == 429:
            self.send_json(rec, 429, error_obj(
                "Rate limit reached for %s in organization org-fake on requests per min (RPM): "
                "Limit 3, Used 3, Requested 1. Please try again in 7s." % model,
                "requests", "rate_limit_exceeded"),
                {"Retry-After": RETRY_AFTER, "x-ratelimit-limit-requests": "3",
                 "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "7s"})
        elif status == 400:
            self.send_json(rec, 400, error_obj(BAD_REQUEST_MESSAGE, "invalid_request_error",
                                               None, "messages"))
        elif status == 401:
            self.send_json(rec, 401, error_obj(
                "Incorrect API key provided: sk-fake***. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error", "invalid_api_key"))
        elif status == 403:
            self.send_json(rec, 403, error_obj(
                "Project `proj_fake` does not have access to model `%s`" % model,
                "invalid_request_error", "model_not_found"))
        elif status == 404:
            self.send_json(rec, 404, error_obj(
                "The model `%s` does not exist or you do not have access to it." % model,
                "invalid_request_error", "model_not_found"))
        elif status == 500:
            self.send_json(rec, 500, error_obj(
                "The server had an error while processing your request. Sorry about that!",
                "server_error"))
        else:  # 503, and 529 which OpenAI does not use
            self.send_json(rec, 503, error_obj(
                "The engine is currently overloaded, please try again later.",
                "server_error"))
        return None

    # ---- chat answers -----------------------------------------------------------------
    def _completion(self, body, message, finish, usage):
        obj = {
            "id": "chatcmpl-" + rand_id(29),
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

    def _event(self, rec, obj):
        self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")
        if rec is not None:
            rec["sent"].append(obj)

    def _end_stream(self):
        self.chunk(b"data: [DONE]\n\n")
        self.end_chunks()

    def answer(self, rec, body, plan):
        view_words = prompt_words(body)
        usage = None
        if plan.usage:
            usage = usage_obj(view_words, plan.completion_tokens,
                              DETAIL_CACHED if plan.details else 0,
                              DETAIL_REASONING if plan.details else 0)
        finish = FINISH[plan.finish]
        calls = [{"id": "call_" + rand_id(24), "type": "function",
                  "function": {"name": n, "arguments": json.dumps(a)}}
                 for n, a in plan.calls]
        if not body.get("stream"):
            if calls:
                msg = {"role": "assistant", "content": None, "refusal": None,
                       "annotations": [], "tool_calls": calls}
            elif plan.finish == "refusal":
                msg = {"role": "assistant", "content": None, "refusal": plan.text,
                       "annotations": []}
            else:
                msg = {"role": "assistant", "content": plan.text, "refusal": None,
                       "annotations": []}
            self.send_json(rec, 200, self._completion(body, msg, finish, usage))
            return None
        want_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        with_usage = want_usage and plan.usage
        cid, created = "chatcmpl-" + rand_id(29), int(time.time())
        self.start_stream(rec, "text/event-stream; charset=utf-8")
        if calls:
            first = {"role": "assistant", "content": None, "refusal": None}
            for i, c in enumerate(calls):
                args = c["function"]["arguments"]
                head = {"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                        "function": {"name": c["function"]["name"],
                                                     "arguments": ""}}]}
                if i == 0:
                    head = dict(first, **head)
                self._event(rec, self._chunk_obj(cid, created, body, head,
                                                 with_usage=with_usage))
                for k in range(0, len(args), TOOL_ARG_STEP):
                    self._event(rec, self._chunk_obj(cid, created, body, {"tool_calls": [
                        {"index": i, "function": {"arguments": args[k:k + TOOL_ARG_STEP]}}]},
                        with_usage=with_usage))
        else:
            # a refusal streams in delta.refusal pieces, the content staying null
            field = "refusal" if plan.finish == "refusal" else "content"
            first = {"role": "assistant", "content": "", "refusal": None}
            if field == "refusal":
                first = {"role": "assistant", "content": None, "refusal": ""}
            self._event(rec, self._chunk_obj(cid, created, body, first,
                                             with_usage=with_usage))
            for i, piece in enumerate(plan.stream_pieces()):
                self.stream_gap(plan, i)
                self._event(rec if plan.record_chunks else None,
                            self._chunk_obj(cid, created, body, {field: piece},
                                            with_usage=with_usage))
                if self.stream_pace(plan, i):
                    return "cut"
                if plan.error_after is not None and i + 1 == plan.error_after:
                    self._event(rec, error_obj(
                        "The server had an error while processing your request. Sorry "
                        "about that!", "server_error"))
                    self.end_chunks()
                    return None
        self._event(rec, self._chunk_obj(cid, created, body, {}, finish, with_usage=with_usage))
        if with_usage:
            self._event(rec, self._usage_chunk(cid, created, body, usage))
        self._end_stream()
        return None

    # ---- specials kept from the first fake ---------------------------------------------
    def b_slow_stream(self, rec, body):
        pieces = ["w%d " % i for i in range(SLOW_STREAM_CHUNKS)]
        return self.answer(rec, body, Plan(text="".join(pieces), pieces=pieces,
                                           gap=SLOW_STREAM_GAP_S,
                                           completion_tokens=echo_words(body)))

    def b_flood_stream(self, rec, body):
        pieces = ["%06d" % i + "x" * (FLOOD_PIECE - 6) for i in range(FLOOD_CHUNKS)]
        return self.answer(rec, body, Plan(text="".join(pieces), pieces=pieces,
                                           record_chunks=False,
                                           completion_tokens=echo_words(body)))

    def b_garbage(self, rec, body):
        rec["status"] = 200
        self.send_raw(200, b"<html><body>this is not JSON {\"id\": </body></html>\n",
                      "application/json")

    def b_huge(self, rec, body):
        unit = "lorem ipsum dolor sit amet "
        text = (unit * (HUGE_BYTES // len(unit) + 1))[:HUGE_BYTES]
        body = dict(body, stream=False)
        return self.answer(rec, body, Plan(text=text))

    # ---- embeddings -------------------------------------------------------------------
    def embeddings(self, rec, body):
        behaviour = ALIASES.get(rec["behaviour"], rec["behaviour"])
        plan = COMMON.get(behaviour)
        if plan is not None and isinstance(plan(View()), ErrorPlan):
            return self.error(rec, body, plan(View()).status)
        inp = body.get("input")
        if isinstance(inp, str) or (isinstance(inp, list) and inp and isinstance(inp[0], int)):
            inputs = [inp]
        elif isinstance(inp, list) and inp:
            inputs = inp
        else:
            self.send_json(rec, 400, error_obj(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "invalid_request_error"))
            return None
        dim = body.get("dimensions") or EMBED_DIM
        fmt = body.get("encoding_format") or "float"
        data, tokens = [], 0
        for i, x in enumerate(inputs):
            text = x if isinstance(x, str) else " ".join(str(t) for t in x)
            tokens += count_words(text) if isinstance(x, str) else len(x)
            vec = embedding(text, dim)
            if fmt == "base64":
                vec = base64.b64encode(struct.pack("<%df" % len(vec), *vec)).decode()
            data.append({"object": "embedding", "index": i, "embedding": vec})
        self.send_json(rec, 200, {"object": "list", "data": data, "model": body.get("model"),
                                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
        return None


ALIASES = {
    "echo-upstream": "echo",
    "echo-details": "usage-details",
    "rate-limited": "error-429",
    "server-error": "error-500",
    "bad-request": "error-400",
    "unauthorized": "error-401",
}
SPECIALS = {
    "slow-stream": Handler.b_slow_stream,
    "garbage": Handler.b_garbage,
    "huge": Handler.b_huge,
    "flood-stream": Handler.b_flood_stream,
}
# Every behaviour name this fake answers (GET /v1/models lists them).
BEHAVIOURS = sorted(set(COMMON) | set(ALIASES) | set(SPECIALS))


class FakeOpenAI(FakeServer):
    """The fake OpenAI provider. start() binds 127.0.0.1:0; base_url ends in /v1."""

    handler = Handler
    base_path = "/v1"

    def chat_requests(self, behaviour=None):
        return self.requests_to("/chat/completions", behaviour)

    def embedding_requests(self, behaviour=None):
        return self.requests_to("/embeddings", behaviour)


if __name__ == "__main__":  # manual use: cd tests/e2e && python3 -m fakes.openai
    FakeOpenAI().serve_forever()
