# test_route_explain.py - POST /api/v1/route/explain and `hearth route explain`: the plan a
# chat request would get right now, made by the chat endpoints' own planning, without any
# model being called.
import json

import pytest

from helpers import chat_body, http_request
from test_routing import CLOUD, LOCAL, routing_config

TASKS = {
    "mixed": {"candidates": ["cloud-echo", "local-echo"]},
    "code": {"candidates": ["cheap-cloud", "local-echo"], "strategy": "cheapest"},
    "summ": {"candidates": ["local-echo", "cloud-echo"], "strategy": "cascade"},
}
RULES = [{"task": "code", "model": "auto", "contains_code": True}]
CODE = "fix this:\n```python\ndef f(x):\n    return x +\n```"


@pytest.fixture
def h(hearth_factory, kind_fakes):
    return hearth_factory(mutate=routing_config(kind_fakes, TASKS, RULES))


def explain(h, model, text="hello there", headers=None, query="", **extra):
    return http_request(h.port, "POST", "/api/v1/route/explain" + query,
                        chat_body(model, text, **extra), headers=headers)


@pytest.fixture
def no_calls(kind_fakes):
    """Asserts that the fakes got no request while the test ran."""
    before = {k: len(f.requests) for k, f in kind_fakes.items()}
    yield
    assert {k: len(f.requests) for k, f in kind_fakes.items()} == before


def names(xs):
    return [x["model"] for x in xs]


def test_a_task_by_name(h, no_calls):
    r = explain(h, "task:mixed")
    assert r.status == 200, r
    j = r.json()
    assert j["task"] == "mixed" and j["via"] == "task" and j["rule"] is None, j
    assert j["strategy"] == "ordered" and j["local_only"] is False, j
    assert names(j["candidates"]) == ["cloud-echo", "local-echo"], j
    c = j["candidates"][0]
    assert c["provider"] == CLOUD and c["locality"] == "cloud" and c["breaker"] == "closed", c
    assert c["input_price_per_mtok"] == 3 and c["inflight"] == 0, c
    assert j["candidates"][1]["locality"] == "local", j
    assert j["route"] == "task=mixed; via=task; strategy=ordered; model=cloud-echo", j
    assert j["features"]["est_tokens"] > 0 and j["features"]["sensitive"] is False, j
    assert "error" not in j


def test_header_rule_auto_and_plain_model(h, no_calls):
    j = explain(h, "cloud-echo", headers={"X-Hearth-Task": "summ"}).json()
    assert j["task"] == "summ" and j["via"] == "header", j
    assert names(j["candidates"]) == ["local-echo", "cloud-echo"], j  # cascade: local first
    j = explain(h, "auto", CODE).json()
    assert j["via"] == "rule" and j["rule"] == 0 and j["task"] == "code", j
    assert j["features"]["contains_code"] is True, j
    assert names(j["candidates"])[0] == "local-echo", j  # cheapest: the free local one
    j = explain(h, "auto", "what is the capital of France?").json()
    assert j["via"] == "auto" and j["strategy"] == "cheapest", j
    j = explain(h, "cloud-echo").json()
    assert j["via"] == "model" and names(j["candidates"]) == ["cloud-echo"], j


def test_sensitive_requests_skip_cloud_models_with_the_reason(h, no_calls):
    j = explain(h, "task:mixed", headers={"X-Hearth-Sensitive": "1"}).json()
    assert j["local_only"] is True and j["features"]["sensitive"] is True, j
    assert names(j["candidates"]) == ["local-echo"], j
    assert j["skipped"] == [{"model": "cloud-echo", "reason": "sensitive request, cloud model"}]


def test_a_request_no_model_can_take_is_explained(h, no_calls):
    r = explain(h, "cloud-echo", headers={"X-Hearth-Sensitive": "1"})
    assert r.status == 200, r  # the point is to see why
    j = r.json()
    assert j["candidates"] == [] and j["error"]["status"] == 503, j
    assert "sensitive request, cloud model" in j["error"]["message"], j
    assert "skipped=cloud-echo:sensitive request, cloud model" in j["route"], j


def test_capability_skips(hearth_factory, kind_fakes, no_calls):
    def mutate(cfg):
        routing_config(kind_fakes, {"t": {"candidates": ["no-tools", "local-echo"]}})(cfg)
        cfg["models"]["no-tools"] = {"provider": LOCAL, "upstream": "echo", "tools": False}
    h = hearth_factory(mutate=mutate)
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    j = explain(h, "task:t", tools=tools).json()
    assert j["skipped"] == [{"model": "no-tools", "reason": "no tools"}], j
    assert j["features"]["needs_tools"] is True, j


def test_the_anthropic_shape(h, no_calls):
    body = {"model": "task:mixed", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]}
    r = http_request(h.port, "POST", "/api/v1/route/explain?format=anthropic", body)
    assert r.status == 200 and r.json()["task"] == "mixed", r
    r = http_request(h.port, "POST", "/api/v1/route/explain?format=xml", body)
    assert r.status == 400, r


def test_errors_are_the_chat_endpoints(h, no_calls):
    r = explain(h, "task:nope")
    assert r.status == 404 and "nope" in r.json()["error"]["message"], r
    r = http_request(h.port, "POST", "/api/v1/route/explain", "{not json")
    assert r.status == 400, r
    r = http_request(h.port, "GET", "/api/v1/route/explain")
    assert r.status == 405, r


def test_it_needs_the_api_key(hearth_factory, kind_fakes):
    h = hearth_factory(mutate=routing_config(kind_fakes, TASKS),
                       env={"HEARTH_API_KEY": "sk-test-explain-0123456789"})
    assert explain(h, "task:mixed").status == 401
    r = explain(h, "task:mixed", headers={"Authorization": "Bearer sk-test-explain-0123456789"})
    assert r.status == 200, r


def test_the_cli(h, no_calls):
    url = "http://127.0.0.1:%d" % h.port
    p = h.cli("route", "explain", "--url", url, "--task", "mixed", "hello there")
    assert p.returncode == 0, p.stderr
    assert "mixed" in p.stdout and "cloud-echo" in p.stdout and "local-echo" in p.stdout, p
    assert "X-Hearth-Route: task=mixed; via=task" in p.stdout, p.stdout
    p = h.cli("route", "explain", "--url", url, "--json", "--sensitive", "--task", "mixed",
              "hi")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert names(j["candidates"]) == ["local-echo"] and j["local_only"] is True, j
    # a plan no model would take: the reasons, exit status 1
    p = h.cli("route", "explain", "--url", url, "--sensitive", "--model", "cloud-echo", "hi")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "sensitive request, cloud model" in p.stdout, p.stdout
    p = h.cli("route", "explain", "--url", url, "--task", "nope", "hi")
    assert p.returncode == 1 and "nope" in p.stderr, (p.stdout, p.stderr)
    p = h.cli("route", "explain")
    assert p.returncode == 2, p
    p = h.cli("route", "explain", "--help")
    assert p.returncode == 0 and "usage: hearth route explain" in p.stdout, p


def test_route_why_tells_how_a_past_request_was_routed(hearth_factory, kind_fakes):
    h = hearth_factory(mutate=routing_config(
        kind_fakes, {"t": {"candidates": ["cloud-error-500", "local-echo"], "max_retries": 0}}))
    r = http_request(h.port, "POST", "/v1/chat/completions", chat_body("task:t", "hello"))
    assert r.status == 200, r
    rid = r.header("X-Request-Id")
    assert h.record(rid) is not None
    p = h.cli("route", "why", rid)
    assert p.returncode == 0, p.stderr
    assert "task       t" in p.stdout and "local-echo" in p.stdout, p.stdout
    assert "failed=cloud-error-500:upstream_error" in p.stdout, p.stdout
    assert "calls      2" in p.stdout and "HTTP 200" in p.stdout, p.stdout
    p = h.cli("route", "why", "--json", rid)
    j = json.loads(p.stdout)
    assert j["route"] == r.header("X-Hearth-Route") and j["attempts"] == 2, j
    assert j["model_used"] == "local-echo" and j["status"] == 200, j
    p = h.cli("route", "why", "req_nope")
    assert p.returncode == 1 and "no request 'req_nope'" in p.stderr, p.stderr
    assert h.cli("route", "why").returncode == 2


@pytest.mark.parametrize("threshold,first", [(0.0, "cloud-echo"), (1.0, "local-echo")])
def test_learned_orders_by_the_prediction(hearth_factory, kind_fakes, threshold, first):
    from helpers import REPO
    tasks = {"l": {"candidates": ["cheap-cloud", "cloud-echo", "local-echo"],
                   "strategy": "learned", "threshold": threshold}}

    def mutate(cfg):
        routing_config(kind_fakes, tasks)(cfg)
        cfg["router"] = {"model": str(REPO / "share" / "router" / "default.json")}
    h = hearth_factory(mutate=mutate)
    j = explain(h, "task:l", "Prove that there are infinitely many primes.").json()
    assert names(j["candidates"])[0] == first, j
    assert "strategy=learned:p_strong=0." in j["route"], j
    # the answer follows the same plan
    r = http_request(h.port, "POST", "/v1/chat/completions",
                     chat_body("task:l", "Prove that there are infinitely many primes."))
    assert r.status == 200 and r.header("X-Hearth-Model") == first, r


def test_learned_without_a_model_keeps_the_listed_order(hearth_factory, kind_fakes):
    tasks = {"l": {"candidates": ["cloud-echo", "local-echo"], "strategy": "learned"}}

    def mutate(cfg):
        routing_config(kind_fakes, tasks)(cfg)
        cfg["router"] = {"model": "/nonexistent/router.json"}
    h = hearth_factory(mutate=mutate)
    j = explain(h, "task:l", "hi").json()
    assert names(j["candidates"]) == ["cloud-echo", "local-echo"], j
    assert "strategy=learned:no_model:ordered" in j["route"], j
    assert "learned router's model '/nonexistent/router.json' cannot be used" in h.stderr_text()
