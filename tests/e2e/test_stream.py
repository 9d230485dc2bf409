# test_stream.py - streaming chat completions (SSE): framing, chunk pass-through, usage and
# cost at the end, broken and stalled upstream streams, client disconnects.
import json
import socket

import time

from helpers import COST_RE, SLOW, SSE, SANITIZED, VALGRIND, assert_cost, chat_body, cost_of


def _strip_usage(chunk):
    return {k: v for k, v in chunk.items() if k != "usage"}


def test_stream_headers_and_framing(hearth):
    r, sse = hearth.stream(chat_body("echo", "stream me please", stream=True))
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/event-stream")
    assert r.header("X-Request-Id").startswith("req_")
    assert r.header("X-Hearth-Model") == "echo"
    assert r.header("X-Hearth-Cost") == "pending"
    assert sse is not None
    assert r.text.startswith("data: ")
    assert r.text.endswith("data: [DONE]\n\n")
    # the cost comment comes after the last chunk and right before [DONE]
    kinds = [k for k, _ in sse.items]
    assert sse.items[-1] == ("data", "[DONE]")
    assert kinds[-2] == "comment"
    cost = sse.cost()
    assert cost is not None and COST_RE.match(cost), sse.comments
    assert sse.datas.count("[DONE]") == 1


def test_stream_content_and_finish(hearth):
    r, sse = hearth.stream(chat_body("echo", "one two three four five", stream=True))
    assert r.status == 200, r
    assert sse.content() == "echo: one two three four five"
    assert all(c["object"] == "chat.completion.chunk" for c in sse.chunks)
    assert sse.finish_reasons() == ["stop"]
    assert sse.error is None
    # the client did not ask for usage: no usage-only chunk reaches it
    assert sse.usage_chunks() == []
    assert all(c.get("choices") for c in sse.chunks)
    assert_cost(sse.cost(), cost_of(5, 6))


def test_every_upstream_chunk_is_forwarded(hearth, fake):
    r, sse = hearth.stream(chat_body("echo", "several words make several chunks", stream=True))
    assert r.status == 200, r
    [up] = fake.chat_requests()
    sent = [_strip_usage(c) for c in up["sent"] if c.get("choices")]
    got = [_strip_usage(c) for c in sse.chunks]
    assert len(sent) >= 5
    assert got == sent


def test_upstream_is_always_asked_for_usage(hearth, fake):
    r, _ = hearth.stream(chat_body("echo", "no usage asked", stream=True))
    assert r.status == 200, r
    r, _ = hearth.stream(chat_body("echo", "usage asked", stream=True,
                                   stream_options={"include_usage": True}))
    assert r.status == 200, r
    ups = fake.chat_requests()
    assert len(ups) == 2
    for up in ups:
        assert up["body"]["stream"] is True
        assert up["body"]["model"] == "echo-upstream"
        assert up["body"].get("stream_options", {}).get("include_usage") is True


def test_usage_chunk_forwarded_when_client_asks(hearth):
    r, sse = hearth.stream(chat_body("echo", "count these four", stream=True,
                                     stream_options={"include_usage": True}))
    assert r.status == 200, r
    [u] = sse.usage_chunks()
    assert u["choices"] == []
    assert (u["usage"]["prompt_tokens"], u["usage"]["completion_tokens"]) == (3, 4)
    # it is the last chunk, before the cost comment and [DONE]
    assert sse.chunks[-1] is u or sse.chunks[-1] == u
    assert sse.done
    assert_cost(sse.cost(), cost_of(3, 4))


def test_stream_usage_record(hearth):
    r, sse = hearth.stream(chat_body("echo", "record this stream", stream=True))
    assert r.status == 200, r
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None, "no usage record right after the stream ended"
    assert rec["stream"] == 1
    assert rec["model_asked"] == "echo" and rec["model_used"] == "echo"
    assert rec["provider"] == "fake"
    # usage came from the provider even though the client did not ask for it
    assert (rec["prompt_tokens"], rec["completion_tokens"]) == (3, 4)
    assert rec["tokens_estimated"] == 0
    assert rec["status"] == 200
    assert rec["error_code"] is None
    assert rec["finish_reason"] == "stop"
    assert_cost(rec["cost_usd"], cost_of(3, 4))
    assert_cost(sse.cost(), rec["cost_usd"])
    assert rec["ttfb_ms"] is not None and 0 <= rec["ttfb_ms"] <= rec["latency_ms"]


def test_stream_without_provider_usage_is_estimated(hearth):
    r, sse = hearth.stream(chat_body("no-usage", "estimate the tokens of this stream please",
                                     stream=True, stream_options={"include_usage": True}))
    assert r.status == 200, r
    assert sse.done and sse.error is None
    assert sse.content().startswith("echo: estimate")
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None
    assert rec["tokens_estimated"] == 1
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0
    assert_cost(sse.cost(), rec["cost_usd"])


def test_streamed_tool_call_arguments(hearth):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}}}}]
    r, sse = hearth.stream(chat_body("tool-call", "weather?", stream=True, tools=tools))
    assert r.status == 200, r
    assert sse.done
    args, names, pieces = "", set(), 0
    for c in sse.chunks:
        for ch in c["choices"]:
            for tc in (ch["delta"].get("tool_calls") or []):
                assert tc["index"] == 0
                fn = tc.get("function") or {}
                if fn.get("name"):
                    names.add(fn["name"])
                if fn.get("arguments"):
                    args += fn["arguments"]
                    pieces += 1
    assert names == {"get_weather"}
    assert pieces > 1
    assert json.loads(args) == {"location": "Paris, France", "unit": "celsius"}
    assert sse.finish_reasons() == ["tool_calls"]
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None and rec["finish_reason"] == "tool_calls"


def test_broken_upstream_stream_ends_with_error_event(hearth, fake):
    r, sse = hearth.stream(chat_body("broken-stream", "go", stream=True))
    assert r.status == 200, r
    assert sse is not None
    # what arrived before the cut is delivered, then an error the client can see
    assert sse.content() == "partial answer, then"
    assert not sse.done, "a cut stream must not end with [DONE]"
    kind, last = sse.items[-1]
    assert kind == "data"
    err = json.loads(last)["error"]
    assert err["code"] == "upstream_stream_broken"
    assert err["type"] == "api_error"
    assert isinstance(err["message"], str) and err["message"]
    assert fake.chat_requests()[0]["outcome"] == "cut"
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None
    assert rec["error_code"] == "upstream_stream_broken"
    assert rec["status"] == 200  # the status the client saw
    assert rec["stream"] == 1


def test_stalled_upstream_stream_times_out_with_error_event(hearth):
    r, sse = hearth.stream(chat_body("stall-stream", "go", stream=True))
    assert r.status == 200, r
    assert sse.content() == "first"
    assert not sse.done
    kind, last = sse.items[-1]
    assert kind == "data"
    err = json.loads(last)["error"]
    assert err["code"] == "upstream_timeout"
    assert err["type"] == "api_error"
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None
    assert rec["error_code"] == "upstream_timeout"


def test_client_disconnect_cancels_the_upstream_call(hearth, fake):
    conn = hearth.connect()
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps(chat_body("slow-stream", "go slowly", stream=True)),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200
    rid = r.getheader("X-Request-Id")
    got = b""
    while b"w1 " not in got:
        line = r.readline()
        assert line, "stream ended early: %r" % got
        got += line
    sock = conn.sock
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    r.close()
    conn.close()
    up = fake.wait_outcome("slow-stream", 5 * SLOW)
    assert up is not None, "the upstream call neither finished nor was cancelled"
    assert up["outcome"] == "aborted", "hearth let the upstream call run to its end"
    content_chunks = [c for c in up["sent"] if c.get("choices") and
                      c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) < 30
    rec = hearth.wait_record(rid, 5)
    assert rec is not None, "no usage record for the disconnected stream"
    assert rec["error_code"] == "client_closed"
    assert rec["stream"] == 1
    # the server is fine afterwards
    assert hearth.get("/healthz").status == 200


def test_slow_stream_arrives_complete(hearth):
    r, sse = hearth.stream(chat_body("slow-stream", "take your time", stream=True))
    assert r.status == 200, r
    assert sse.done
    assert sse.content() == "".join("w%d " % i for i in range(30))


def test_connection_is_reusable_after_a_stream(hearth):
    conn = hearth.connect()
    try:
        r = hearth.chat(chat_body("echo", "stream first", stream=True), conn=conn)
        assert r.status == 200, r
        assert r.text.endswith("data: [DONE]\n\n")
        port = conn.sock.getsockname()[1] if conn.sock else None
        r = hearth.chat(chat_body("echo", "then plain"), conn=conn)
        assert r.status == 200, r
        assert r.json()["choices"][0]["message"]["content"] == "echo: then plain"
        assert port is not None and conn.sock.getsockname()[1] == port
    finally:
        conn.close()


def _rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_slow_reader_gets_a_flood_whole_with_bounded_memory(hearth, fake):
    """A provider that streams 32 MiB as fast as it can, to a client that stops reading for a
    while: hearth must not buffer the whole stream (it stops reading from the provider until
    the client catches up), and the client still gets every byte, in order."""
    from fakes.openai import FLOOD_CHUNKS, FLOOD_PIECE
    conn = hearth.connect()
    conn.request("POST", "/v1/chat/completions",
                 body=json.dumps(chat_body("flood-stream", "flood me", stream=True)),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200
    first = r.readline()
    assert first.startswith(b"data: ")
    before = _rss_kib(hearth.pid)
    time.sleep(1.5 * SLOW)  # the client reads nothing; the provider keeps sending
    during = _rss_kib(hearth.pid)
    body = first + r.read()
    conn.close()
    sse = SSE(body.decode())
    assert sse.done and sse.error is None
    text = sse.content()
    assert len(text) == FLOOD_CHUNKS * FLOOD_PIECE
    assert text[:6] == "000000" and text[-FLOOD_PIECE:-FLOOD_PIECE + 6] == "%06d" % (FLOOD_CHUNKS - 1)
    if not VALGRIND and not SANITIZED:
        # without back-pressure hearth would hold most of the 32 MiB the client left unread
        assert during - before < 8 * 1024, (before, during)
