# test_fakes.py - self-tests of the fake providers, without hearth: framing, event order,
# validation errors and the common behaviours, so a fake's own mistake shows up here first.
import base64
import http.client
import json
import struct
import threading
import time

import pytest

from fakes.anthropic import FakeAnthropic
from fakes.base import (BAD_REQUEST_MESSAGE, HOLD_S, NOT_JSON_TEXT, PARALLEL_LOCATIONS,
                        REFUSAL_TEXT, TOOL_ARGS_OBJ, embedding)
from fakes.gemini import FakeGemini, sse_events
from fakes.ollama import FakeOllama, ndjson
from fakes.openai import FakeOpenAI
from helpers import SSE, read_all

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 8
PNG_B64 = base64.b64encode(PNG).decode()
AKEY = {"x-api-key": "sk-ant-fake", "anthropic-version": "2023-06-01"}
GKEY = {"x-goog-api-key": "fake-key"}


class R:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        self.text = raw.decode()

    def json(self):
        return json.loads(self.raw)


def call(fake, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    try:
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        conn.request(method, path, json.dumps(body) if body is not None else None, h)
        r = conn.getresponse()
        return R(r.status, r.headers, read_all(r))
    finally:
        conn.close()


@pytest.fixture(scope="module")
def fakes():
    made = {"openai": FakeOpenAI().start(), "anthropic": FakeAnthropic().start(),
            "gemini": FakeGemini().start(), "ollama": FakeOllama().start()}
    yield made
    for f in made.values():
        f.close()


# ---- one request per wire format, so the common behaviours can be checked in a table -------
def ask(fakes, kind, behaviour, text="hello there", stream=False, tools=False,
        tool_result=None, extra=None):
    """Sends a chat request of kind's format; returns (R, answer text, tool calls, finish)."""
    if kind == "openai":
        msgs = [{"role": "user", "content": text}]
        if tool_result is not None:
            msgs += [{"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": tool_result}]
        body = {"model": behaviour, "messages": msgs, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if tools:
            body["tools"] = [{"type": "function", "function": {"name": "lookup_weather",
                                                                "parameters": {}}}]
        body.update(extra or {})
        r = call(fakes["openai"], "POST", "/v1/chat/completions", body)
        if r.status != 200:
            return r, None, None, None
        if stream:
            sse = SSE(r.text)
            calls = {}
            for c in sse.chunks:
                for ch in c["choices"]:
                    for tc in ch["delta"].get("tool_calls") or []:
                        cur = calls.setdefault(tc["index"], ["", ""])
                        cur[0] += tc["function"].get("name") or ""
                        cur[1] += tc["function"].get("arguments") or ""
            fin = sse.finish_reasons()
            return (r, sse.content(), [(n, json.loads(a)) for n, a in calls.values()],
                    fin[-1] if fin else None)
        ch = r.json()["choices"][0]
        calls = [(t["function"]["name"], json.loads(t["function"]["arguments"]))
                 for t in ch["message"].get("tool_calls") or []]
        return r, ch["message"]["content"], calls, ch["finish_reason"]
    if kind == "anthropic":
        msgs = [{"role": "user", "content": text}]
        if tool_result is not None:
            msgs += [{"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": tool_result}]}]
        body = {"model": behaviour, "max_tokens": 100, "messages": msgs, "stream": stream}
        if tools:
            body["tools"] = [{"name": "lookup_weather", "input_schema": {"type": "object"}}]
        body.update(extra or {})
        r = call(fakes["anthropic"], "POST", "/v1/messages", body, AKEY)
        if r.status != 200:
            return r, None, None, None
        if stream:
            text, calls, stop = "", {}, None
            for name, obj in anthropic_events(r.text):
                if name == "content_block_start" and obj["content_block"]["type"] == "tool_use":
                    calls[obj["index"]] = [obj["content_block"]["name"], ""]
                elif name == "content_block_delta":
                    d = obj["delta"]
                    if d["type"] == "text_delta":
                        text += d["text"]
                    else:
                        calls[obj["index"]][1] += d["partial_json"]
                elif name == "message_delta":
                    stop = obj["delta"]["stop_reason"]
            return r, text, [(n, json.loads(a)) for n, a in calls.values()], stop
        m = r.json()
        text = "".join(b["text"] for b in m["content"] if b["type"] == "text")
        calls = [(b["name"], b["input"]) for b in m["content"] if b["type"] == "tool_use"]
        return r, text, calls, m["stop_reason"]
    if kind == "gemini":
        contents = [{"role": "user", "parts": [{"text": text}]}]
        if tool_result is not None:
            contents += [{"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {}}}]},
                {"role": "user", "parts": [{"functionResponse": {
                    "name": "get_weather", "response": {"content": tool_result}}}]}]
        body = {"contents": contents}
        if tools:
            body["tools"] = [{"functionDeclarations": [{"name": "lookup_weather"}]}]
        body.update(extra or {})
        verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
        r = call(fakes["gemini"], "POST", "/v1beta/models/%s:%s" % (behaviour, verb), body,
                 GKEY)
        if r.status != 200:
            return r, None, None, None
        objs = sse_events(r.text) if stream else [r.json()]
        text, calls, fin = "", [], None
        for o in objs:
            for c in o.get("candidates") or []:
                for p in (c.get("content") or {}).get("parts") or []:
                    text += p.get("text", "")
                    if "functionCall" in p:
                        calls.append((p["functionCall"]["name"], p["functionCall"]["args"]))
                fin = c.get("finishReason") or fin
        return r, text, calls, fin
    msgs = [{"role": "user", "content": text}]
    if tool_result is not None:
        msgs += [{"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {}}}]},
            {"role": "tool", "content": tool_result}]
    body = {"model": behaviour, "messages": msgs, "stream": stream}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "lookup_weather"}}]
    body.update(extra or {})
    r = call(fakes["ollama"], "POST", "/api/chat", body)
    if r.status != 200:
        return r, None, None, None
    objs = ndjson(r.text) if stream else [r.json()]
    text, calls, fin = "", [], None
    for o in objs:
        if "error" in o:
            continue
        text += o["message"]["content"]
        calls += [(t["function"]["name"], t["function"]["arguments"])
                  for t in o["message"].get("tool_calls") or []]
        fin = o.get("done_reason") or fin
    return r, text, calls, fin


def anthropic_events(text):
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        lines = block.split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), block
        name, obj = lines[0][7:], json.loads(lines[1][6:])
        assert obj["type"] == name
        out.append((name, obj))
    return out


KINDS = ["openai", "anthropic", "gemini", "ollama"]
STOPS = {"openai": ("stop", "length", "tool_calls"),
         "anthropic": ("end_turn", "max_tokens", "tool_use"),
         "gemini": ("STOP", "MAX_TOKENS", "STOP"),
         "ollama": ("stop", "length", "stop")}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_common_behaviours(fakes, kind, stream):
    stop, length, tool = STOPS[kind]
    r, text, calls, fin = ask(fakes, kind, "echo", "hello there friend", stream)
    assert (r.status, text, calls, fin) == (200, "echo: hello there friend", [], stop), r.text

    r, text, calls, fin = ask(fakes, kind, "tool-call", stream=stream, tools=True)
    assert calls == [("lookup_weather", TOOL_ARGS_OBJ)] and fin == tool, r.text
    r, text, calls, fin = ask(fakes, kind, "parallel-tools", stream=stream, tools=True)
    assert [c[1]["location"] for c in calls] == list(PARALLEL_LOCATIONS)
    assert {c[0] for c in calls} == {"lookup_weather"}
    r, text, calls, fin = ask(fakes, kind, "tool-call", stream=stream, tools=True,
                              tool_result="22 degrees")
    assert (text, calls, fin) == ("tool said: 22 degrees", [], stop), r.text

    max_extra = {"openai": {"max_tokens": 2}, "anthropic": {"max_tokens": 2},
                 "gemini": {"generationConfig": {"maxOutputTokens": 2}},
                 "ollama": {"options": {"num_predict": 2}}}[kind]
    r, text, calls, fin = ask(fakes, kind, "max-tokens", "a b c d", stream, extra=max_extra)
    assert (text, fin) == ("echo: a", length), r.text

    r, text, _, _ = ask(fakes, kind, "stream-error" if stream else "echo", "x", stream)
    if stream:
        assert text == "partial answer, then"
        assert any(w in r.text for w in ('"error"', "event: error")), r.text
    r, text, _, _ = ask(fakes, kind, "no-such-behaviour", stream=stream)
    assert r.status == 404


@pytest.mark.parametrize("kind", KINDS)
def test_error_behaviours_answer_the_status_in_the_providers_shape(fakes, kind):
    for status in (400, 401, 403, 404, 429, 500, 503, 529):
        r, _, _, _ = ask(fakes, kind, "error-%d" % status)
        want = status if (status != 529 or kind == "anthropic") else 503
        assert r.status == want, (kind, status, r.text)
        err = r.json()
        if kind == "openai":
            assert set(err["error"]) == {"message", "type", "param", "code"}
        elif kind == "anthropic":
            assert err["type"] == "error" and err["error"]["type"] and err["error"]["message"]
        elif kind == "gemini":
            assert err["error"]["code"] == want and err["error"]["status"].isupper()
        else:
            assert set(err) == {"error"} and isinstance(err["error"], str)
        if status == 429:
            assert r.headers["Retry-After"] == "7"
        if status == 400:
            assert BAD_REQUEST_MESSAGE in r.text
    r, _, _, _ = ask(fakes, "anthropic", "error-529")
    assert r.json()["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize("kind", KINDS)
def test_broken_stream_is_cut_without_a_final_event(fakes, kind):
    r, text, _, fin = ask(fakes, kind, "broken-stream", stream=True)
    assert text == "partial answer, then" and fin is None, r.text
    assert "message_stop" not in r.text and "[DONE]" not in r.text and '"done": true' \
        not in r.text
    assert fakes[kind].wait_outcome("broken-stream", 5)["outcome"] == "cut"


# A request for JSON in each format, and how the json behaviour names what was asked.
JSON_ASKS = {
    "openai": ({"response_format": {"type": "json_schema", "json_schema": {"name": "w"}}},
               "json_schema:w"),
    "anthropic": ({"tool_choice": {"type": "tool", "name": "f"},
                   "tools": [{"name": "f", "input_schema": {}}]}, "tool:f"),
    "gemini": ({"generationConfig": {"responseMimeType": "application/json"}}, "json"),
    "ollama": ({"format": {"type": "object"}}, "json_schema"),
}


def test_json_and_image_report_what_the_request_asked(fakes):
    for kind, (extra, want) in JSON_ASKS.items():
        _, text, _, _ = ask(fakes, kind, "json", extra=extra)
        assert json.loads(text) == {"format": want}, kind
        _, text, _, _ = ask(fakes, kind, "json")
        assert json.loads(text) == {"format": "none"}, kind
    img_url = "data:image/png;base64," + PNG_B64
    r = call(fakes["openai"], "POST", "/v1/chat/completions", {"model": "image", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "what?"},
                                     {"type": "image_url", "image_url": {"url": img_url}},
                                     {"type": "image_url",
                                      "image_url": {"url": "https://x.test/a.jpg"}}]}]})
    assert r.json()["choices"][0]["message"]["content"] == \
        "image: 2 parts: image/png;16, url=https://x.test/a.jpg"
    r = call(fakes["anthropic"], "POST", "/v1/messages", {
        "model": "image", "max_tokens": 9, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": PNG_B64}}]}]}, AKEY)
    assert r.json()["content"][0]["text"] == "image: 1 parts: image/png;16"
    r = call(fakes["gemini"], "POST", "/v1beta/models/image:generateContent", {"contents": [
        {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": PNG_B64}},
                                   {"fileData": {"mimeType": "image/png",
                                                 "fileUri": "gs://b/x.png"}}]}]}, GKEY)
    assert r.json()["candidates"][0]["content"]["parts"][0]["text"] == \
        "image: 2 parts: image/png;16, url=gs://b/x.png"
    r = call(fakes["ollama"], "POST", "/api/chat", {"model": "image", "stream": False,
                                                     "messages": [{"role": "user", "content": "?",
                                                                   "images": [PNG_B64]}]})
    assert r.json()["message"]["content"] == "image: 1 parts: image/png;16"


def completion_tokens(kind, r, stream):
    """The completion token count an answer reports, in its format's place for it."""
    if kind == "openai":
        return (SSE(r.text).usage_chunks()[0] if stream else r.json())["usage"][
            "completion_tokens"]
    if kind == "anthropic":
        if not stream:
            return r.json()["usage"]["output_tokens"]
        return [o for n, o in anthropic_events(r.text) if n == "message_delta"][-1][
            "usage"]["output_tokens"]
    if kind == "gemini":
        return (sse_events(r.text)[-1] if stream else r.json())["usageMetadata"][
            "candidatesTokenCount"]
    return (ndjson(r.text)[-1] if stream else r.json())["eval_count"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_not_json_answers(fakes, kind, stream):
    stop = STOPS[kind][0]
    r, text, calls, fin = ask(fakes, kind, "empty", "hello there", stream)
    assert (r.status, text, calls, fin) == (200, "", [], stop), r.text
    assert completion_tokens(kind, r, stream) == 0, r.text

    extra, _ = JSON_ASKS[kind]  # asked for JSON, and still not given it
    for e in (extra, None):
        r, text, calls, fin = ask(fakes, kind, "not-json", stream=stream, extra=e)
        assert (r.status, text, fin) == (200, NOT_JSON_TEXT, stop), r.text
        with pytest.raises(ValueError):
            json.loads(text)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_refusal_in_each_providers_own_shape(fakes, kind, stream):
    r, text, calls, fin = ask(fakes, kind, "refusal", stream=stream)
    assert r.status == 200 and calls == [], r.text
    if kind == "openai":
        assert fin == "stop" and text in ("", None), r.text  # content stays null
        if stream:
            sse = SSE(r.text)
            assert sse.done
            refusal = "".join(ch["delta"].get("refusal") or "" for c in sse.chunks
                              for ch in c["choices"])
            assert len([c for c in sse.chunks if c["choices"] and
                        c["choices"][0]["delta"].get("refusal")]) > 1  # in pieces
        else:
            msg = r.json()["choices"][0]["message"]
            assert msg["content"] is None
            refusal = msg["refusal"]
        assert refusal == REFUSAL_TEXT
    elif kind == "anthropic":
        assert (text, fin) == ("", "refusal"), r.text
        if not stream:
            assert r.json()["content"] == [] and r.json()["usage"]["output_tokens"] > 0
    elif kind == "gemini":
        assert (text, fin) == ("", "SAFETY"), r.text
        objs = sse_events(r.text) if stream else [r.json()]
        assert all("content" not in c for o in objs for c in o["candidates"]), r.text
    else:
        assert (text, fin) == (REFUSAL_TEXT, "stop"), r.text


def test_hold_answers_like_echo_after_holding(fakes):
    # Every kind, whole and streamed, at once: the test takes one HOLD_S, not eight.
    results = {}

    def one(kind, stream):
        t0 = time.monotonic()
        r, text, _, _ = ask(fakes, kind, "hold", "held up", stream)
        results[(kind, stream)] = (r.status, text, time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(k, s)) for k in KINDS for s in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8, results
    for key, (status, text, took) in results.items():
        assert (status, text) == (200, "echo: held up"), key
        # a lower bound the fake's wait guarantees (it never wakes early), not a timing figure
        assert took >= HOLD_S, (key, took)


FAKE_CLASSES = {"openai": FakeOpenAI, "anthropic": FakeAnthropic, "gemini": FakeGemini,
                "ollama": FakeOllama}


@pytest.mark.parametrize("kind", KINDS)
def test_flaky_fails_every_second_request_of_its_fake(kind):
    # Fresh fakes: the counter belongs to one instance, so the module's fakes would carry
    # counts over from elsewhere.
    with FAKE_CLASSES[kind]() as f, FAKE_CLASSES[kind]() as other:
        both = {kind: f}
        got = []
        for i in range(6):
            r, text, _, _ = ask(both, kind, "flaky", "again", stream=bool(i % 3))
            got.append((r.status, text))
        ok = (200, "echo: again")
        assert got == [ok, (500, None)] * 3, got
        err = ask(both, kind, "error-500")[0]
        assert r.json().keys() == err.json().keys()  # the format's own 500 body
        assert ask({kind: other}, kind, "flaky")[0].status == 200  # its own counter

        statuses = []  # concurrent requests: the counter is taken under a lock
        threads = [threading.Thread(target=lambda: statuses.append(
            ask(both, kind, "flaky", stream=False)[0].status)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(statuses) == [200] * 10 + [500] * 10


# ---- OpenAI -----------------------------------------------------------------------------
def test_openai_stream_framing_and_embeddings(fakes):
    f = fakes["openai"]
    r, sse_text = ask(fakes, "openai", "usage-details", stream=True)[:2]
    sse = SSE(r.text)
    assert r.headers["Content-Type"].startswith("text/event-stream") and sse.done
    assert r.text.endswith("data: [DONE]\n\n")
    [u] = sse.usage_chunks()
    assert u["usage"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert u["usage"]["completion_tokens_details"]["reasoning_tokens"] == 3
    r = call(f, "POST", "/v1/embeddings", {"model": "echo", "input": ["a b", "c"]})
    d = r.json()
    assert d["object"] == "list" and d["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert [e["index"] for e in d["data"]] == [0, 1] and d["data"][0]["object"] == "embedding"
    assert d["data"][0]["embedding"] == embedding("a b")
    r = call(f, "POST", "/v1/embeddings", {"model": "echo", "input": "a b",
                                           "encoding_format": "base64", "dimensions": 4})
    raw = base64.b64decode(r.json()["data"][0]["embedding"])
    assert list(struct.unpack("<4f", raw)) == pytest.approx(embedding("a b", 4), abs=1e-6)
    assert call(f, "POST", "/v1/embeddings", {"model": "error-429", "input": "x"}).status == 429
    assert [r["behaviour"] for r in f.embedding_requests()][-1] == "error-429"


# ---- Anthropic --------------------------------------------------------------------------
def test_anthropic_stream_event_order(fakes):
    r = ask(fakes, "anthropic", "tool-call", stream=True, tools=True)[0]
    assert r.headers["Content-Type"].startswith("text/event-stream")
    names = [n for n, _ in anthropic_events(r.text)]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    evs = anthropic_events(r.text)
    start = evs[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["id"].startswith("msg_") and evs[1][1]["content_block"]["id"].startswith("toolu_")
    pieces = [o["delta"]["partial_json"] for n, o in evs if n == "content_block_delta"]
    assert len(pieces) > 2 and json.loads("".join(pieces)) == TOOL_ARGS_OBJ
    r = ask(fakes, "anthropic", "usage-details")[0]
    u = r.json()["usage"]
    assert set(u) == {"input_tokens", "output_tokens", "cache_creation_input_tokens",
                      "cache_read_input_tokens"} and u["cache_read_input_tokens"] == 2
    r = ask(fakes, "anthropic", "stream-error", stream=True)[0]
    assert anthropic_events(r.text)[-1] == ("error", {
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": anthropic_events(r.text)[-1][1]["request_id"]})
    r = ask(fakes, "anthropic", "stop-sequence", extra={"stop_sequences": ["END"]})[0]
    assert (r.json()["stop_reason"], r.json()["stop_sequence"]) == ("stop_sequence", "END")


ANTHROPIC_INVALID = [
    ({}, {"x-api-key": None}, 401, "x-api-key"),
    ({}, {"anthropic-version": None}, 400, "anthropic-version"),
    ({"max_tokens": None}, {}, 400, "max_tokens: Field required"),
    ({"n": 1}, {}, 400, "n: Extra inputs are not permitted"),
    ({"temperature": 1.5}, {}, 400, "temperature"),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]}, {},
     400, 'Unexpected role "system"'),
    ({"messages": [{"role": "assistant", "content": "a"}]}, {}, 400, "first message"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}, {},
     400, "roles must alternate"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": "no result"}]}, {}, 400, "without `tool_result`"),
    ({"messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]}, {}, 400,
     "unexpected `tool_use_id`"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}]}, {}, 400,
     "tool_result blocks can only be in user messages"),
]


@pytest.mark.parametrize("extra,headers,status,needle", ANTHROPIC_INVALID)
def test_anthropic_validates_like_the_real_api(fakes, extra, headers, status, needle):
    body = {"model": "echo", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    body.update(extra)
    body = {k: v for k, v in body.items() if v is not None}
    h = {k: v for k, v in dict(AKEY, **headers).items() if v is not None}
    r = call(fakes["anthropic"], "POST", "/v1/messages", body, h)
    assert r.status == status, r.text
    err = r.json()
    assert err["type"] == "error" and needle in err["error"]["message"]
    assert err["error"]["type"] == ("authentication_error" if status == 401
                                    else "invalid_request_error")


def test_anthropic_models_list(fakes):
    r = call(fakes["anthropic"], "GET", "/v1/models?limit=3", headers=AKEY)
    d = r.json()
    assert len(d["data"]) == 3 and d["has_more"] is True
    assert d["first_id"] == d["data"][0]["id"] and d["last_id"] == d["data"][-1]["id"]
    assert set(d["data"][0]) == {"type", "id", "display_name", "created_at"}


# ---- Gemini -----------------------------------------------------------------------------
def test_gemini_sse_framing_usage_and_models(fakes):
    f = fakes["gemini"]
    r = ask(fakes, "gemini", "usage-details", "a b", stream=True)[0]
    assert r.headers["Content-Type"] == "text/event-stream"
    assert r.text.startswith("data: {") and r.text.endswith("}\r\n\r\n")
    objs = sse_events(r.text)
    assert len(objs) == 3 and all(o["responseId"] == objs[0]["responseId"] for o in objs)
    u = objs[-1]["usageMetadata"]
    assert (u["promptTokenCount"], u["candidatesTokenCount"], u["cachedContentTokenCount"],
            u["thoughtsTokenCount"], u["totalTokenCount"]) == (2, 3, 2, 3, 8)
    assert "usageMetadata" not in ask(fakes, "gemini", "no-usage")[0].json()
    r = call(f, "POST", "/v1beta/models/echo:generateContent?key=k",
             {"contents": [{"parts": [{"text": "hi"}]}]})
    assert r.status == 200 and r.json()["candidates"][0]["content"]["role"] == "model"
    r = call(f, "POST", "/v1beta/models/blocked:generateContent", {"contents": [
        {"parts": [{"text": "hi"}]}]}, GKEY)
    assert r.json()["promptFeedback"]["blockReason"] == "SAFETY" and "candidates" not in r.json()
    r = call(f, "GET", "/v1beta/models", headers=GKEY)
    m = r.json()["models"][0]
    assert m["name"].startswith("models/") and "generateContent" in m[
        "supportedGenerationMethods"]
    r = call(f, "POST", "/v1beta/models/echo:embedContent",
             {"content": {"parts": [{"text": "a b"}]}}, GKEY)
    assert r.json() == {"embedding": {"values": embedding("a b")}}
    r = call(f, "POST", "/v1beta/models/echo:batchEmbedContents", {"requests": [
        {"model": "models/echo", "content": {"parts": [{"text": "x"}]}}] * 2}, GKEY)
    assert len(r.json()["embeddings"]) == 2


GEMINI_INVALID = [
    ({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "temperature": 1},
     'Unknown name "temperature": Cannot find field.'),
    ({"contents": [{"role": "user", "parts": [{"text": "x"}]}], "generationConfig": {
        "responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "additionalProperties": False}}},
     'Unknown name "additionalProperties" at \'generation_config.response_schema\''),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
     "Please use a valid role: user, model."),
    ({"contents": []}, "contents is not specified"),
    ({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f",
                                                                   "response": {}}}]}]},
     "function response turn comes immediately after a function call turn"),
    ({"contents": [{"role": "user", "parts": [{"text": "x"}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "auto"}}},
     "Invalid value at 'tool_config.function_calling_config.mode'"),
]


@pytest.mark.parametrize("body,needle", GEMINI_INVALID)
def test_gemini_validates_like_the_real_api(fakes, body, needle):
    r = call(fakes["gemini"], "POST", "/v1beta/models/echo:generateContent", body, GKEY)
    assert r.status == 400, r.text
    err = r.json()["error"]
    assert err["code"] == 400 and err["status"] == "INVALID_ARGUMENT"
    assert needle in err["message"]


def test_gemini_key_is_required(fakes):
    r = call(fakes["gemini"], "POST", "/v1beta/models/echo:generateContent",
             {"contents": [{"parts": [{"text": "x"}]}]})
    assert r.status == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"


# ---- Ollama -----------------------------------------------------------------------------
def test_ollama_ndjson_defaults_and_routes(fakes):
    f = fakes["ollama"]
    r = call(f, "POST", "/api/chat", {"model": "echo:latest",
                                      "messages": [{"role": "user", "content": "a b"}]})
    assert r.headers["Content-Type"] == "application/x-ndjson"
    lines = r.text.split("\n")
    assert lines[-1] == "" and all(json.loads(x) for x in lines[:-1])
    objs = ndjson(r.text)
    assert [o["done"] for o in objs] == [False, False, False, True]
    last = objs[-1]
    assert last["done_reason"] == "stop" and last["prompt_eval_count"] == 2
    assert last["eval_count"] == 3 and last["created_at"].endswith("Z")
    assert {"total_duration", "load_duration", "prompt_eval_duration",
            "eval_duration"} <= set(last)
    r = ask(fakes, "ollama", "no-usage")[0]
    assert "eval_count" not in r.json() and "prompt_eval_count" not in r.json()
    r = call(f, "POST", "/api/embed", {"model": "echo", "input": "a b"})
    d = r.json()
    assert d["embeddings"] == [embedding("a b")] and d["prompt_eval_count"] == 2
    tags = call(f, "GET", "/api/tags").json()["models"]
    assert tags[0]["name"].endswith(":latest") and tags[0]["details"]["format"] == "gguf"
    r = call(f, "POST", "/api/chat", {"model": "missing", "messages": []})
    assert (r.status, r.json()) == (404, {"error": "model 'missing' not found"})


def test_ollama_refuses_string_tool_arguments(fakes):
    r = call(fakes["ollama"], "POST", "/api/chat", {"model": "echo", "messages": [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
        {"role": "tool", "content": "r"}]})
    assert r.status == 400
    assert "cannot unmarshal string" in r.json()["error"]


def test_every_fake_records_requests(fakes):
    for kind, f in fakes.items():
        assert f.requests, kind
        rec = f.requests[-1]
        assert {"method", "path", "headers", "body", "behaviour", "status",
                "outcome"} <= set(rec)
        assert all(k == k.lower() for k in rec["headers"])
        assert "(no requests)" not in f.summary()
