# dialects.py - the two client dialects of hearth (OpenAI chat completions, Anthropic
# messages) as plain HTTP: build a request from a neutral case, and read an answer (whole or
# streamed) back into one neutral Outcome, so one table of cases runs for every
# (dialect x provider kind) cell.
import json

from helpers import SSE, http_request

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"},
                       "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"],
    },
}

# a 1x1 PNG
PNG_B64 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA"
           "AABJRU5ErkJggg==")


class Outcome:
    """What a client saw, in neutral terms."""

    def __init__(self):
        self.status = None
        self.text = ""
        self.tool_calls = []  # [(id, name, args dict)]
        self.finish = None    # stop | length | tool_calls | content_filter (OpenAI words)
        self.usage = None     # (prompt_tokens, completion_tokens)
        self.error = None     # (type, message) for an error body or an error event
        self.headers = {}
        self.raw = ""
        self.ended_cleanly = None  # streams: [DONE] / message_stop seen

    def __repr__(self):
        return ("Outcome(status=%r text=%r tools=%r finish=%r usage=%r error=%r raw=%r)"
                % (self.status, self.text, self.tool_calls, self.finish, self.usage,
                   self.error, self.raw[:600]))


ANTHROPIC_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                  "tool_use": "tool_calls", "refusal": "content_filter"}


class OpenAIDialect:
    name = "openai"
    path = "/v1/chat/completions"

    def headers(self):
        return {"Content-Type": "application/json"}

    def body(self, model, case, stream):
        msgs = []
        for m in case["messages"]:
            if m["role"] == "user" and "image" in m:
                img = m["image"]
                url = img if img.startswith("http") else "data:image/png;base64," + img
                msgs.append({"role": "user", "content": [
                    {"type": "text", "text": m["text"]},
                    {"type": "image_url", "image_url": {"url": url}}]})
            elif m["role"] in ("user", "system"):
                msgs.append({"role": m["role"], "content": m["text"]})
            elif m["role"] == "assistant_calls":
                msgs.append({"role": "assistant", "content": None, "tool_calls": [
                    {"id": cid, "type": "function",
                     "function": {"name": name, "arguments": json.dumps(args)}}
                    for cid, name, args in m["calls"]]})
            elif m["role"] == "tool":
                msgs.append({"role": "tool", "tool_call_id": m["id"], "content": m["text"]})
        b = {"model": model, "messages": msgs}
        if case.get("tools"):
            b["tools"] = [{"type": "function", "function": t} for t in case["tools"]]
        if case.get("json"):
            b["response_format"] = {"type": "json_object"}
        if stream:
            b["stream"] = True
            b["stream_options"] = {"include_usage": True}
        return b

    def read(self, r, stream):
        o = Outcome()
        o.status, o.headers, o.raw = r.status, r.headers, r.text
        if not stream or not (r.header("Content-Type") or "").startswith("text/event-stream"):
            try:
                j = json.loads(o.raw)
            except ValueError:
                return o
            if "error" in j:
                o.error = (j["error"].get("type"), j["error"].get("message"))
                return o
            ch = j["choices"][0]
            o.text = ch["message"].get("content") or ""
            for tc in ch["message"].get("tool_calls") or []:
                o.tool_calls.append((tc["id"], tc["function"]["name"],
                                     json.loads(tc["function"]["arguments"] or "{}")))
            o.finish = ch["finish_reason"]
            u = j.get("usage")
            o.usage = (u["prompt_tokens"], u["completion_tokens"]) if u else None
            return o
        sse = SSE(o.raw)
        o.ended_cleanly = sse.done
        calls = {}
        for obj in sse.objects:
            if "error" in obj:
                o.error = (obj["error"].get("type"), obj["error"].get("message"))
                continue
            if obj.get("usage"):
                o.usage = (obj["usage"]["prompt_tokens"], obj["usage"]["completion_tokens"])
            for ch in obj.get("choices") or []:
                d = ch.get("delta") or {}
                o.text += d.get("content") or ""
                for tc in d.get("tool_calls") or []:
                    c = calls.setdefault(tc["index"], {"id": None, "name": "", "args": ""})
                    c["id"] = tc.get("id") or c["id"]
                    fn = tc.get("function") or {}
                    c["name"] += fn.get("name") or ""
                    c["args"] += fn.get("arguments") or ""
                if ch.get("finish_reason"):
                    o.finish = ch["finish_reason"]
        for i in sorted(calls):
            c = calls[i]
            o.tool_calls.append((c["id"], c["name"], json.loads(c["args"] or "{}")))
        return o


class AnthropicDialect:
    name = "anthropic"
    path = "/v1/messages"

    def headers(self):
        return {"Content-Type": "application/json", "anthropic-version": "2023-06-01"}

    def body(self, model, case, stream):
        msgs, system = [], None
        for m in case["messages"]:
            if m["role"] == "system":
                system = m["text"]
            elif m["role"] == "user" and "image" in m:
                img = m["image"]
                src = ({"type": "url", "url": img} if img.startswith("http") else
                       {"type": "base64", "media_type": "image/png", "data": img})
                msgs.append({"role": "user", "content": [
                    {"type": "text", "text": m["text"]}, {"type": "image", "source": src}]})
            elif m["role"] == "user":
                msgs.append({"role": "user", "content": m["text"]})
            elif m["role"] == "assistant_calls":
                msgs.append({"role": "assistant", "content": [
                    {"type": "tool_use", "id": cid, "name": name, "input": args}
                    for cid, name, args in m["calls"]]})
            elif m["role"] == "tool":
                block = {"type": "tool_result", "tool_use_id": m["id"], "content": m["text"]}
                if msgs and msgs[-1]["role"] == "user" and isinstance(msgs[-1]["content"], list):
                    msgs[-1]["content"].append(block)
                else:
                    msgs.append({"role": "user", "content": [block]})
        b = {"model": model, "max_tokens": 256, "messages": msgs}
        if system:
            b["system"] = system
        if case.get("tools"):
            b["tools"] = [{"name": t["name"], "description": t["description"],
                           "input_schema": t["parameters"]} for t in case["tools"]]
        if stream:
            b["stream"] = True
        return b

    def read(self, r, stream):
        o = Outcome()
        o.status, o.headers, o.raw = r.status, r.headers, r.text
        if not stream or not (r.header("Content-Type") or "").startswith("text/event-stream"):
            try:
                j = json.loads(o.raw)
            except ValueError:
                return o
            if j.get("type") == "error":
                o.error = (j["error"]["type"], j["error"]["message"])
                return o
            for b in j["content"]:
                if b["type"] == "text":
                    o.text += b["text"]
                elif b["type"] == "tool_use":
                    o.tool_calls.append((b["id"], b["name"], b["input"]))
            o.finish = ANTHROPIC_STOP.get(j["stop_reason"], j["stop_reason"])
            u = j["usage"]
            o.usage = (u["input_tokens"] + u.get("cache_read_input_tokens", 0)
                       + u.get("cache_creation_input_tokens", 0), u["output_tokens"])
            return o
        blocks = {}
        usage = {}
        order = []
        o.ended_cleanly = False
        for ev in _sse_events(o.raw):
            name, data = ev
            if name == "error":
                j = json.loads(data)
                o.error = (j["error"]["type"], j["error"]["message"])
                continue
            j = json.loads(data)
            t = j["type"]
            assert t == name, "event name %r and data type %r differ" % (name, t)
            if t == "message_start":
                usage.update(j["message"]["usage"])
            elif t == "content_block_start":
                blocks[j["index"]] = dict(j["content_block"], _json="")
                order.append(j["index"])
            elif t == "content_block_delta":
                b, d = blocks[j["index"]], j["delta"]
                if d["type"] == "text_delta":
                    b["text"] += d["text"]
                elif d["type"] == "input_json_delta":
                    b["_json"] += d["partial_json"]
            elif t == "message_delta":
                o.finish = ANTHROPIC_STOP.get(j["delta"]["stop_reason"], j["delta"]["stop_reason"])
                usage.update({k: v for k, v in j.get("usage", {}).items() if v is not None})
            elif t == "message_stop":
                o.ended_cleanly = True
        for i in order:
            b = blocks[i]
            if b["type"] == "text":
                o.text += b["text"]
            elif b["type"] == "tool_use":
                o.tool_calls.append((b["id"], b["name"], json.loads(b["_json"] or "{}")))
        if usage:
            o.usage = (usage.get("input_tokens", 0) + usage.get("cache_read_input_tokens", 0)
                       + usage.get("cache_creation_input_tokens", 0),
                       usage.get("output_tokens", 0))
        return o


def _sse_events(text):
    """(event name, data) pairs of an SSE body; comments skipped."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event":
                name = v
            elif k == "data":
                data.append(v)
        if data:
            out.append((name, "\n".join(data)))
    return out


DIALECTS = {"openai": OpenAIDialect(), "anthropic": AnthropicDialect()}


def call(hearth, dialect, model, case, stream=False, timeout=30):
    d = DIALECTS[dialect]
    r = http_request(hearth.port, "POST", d.path, d.body(model, case, stream),
                     headers=d.headers(), timeout=timeout)
    return d.read(r, stream)
