# test_routing.py - tasks, rules and the reliability around them, end to end: fallbacks and
# retries before the first byte, circuit breakers, local-only and sensitive requests that
# never reach a cloud provider, and the explanation every answer carries.
import json

import pytest

from helpers import SSE, chat_body, http_request

LOCAL, CLOUD = "p-ollama", "p-openai"


def routing_config(kind_fakes, tasks=None, rules=None):
    def mutate(cfg):
        cfg["providers"] = {
            CLOUD: {"kind": "openai", "base_url": kind_fakes["openai"].base_url,
                    "api_key": "env:FAKE_KEY", "locality": "cloud",
                    "first_byte_timeout_ms": 1000, "total_timeout_ms": 10000},
            LOCAL: {"kind": "ollama", "base_url": kind_fakes["ollama"].base_url,
                    "first_byte_timeout_ms": 1000, "total_timeout_ms": 10000},
            "p-dead": {"kind": "openai", "base_url": "http://127.0.0.1:9/v1",
                       "connect_timeout_ms": 500, "locality": "local"},
        }
        models = {}
        for b in ("echo", "error-500", "error-503", "error-429", "error-400", "slow-headers",
                  "broken-stream", "tool-call"):
            models["cloud-" + b] = {"provider": CLOUD, "upstream": b,
                                    "input_price_per_mtok": 3, "output_price_per_mtok": 15}
            models["local-" + b] = {"provider": LOCAL, "upstream": b}
        models["cheap-cloud"] = {"provider": CLOUD, "upstream": "echo",
                                 "input_price_per_mtok": 0.1, "output_price_per_mtok": 0.2}
        models["local-dead"] = {"provider": "p-dead", "upstream": "x"}
        cfg["models"] = models
        cfg["tasks"] = tasks or {}
        if rules:
            cfg["rules"] = rules
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(tasks=None, rules=None):
        return hearth_factory(mutate=routing_config(kind_fakes, tasks, rules))
    return make_


def chat(h, model, text="hello there", stream=False, headers=None):
    return http_request(h.port, "POST", "/v1/chat/completions",
                        chat_body(model, text, stream=stream), headers=headers)


def route(r):
    return dict(kv.split("=", 1) for kv in r.header("X-Hearth-Route").split("; "))


def calls(fake, upstream):
    return [q for q in fake.requests if (q.get("body") or {}).get("model") == upstream]


def test_fallback_to_the_next_candidate(make, kind_fakes):
    h = make({"resilient": {"candidates": ["cloud-error-500", "local-echo"], "max_retries": 0}})
    r = chat(h, "task:resilient")
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: hello there"
    assert r.header("X-Hearth-Model") == "local-echo"
    rt = route(r)
    assert rt["task"] == "resilient" and rt["model"] == "local-echo", rt
    assert "cloud-error-500:upstream_error" in rt["failed"], rt
    rec = h.record(r.header("X-Request-Id"))
    assert rec["attempts"] == 2 and rec["task"] == "resilient", rec
    assert rec["model_used"] == "local-echo" and rec["status"] == 200, rec
    assert "failed=cloud-error-500" in rec["route"], rec


def test_retry_then_fallback(make, kind_fakes):
    h = make({"t": {"candidates": ["cloud-error-503", "local-echo"], "max_retries": 1}})
    before = len(calls(kind_fakes["openai"], "error-503"))
    r = chat(h, "task:t")
    assert r.status == 200, r
    assert len(calls(kind_fakes["openai"], "error-503")) - before == 2  # one retry
    assert h.record(r.header("X-Request-Id"))["attempts"] == 3


def test_long_retry_after_goes_to_the_next_candidate_at_once(make, kind_fakes):
    h = make({"t": {"candidates": ["cloud-error-429", "local-echo"], "max_retries": 3}})
    before = len(calls(kind_fakes["openai"], "error-429"))
    r = chat(h, "task:t")
    assert r.status == 200, r  # Retry-After: 7 is longer than hearth waits
    assert len(calls(kind_fakes["openai"], "error-429")) - before == 1


@pytest.mark.parametrize("first", ["local-dead", "cloud-slow-headers"])
def test_refused_or_stalled_provider_falls_back(make, first):
    h = make({"t": {"candidates": [first, "local-echo"], "max_retries": 0}})
    r = chat(h, "task:t")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "local-echo"


def test_client_errors_are_not_retried(make, kind_fakes):
    h = make({"t": {"candidates": ["cloud-error-400", "local-echo"]}})
    r = chat(h, "task:t")
    assert r.status == 400, r  # the request is wrong: another model would refuse it too
    assert r.header("X-Hearth-Model") == "cloud-error-400"


def test_stream_falls_back_before_the_first_byte(make):
    h = make({"t": {"candidates": ["cloud-error-500", "local-echo"], "max_retries": 0}})
    r = chat(h, "task:t", stream=True)
    assert r.status == 200, r
    sse = SSE(r.text)
    assert sse.done and sse.content() == "echo: hello there", r.text
    assert r.header("X-Hearth-Model") == "local-echo"


def test_stream_failing_after_the_first_byte_is_a_visible_error(make, kind_fakes):
    h = make({"t": {"candidates": ["cloud-broken-stream", "local-echo"]}})
    before = len(calls(kind_fakes["ollama"], "echo"))
    r = chat(h, "task:t", stream=True)
    assert r.status == 200, r
    sse = SSE(r.text)
    assert sse.error is not None and not sse.done, r.text
    assert len(calls(kind_fakes["ollama"], "echo")) == before  # no second answer spliced in
    rec = h.record(r.header("X-Request-Id"))
    assert rec["error_code"] == "upstream_stream_broken", rec


def test_local_only_task_never_reaches_the_cloud(make, kind_fakes):
    h = make({"private": {"candidates": ["cloud-echo", "local-dead"], "local_only": True}})
    before = len(kind_fakes["openai"].requests)
    r = chat(h, "task:private")
    assert r.status == 503, r
    assert "local" in r.json()["error"]["message"], r
    assert len(kind_fakes["openai"].requests) == before
    assert "cloud-echo:cloud model for a local-only task" in route(r)["skipped"], route(r)


def test_sensitive_request_stays_local(make, kind_fakes):
    h = make({"mixed": {"candidates": ["cloud-echo", "local-echo"]}})
    before = len(kind_fakes["openai"].requests)
    r = chat(h, "task:mixed", headers={"X-Hearth-Sensitive": "1"})
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r
    assert len(kind_fakes["openai"].requests) == before
    r = chat(h, "cloud-echo", headers={"X-Hearth-Sensitive": "true"})  # a plain cloud model
    assert r.status == 503, r
    assert len(kind_fakes["openai"].requests) == before


def test_breaker_opens_and_skips_the_failing_model(make, kind_fakes):
    h = make({"t": {"candidates": ["cloud-error-500", "local-echo"], "max_retries": 0}})
    for _ in range(5):
        assert chat(h, "task:t").status == 200
    before = len(calls(kind_fakes["openai"], "error-500"))
    r = chat(h, "task:t")
    assert r.status == 200, r
    assert len(calls(kind_fakes["openai"], "error-500")) == before  # not called: open
    assert "cloud-error-500:breaker open" in route(r)["skipped"], route(r)


def test_task_header_rules_and_auto(make):
    h = make({"chatty": {"candidates": ["local-echo"]},
              "code": {"candidates": ["cloud-echo"]}},
             rules=[{"task": "code", "contains_code": True, "model": "auto"}])
    r = chat(h, "cloud-echo", headers={"X-Hearth-Task": "chatty"})
    assert r.header("X-Hearth-Model") == "local-echo", r
    assert route(r)["via"] == "header", route(r)
    r = chat(h, "auto", text="fix this:\n```python\ndef f(x):\n    return x +\n```")
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    assert route(r)["via"].startswith("rule"), route(r)
    r = chat(h, "auto", text="what is the capital of France?")
    assert r.status == 200, r  # built-in auto: the cheapest capable model
    assert route(r)["strategy"] == "cheapest", route(r)


def test_cheapest_strategy(make):
    h = make({"t": {"candidates": ["cloud-echo", "cheap-cloud"], "strategy": "cheapest"}})
    r = chat(h, "task:t")
    assert r.header("X-Hearth-Model") == "cheap-cloud", r


def test_plain_model_is_not_retried(make, kind_fakes):
    h = make()
    before = len(calls(kind_fakes["openai"], "error-500"))
    r = chat(h, "cloud-error-500")
    assert r.status == 502, r
    assert len(calls(kind_fakes["openai"], "error-500")) - before == 1
    assert route(r)["task"] == "cloud-error-500", route(r)


def test_unknown_task_is_a_404(make):
    h = make({"t": {"candidates": ["local-echo"]}})
    r = chat(h, "task:nope")
    assert r.status == 404, r
    assert "nope" in r.json()["error"]["message"]
