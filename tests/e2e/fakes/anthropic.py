# anthropic.py - a scripted Anthropic Messages API provider on 127.0.0.1:0 for the e2e tests.
# Validates requests like the real API (headers, roles, tool pairing, unknown fields).
"""Fake Anthropic server: POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models,
GET /v1/models/{id}. base_url ends in /v1 (clients add /messages), as for the OpenAI fake;
root_url is the bare origin.

Behaviours: the common ones of fakes.base, rendered as Anthropic message objects and named
SSE events (message_start, content_block_start, ping, content_block_delta with text_delta or
input_json_delta, content_block_stop, message_delta, message_stop). Notes:
  usage-details   cache_read_input_tokens=2, cache_creation_input_tokens=1 (no thinking count
                  exists in Anthropic's usage)
  no-usage        = echo: Anthropic always reports usage
  json            {"format": "json_schema" (output_format / output_config.format) |
                  "tool:<name>" (tool_choice forces a tool) | "none"}
  stop-sequence   stop_reason "stop_sequence" with the request's first stop_sequences entry
  error-529       529 overloaded_error; error-503 answers 503 api_error
  refusal         stop_reason "refusal", no content blocks (the real API adds no message)
  empty           one text block with empty text (streams: the block with no deltas)
  stream-error    two text deltas, then event: error with overloaded_error, then the end
Validation (400 invalid_request_error unless said): x-api-key missing (401
authentication_error), anthropic-version missing, model / max_tokens / messages missing,
unknown top-level fields ("<f>: Extra inputs are not permitted"), a role other than user or
assistant ("system" gets the real API's hint), first message not user, two messages of the
same role in a row, tool_result blocks outside user messages, tool_use ids without a
tool_result in the next message and tool_result ids without a tool_use in the previous one,
temperature outside [0, 1], a tool without name or input_schema.
"""

import json

from .base import (BAD_REQUEST_MESSAGE, COMMON, DETAIL_CACHED, RETRY_AFTER,
                   BaseHandler, FakeServer, View, count_words, describe_inline, describe_url,
                   plan_for, rand_id)

__all__ = ["FakeAnthropic", "BEHAVIOURS", "TOP_LEVEL_FIELDS"]

ANTHROPIC_VERSION = "2023-06-01"
DETAIL_CACHE_CREATION = 1
TOOL_ARG_STEP = 9  # characters of partial_json per input_json_delta
TOP_LEVEL_FIELDS = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream",
    "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier",
    "container", "mcp_servers", "context_management", "output_format", "output_config",
}
BLOCK_TYPES = {"text", "image", "document", "tool_use", "tool_result", "thinking",
               "redacted_thinking", "search_result", "server_tool_use",
               "web_search_tool_result", "container_upload"}
ERRORS = {
    400: ("invalid_request_error", BAD_REQUEST_MESSAGE),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified "
                              "resource."),
    404: ("not_found_error", None),  # "model: <name>"
    429: ("rate_limit_error", "This request would exceed the rate limit for your "
                              "organization of 3 requests per minute. For details, refer to: "
                              "https://docs.claude.com/en/api/rate-limits."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
STOP = {"stop": "end_turn", "length": "max_tokens", "tool": "tool_use",
        "stop_sequence": "stop_sequence", "refusal": "refusal"}


def error_obj(etype, message):
    return {"type": "error", "error": {"type": etype, "message": message},
            "request_id": "req_011" + rand_id(21)}


def block_text(content):
    """Text of a content value: a string or a list of blocks (their text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content
                        if isinstance(b, dict) and b.get("type") == "text")
    return ""


def system_words(body):
    return count_words(block_text(body.get("system")))


def prompt_words(body):
    n = system_words(body)
    for m in body.get("messages") or []:
        if isinstance(m, dict):
            c = m.get("content")
            n += count_words(block_text(c))
            if isinstance(c, list):
                for b in c:
                    if isinstance(b, dict) and b.get("type") == "tool_result":
                        n += count_words(block_text(b.get("content")))
    return n


def validate(body):
    """The real API's complaint about body, or None."""
    for k in body:
        if k not in TOP_LEVEL_FIELDS:
            return "%s: Extra inputs are not permitted" % k
    for k in ("model", "messages", "max_tokens"):
        if k not in body:
            return "%s: Field required" % k
    if not isinstance(body["max_tokens"], int) or isinstance(body["max_tokens"], bool) \
            or body["max_tokens"] < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    t = body.get("temperature")
    if t is not None and (not isinstance(t, (int, float)) or not 0 <= t <= 1):
        return "temperature: Input should be less than or equal to 1"
    s = body.get("system")
    if s is not None and not isinstance(s, (str, list)):
        return "system: Input should be a valid string"
    for i, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict) or not tool.get("name"):
            return "tools.%d.name: Field required" % i
        if "type" not in tool or tool.get("type") == "custom":
            if "input_schema" not in tool:
                return "tools.%d.custom.input_schema: Field required" % i
    msgs = body["messages"]
    if not isinstance(msgs, list):
        return "messages: Input should be a valid list"
    prev_role, prev_uses = None, set()
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            return "messages.%d: Field required" % i
        role = m["role"]
        if role == "system":
            return ('messages: Unexpected role "system". The Messages API accepts a '
                    'top-level `system` parameter, not "system" as an input message role.')
        if role not in ("user", "assistant"):
            return ("messages.%d.role: Input should be 'user' or 'assistant'" % i)
        if i == 0 and role != "user":
            return 'messages: first message must use the "user" role'
        if role == prev_role:
            return ('messages: roles must alternate between "user" and "assistant", but '
                    'found multiple "%s" roles in a row' % role)
        content = m["content"]
        blocks = content if isinstance(content, list) else []
        if not isinstance(content, (str, list)):
            return "messages.%d.content: Input should be a valid list" % i
        if isinstance(content, list) and not content and i != len(msgs) - 1:
            return "messages.%d: all messages must have non-empty content except for the " \
                   "optional final assistant message" % i
        results, uses = set(), set()
        for j, b in enumerate(blocks):
            if not isinstance(b, dict) or b.get("type") not in BLOCK_TYPES:
                return ("messages.%d.content.%d: Input tag '%s' found using 'type' does not "
                        "match any of the expected tags" % (i, j, (b or {}).get("type")))
            if b["type"] == "tool_result":
                if role != "user":
                    return ("messages.%d.content.%d: tool_result blocks can only be in user "
                            "messages" % (i, j))
                if b.get("tool_use_id") not in prev_uses:
                    return ("messages.%d.content.%d: unexpected `tool_use_id` found in "
                            "`tool_result` blocks: %s. Each `tool_result` block must have a "
                            "corresponding `tool_use` block in the previous message."
                            % (i, j, b.get("tool_use_id")))
                results.add(b.get("tool_use_id"))
            elif b["type"] == "tool_use":
                if role != "assistant":
                    return ("messages.%d.content.%d: tool_use blocks can only be in "
                            "assistant messages" % (i, j))
                if not b.get("id") or not isinstance(b.get("input"), dict):
                    return "messages.%d.content.%d.tool_use.input: Field required" % (i, j)
                uses.add(b["id"])
        if prev_uses and not prev_uses <= results:
            return ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                    "immediately after: %s. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message."
                    % (i - 1, ", ".join(sorted(prev_uses - results))))
        prev_role, prev_uses = role, uses
    if prev_uses:
        return ("messages.%d: `tool_use` ids were found without `tool_result` blocks "
                "immediately after: %s. Each `tool_use` block must have a corresponding "
                "`tool_result` block in the next message."
                % (len(msgs) - 1, ", ".join(sorted(prev_uses))))
    return None


def view_of(body):
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last_user, tool_result, images = "", None, []
    for m in msgs:
        c = m.get("content")
        if m.get("role") == "user":
            last_user = block_text(c)
        for b in c if isinstance(c, list) else []:
            if isinstance(b, dict) and b.get("type") == "image":
                src = b.get("source") or {}
                if src.get("type") == "base64":
                    images.append(describe_inline(src.get("media_type"), src.get("data")))
                else:
                    images.append(describe_url(src.get("url")))
    if msgs and msgs[-1].get("role") == "user" and isinstance(msgs[-1].get("content"), list):
        res = [b for b in msgs[-1]["content"]
               if isinstance(b, dict) and b.get("type") == "tool_result"]
        if res:
            tool_result = block_text(res[-1].get("content"))
    fmt = "none"
    tc = body.get("tool_choice")
    if body.get("output_format") or (body.get("output_config") or {}).get("format"):
        fmt = "json_schema"
    elif isinstance(tc, dict) and tc.get("type") == "tool":
        fmt = "tool:%s" % tc.get("name")
    return View(stream=bool(body.get("stream")), prompt_words=prompt_words(body),
                last_user_text=last_user, tool_result=tool_result,
                tool_names=[t.get("name") for t in body.get("tools") or []
                            if isinstance(t, dict)],
                images=images, format_asked=fmt, max_tokens=body.get("max_tokens"),
                stop_sequences=body.get("stop_sequences") or [], model=body.get("model"))


class Handler(BaseHandler):
    server_version = "fake-anthropic/1.0"

    def extra_headers(self):
        return {"request-id": "req_011" + rand_id(21),
                "anthropic-organization-id": "00000000-0000-0000-0000-00000000fake"}

    def error(self, rec, status, model=None, message=None):
        etype, msg = ERRORS[status]
        if status == 404 and message is None:
            message = "model: %s" % model
        headers = {}
        if status == 429:
            headers = {"retry-after": RETRY_AFTER,
                       "anthropic-ratelimit-requests-limit": "3",
                       "anthropic-ratelimit-requests-remaining": "0",
                       "anthropic-ratelimit-requests-reset": "2030-01-01T00:00:07Z"}
        if status == 529:
            headers = {"x-should-retry": "true"}
        self.send_json(rec, status, error_obj(etype, message or msg), headers)
        return None

    def invalid(self, rec, message):
        self.send_json(rec, 400, error_obj("invalid_request_error", message))
        return None

    # ---- routing ----------------------------------------------------------------------
    def handle_request(self, method, rec, body):
        path = self.url_path.rstrip("/")
        if not self.headers.get("x-api-key"):
            return self.error(rec, 401, message="x-api-key header is required")
        if not self.headers.get("anthropic-version"):
            return self.invalid(rec, "anthropic-version: header is required")
        if method == "GET" and path == "/v1/models":
            return self.models(rec)
        if method == "GET" and path.startswith("/v1/models/"):
            name = path[len("/v1/models/"):]
            if name not in BEHAVIOURS:
                return self.error(rec, 404, message="model: %s" % name)
            self.send_json(rec, 200, model_obj(name))
            return None
        if method != "POST" or path not in ("/v1/messages", "/v1/messages/count_tokens"):
            self.send_json(rec, 404, error_obj("not_found_error", "Not Found"))
            return None
        if not isinstance(body, dict):
            return self.invalid(rec, "There was an issue with your request body. The "
                                     "request body is not valid JSON.")
        if path.endswith("/count_tokens"):
            body = dict(body, max_tokens=body.get("max_tokens", 1))
            problem = validate(body)
            if problem:
                return self.invalid(rec, problem)
            self.send_json(rec, 200, {"input_tokens": prompt_words(body)})
            return None
        problem = validate(body)
        if problem:
            return self.invalid(rec, problem)
        plan = plan_for(rec["behaviour"], view_of(body))
        if plan is None:
            return self.error(rec, 404, model=body.get("model"))
        return self.run_plan(rec, plan, lambda p: self.answer(rec, body, p),
                             lambda status: self.error(rec, status, body.get("model")))

    def models(self, rec):
        names = sorted(BEHAVIOURS)
        q = self.query
        limit = int(q.get("limit") or 20)
        if q.get("after_id") in names:
            names = names[names.index(q["after_id"]) + 1:]
        page = names[:limit]
        self.send_json(rec, 200, {"data": [model_obj(n) for n in page],
                                  "has_more": len(names) > limit,
                                  "first_id": page[0] if page else None,
                                  "last_id": page[-1] if page else None})
        return None

    # ---- answers ----------------------------------------------------------------------
    def _usage(self, body, plan, output):
        return {"input_tokens": prompt_words(body),
                "cache_creation_input_tokens": DETAIL_CACHE_CREATION if plan.details else 0,
                "cache_read_input_tokens": DETAIL_CACHED if plan.details else 0,
                "output_tokens": output}

    def _event(self, rec, name, obj):
        self.chunk(("event: %s\ndata: %s\n\n" % (name, json.dumps(obj, separators=(",", ":"))))
                   .encode())
        rec["sent"].append(obj)

    def answer(self, rec, body, plan):
        stop = STOP[plan.finish]
        seq = plan.stop_sequence if stop == "stop_sequence" else None
        blocks = []
        # A refusal carries no message of its own ("No additional refusal message is
        # included"): the stop reason says it, with usage; the content stays empty.
        if plan.text is not None and plan.finish != "refusal":
            blocks.append({"type": "text", "text": plan.text})
        for name, args in plan.calls:
            blocks.append({"type": "tool_use", "id": "toolu_01" + rand_id(22), "name": name,
                           "input": args})
        msg = {"id": "msg_01" + rand_id(22), "type": "message", "role": "assistant",
               "model": body.get("model"), "content": blocks, "stop_reason": stop,
               "stop_sequence": seq, "usage": self._usage(body, plan, plan.completion_tokens)}
        if not body.get("stream"):
            self.send_json(rec, 200, msg)
            return None
        self.start_stream(rec, "text/event-stream; charset=utf-8")
        start = dict(msg, content=[], stop_reason=None, stop_sequence=None,
                     usage=self._usage(body, plan, 1))
        self._event(rec, "message_start", {"type": "message_start", "message": start})
        for index, b in enumerate(blocks):
            empty = {"type": "text", "text": ""} if b["type"] == "text" else \
                dict(b, input={})
            self._event(rec, "content_block_start", {"type": "content_block_start",
                                                     "index": index, "content_block": empty})
            if index == 0:
                self._event(rec, "ping", {"type": "ping"})
            if b["type"] == "text":
                for i, piece in enumerate(plan.stream_pieces()):
                    self.stream_gap(plan, i)
                    self._event(rec, "content_block_delta", {
                        "type": "content_block_delta", "index": index,
                        "delta": {"type": "text_delta", "text": piece}})
                    if self.stream_pace(plan, i):
                        return "cut"
                    if plan.error_after is not None and i + 1 == plan.error_after:
                        self._event(rec, "error", error_obj("overloaded_error", "Overloaded"))
                        self.end_chunks()
                        return None
            else:
                args = json.dumps(b["input"])
                pieces = [""] + [args[k:k + TOOL_ARG_STEP]
                                 for k in range(0, len(args), TOOL_ARG_STEP)]
                for piece in pieces:
                    self._event(rec, "content_block_delta", {
                        "type": "content_block_delta", "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece}})
            self._event(rec, "content_block_stop", {"type": "content_block_stop",
                                                    "index": index})
        self._event(rec, "message_delta", {
            "type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": seq},
            "usage": {"output_tokens": plan.completion_tokens}})
        self._event(rec, "message_stop", {"type": "message_stop"})
        self.end_chunks()
        return None


def model_obj(name):
    return {"type": "model", "id": name, "display_name": "Fake " + name,
            "created_at": "2025-02-19T00:00:00Z"}


BEHAVIOURS = sorted(COMMON)


class FakeAnthropic(FakeServer):
    """The fake Anthropic provider. base_url ends in /v1: clients add /messages."""

    handler = Handler
    base_path = "/v1"

    def message_requests(self, behaviour=None):
        return [r for r in self.requests_to("/v1/messages", behaviour)
                if "count_tokens" not in r["path"]]


if __name__ == "__main__":  # manual use: cd tests/e2e && python3 -m fakes.anthropic
    FakeAnthropic().serve_forever()
