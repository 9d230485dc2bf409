# test_chat.py - non-streaming chat completions through hearth: pass-through, headers, cost,
# usage records, tool calls, huge answers, keep-alive, concurrency, models and health.
import json
import threading
import time

from helpers import (COST_RE, FAKE_KEY, MODELS, PRICE_IN, PRICE_OUT, assert_cost, chat_body,
                     cost_of)


def test_echo_answer_is_the_providers_body(hearth, fake):
    r = hearth.chat(chat_body("echo", "hello there world"))
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("application/json")
    body = r.json()
    assert body["choices"][0]["message"]["content"] == "echo: hello there world"
    # passed through unchanged: the very object the provider sent
    [up] = fake.chat_requests()
    assert body == up["response"]
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")


def test_response_headers_name_request_model_and_cost(hearth):
    r = hearth.chat(chat_body("echo", "one two three"))
    assert r.status == 200, r
    assert r.header("X-Request-Id").startswith("req_")
    assert r.header("X-Hearth-Model") == "echo"
    cost = r.header("X-Hearth-Cost")
    assert cost and COST_RE.match(cost), cost
    usage = r.json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (3, 4)
    assert_cost(cost, cost_of(3, 4))
    assert r.header("X-Hearth-Usage") != "estimated"


def test_upstream_sees_upstream_model_and_provider_key(hearth, fake):
    r = hearth.chat(chat_body("echo", "hi"), headers={"X-Custom-Client": "yes"})
    assert r.status == 200, r
    [up] = fake.chat_requests()
    assert up["path"] == "/v1/chat/completions"
    assert up["body"]["model"] == "echo-upstream"
    assert up["headers"].get("authorization") == "Bearer " + FAKE_KEY
    assert up["body"]["messages"] == [{"role": "user", "content": "hi"}]
    assert not up["body"].get("stream")


def test_request_parameters_pass_through(hearth, fake):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "weather for a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                       "required": ["location"]}}}]
    extra = {
        "tools": tools,
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "temperature": 0.25,
        "max_tokens": 77,
        "stop": ["\n\n", "END"],
        "seed": 1234,
        "n": 1,
        "user": "user-e2e-42",
    }
    r = hearth.chat(chat_body("echo", "params please", **extra))
    assert r.status == 200, r
    [up] = fake.chat_requests()
    for k, v in extra.items():
        if k == "max_tokens":  # may be renamed to OpenAI's newer max_completion_tokens
            assert up["body"].get("max_tokens", up["body"].get("max_completion_tokens")) == v
        else:
            assert up["body"].get(k) == v, k


def test_usage_record_committed_with_the_response(hearth):
    before_ms = int(time.time() * 1000)
    r = hearth.chat(chat_body("echo", "alpha beta gamma delta"))
    assert r.status == 200, r
    # committed before the last byte: no polling here
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None, "no usage record right after the response"
    assert rec["model_asked"] == "echo"
    assert rec["model_used"] == "echo"
    assert rec["provider"] == "fake"
    assert "chat" in rec["endpoint"]
    assert rec["stream"] == 0
    assert (rec["prompt_tokens"], rec["completion_tokens"]) == (4, 5)
    assert rec["tokens_estimated"] == 0
    assert_cost(rec["cost_usd"], cost_of(4, 5))
    assert_cost(r.header("X-Hearth-Cost"), rec["cost_usd"])
    assert rec["status"] == 200
    assert rec["error_code"] is None
    assert rec["finish_reason"] == "stop"
    assert rec["latency_ms"] >= 0
    assert before_ms - 60000 <= rec["ts_ms"] <= int(time.time() * 1000) + 60000


def test_cached_and_reasoning_tokens_recorded(hearth):
    r = hearth.chat(chat_body("echo-details", "some words here"))
    assert r.status == 200, r
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None
    assert rec["cached_tokens"] == 2
    assert rec["reasoning_tokens"] == 3
    assert (rec["prompt_tokens"], rec["completion_tokens"]) == (3, 4)


def test_missing_usage_is_estimated_and_flagged(hearth):
    r = hearth.chat(chat_body("no-usage", "a question of a dozen words or so to estimate on"))
    assert r.status == 200, r
    assert "usage" not in r.json()
    assert r.header("X-Hearth-Usage") == "estimated"
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None
    assert rec["tokens_estimated"] == 1
    assert rec["prompt_tokens"] > 0 and rec["completion_tokens"] > 0
    assert_cost(rec["cost_usd"], cost_of(rec["prompt_tokens"], rec["completion_tokens"]))
    assert_cost(r.header("X-Hearth-Cost"), rec["cost_usd"])


def test_content_parts_are_accepted(hearth, fake):
    msg = {"role": "user", "content": [{"type": "text", "text": "parts"},
                                       {"type": "text", "text": "work"}]}
    r = hearth.chat({"model": "echo", "messages": [
        {"role": "system", "content": "be brief"}, msg]})
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: parts work"
    [up] = fake.chat_requests()
    assert up["body"]["messages"][1] == msg


def test_tool_call_answer(hearth):
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}}}}]
    r = hearth.chat(chat_body("tool-call", "weather in Paris?", tools=tools))
    assert r.status == 200, r
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"location": "Paris, France",
                                                         "unit": "celsius"}
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None and rec["finish_reason"] == "tool_calls"


def test_huge_answer_arrives_whole(hearth, fake):
    r = hearth.chat(chat_body("huge", "big one"))
    assert r.status == 200, r
    [up] = fake.chat_requests()
    assert len(r.body) >= 2 * 1024 * 1024
    assert r.json() == up["response"]
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None and rec["status"] == 200
    assert rec["completion_tokens"] == up["response"]["usage"]["completion_tokens"]


def test_keep_alive_serves_several_requests_on_one_connection(hearth):
    conn = hearth.connect()
    try:
        seen_ports, ids = set(), []
        for i, (method, path, body) in enumerate([
                ("POST", "/v1/chat/completions", chat_body("echo", "first")),
                ("GET", "/v1/models", None),
                ("POST", "/v1/chat/completions", chat_body("echo", "third")),
                ("GET", "/healthz", None)]):
            r = hearth.request(method, path, body, conn=conn)
            assert r.status == 200, (i, r)
            assert conn.sock is not None, "server closed the connection after request %d" % i
            seen_ports.add(conn.sock.getsockname()[1])
            ids.append(r.header("X-Request-Id"))
        assert len(seen_ports) == 1
        assert len(set(ids)) == len(ids)
    finally:
        conn.close()


def test_concurrent_requests_get_their_own_answers(hearth):
    n = 12
    results = [None] * n

    def one(i):
        try:
            results[i] = hearth.chat(chat_body("echo", "client number %d" % i))
        except Exception as e:  # surfaced by the assertion below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = set()
    for i, r in enumerate(results):
        assert not isinstance(r, Exception) and r is not None, (i, r)
        assert r.status == 200, (i, r)
        assert r.json()["choices"][0]["message"]["content"] == "echo: client number %d" % i
        ids.add(r.header("X-Request-Id"))
    assert len(ids) == n
    (count,) = hearth.rows("SELECT COUNT(*) AS c FROM usage_records WHERE model_asked = 'echo'")
    assert count["c"] == n


def test_models_lists_every_configured_model(hearth):
    r = hearth.get("/v1/models")
    assert r.status == 200, r
    assert r.header("X-Request-Id").startswith("req_")
    body = r.json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert set(by_id) == set(MODELS)
    for name, (provider, _) in MODELS.items():
        m = by_id[name]
        assert m["object"] == "model"
        assert isinstance(m["created"], int)
        assert m["owned_by"] == provider


def test_health_and_ready(hearth):
    r = hearth.get("/healthz")
    assert r.status == 200, r
    assert r.json() == {"status": "ok"}
    r = hearth.get("/readyz")
    assert r.status == 200, r


def test_cost_uses_the_models_prices(hearth_factory):
    def prices(cfg):
        cfg["models"]["echo"]["input_price_per_mtok"] = 3.0
        cfg["models"]["echo"]["output_price_per_mtok"] = 15.0
    h = hearth_factory(prices)
    r = h.chat(chat_body("echo", "a b c d e f g"))
    assert r.status == 200, r
    expected = cost_of(7, 8, 3.0, 15.0)
    assert expected != cost_of(7, 8, PRICE_IN, PRICE_OUT)
    assert_cost(r.header("X-Hearth-Cost"), expected)
    assert_cost(h.record(r.header("X-Request-Id"))["cost_usd"], expected)


def test_upstream_connection_is_reused(hearth, fake):
    conn = hearth.connect()  # one client connection: one worker, one upstream pool
    try:
        for text in ("first call", "second call", "third call"):
            r = hearth.chat(chat_body("echo", text), conn=conn)
            assert r.status == 200, r
    finally:
        conn.close()
    ports = [q["peer_port"] for q in fake.chat_requests()]
    assert len(ports) == 3
    assert len(set(ports)) == 1, "a new upstream connection per request: %s" % ports
