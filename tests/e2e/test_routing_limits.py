# test_routing_limits.py - what the router does when a model is busy or its answer is not
# good enough: per-model concurrency limits with a bounded queue and burst to the next
# candidate, the cascade's answer checks, and deployments that refuse hearth's credentials.
import threading
import time

import pytest

from helpers import SSE, chat_body, http_request
from test_routing import CLOUD, LOCAL, calls, route, routing_config


def limits_config(kind_fakes, tasks, models):
    base = routing_config(kind_fakes, tasks)

    def mutate(cfg):
        base(cfg)
        cfg["providers"][LOCAL]["idle_timeout_ms"] = 20000
        cfg["server"]["client_timeout_ms"] = 20000  # the busy stream is quiet for STALL_S
        # every kind as a local deployment, for the cascade (local first) to start with
        for kind in ("openai", "anthropic", "gemini"):
            cfg["providers"]["l-" + kind] = {"kind": kind,
                                             "base_url": kind_fakes[kind].base_url,
                                             "api_key": "env:FAKE_KEY", "locality": "local"}
        for name, m in models.items():
            cfg["models"][name] = m
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(tasks, models=None):
        return hearth_factory(mutate=limits_config(kind_fakes, tasks, models or {}))
    return make_


def chat(h, model, text="hello there", stream=False, headers=None, timeout=30, **extra):
    return http_request(h.port, "POST", "/v1/chat/completions",
                        chat_body(model, text, stream=stream, **extra), headers=headers,
                        timeout=timeout)


class Busy:
    """A streamed request to a model whose stream stalls: it holds one of the model's slots
    until the fake resumes (STALL_S). Started in a thread; wait() until the fake has it."""

    def __init__(self, h, fake, model):
        self.h, self.fake, self.model = h, fake, model
        self.resp = None
        self.before = len(calls(fake, "stall-stream"))
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        deadline = time.monotonic() + 10
        while len(calls(fake, "stall-stream")) == self.before:
            assert time.monotonic() < deadline, "the fake never saw the busy request"
            time.sleep(0.02)

    def _run(self):
        self.resp = chat(self.h, self.model, stream=True)

    def join(self):
        self.t.join(30)
        assert self.resp is not None and self.resp.status == 200, self.resp
        assert SSE(self.resp.text).done, self.resp.text


SLOW_LOCAL = {"provider": LOCAL, "upstream": "stall-stream", "max_concurrency": 1}


def test_a_busy_local_model_bursts_to_the_next_candidate(make, kind_fakes):
    h = make({"t": {"candidates": ["gpu", "cloud-echo"]}}, {"gpu": SLOW_LOCAL})
    busy = Busy(h, kind_fakes["ollama"], "task:t")
    r = chat(h, "task:t")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "cloud-echo", r
    assert "gpu:busy" in route(r)["skipped"], route(r)
    busy.join()
    # the slot is free again: the local model takes the next request
    r = chat(h, "task:t", stream=True)
    assert r.status == 200 and r.header("X-Hearth-Model") == "gpu", r


def test_a_busy_model_without_another_candidate_is_a_503(make, kind_fakes):
    h = make({"t": {"candidates": ["gpu"]}}, {"gpu": SLOW_LOCAL})
    busy = Busy(h, kind_fakes["ollama"], "gpu")
    before = len(calls(kind_fakes["ollama"], "stall-stream"))
    r = chat(h, "task:t")
    assert r.status == 503, r
    assert r.header("Retry-After") == "1", r
    assert "busy" in r.json()["error"]["message"], r
    assert len(calls(kind_fakes["ollama"], "stall-stream")) == before  # never called
    busy.join()


def test_a_queued_request_waits_for_the_slot(make, kind_fakes):
    gpu = dict(SLOW_LOCAL, max_queue=4)
    h = make({"t": {"candidates": ["gpu", "cloud-echo"]}}, {"gpu": gpu})
    busy = Busy(h, kind_fakes["ollama"], "task:t")
    r = chat(h, "task:t", stream=True)  # queued behind the busy one, then served by gpu
    busy.join()
    assert r.status == 200 and r.header("X-Hearth-Model") == "gpu", r
    assert SSE(r.text).done, r.text
    assert "skipped" not in route(r), route(r)


def test_a_queue_timeout_goes_to_the_next_candidate(make, kind_fakes):
    gpu = dict(SLOW_LOCAL, max_queue=4, queue_timeout_ms=200)
    h = make({"t": {"candidates": ["gpu", "cloud-echo"]}}, {"gpu": gpu})
    busy = Busy(h, kind_fakes["ollama"], "task:t")
    r = chat(h, "task:t")
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    assert "gpu:queue timeout" in route(r)["failed"], route(r)
    busy.join()


def test_a_client_leaving_the_queue_frees_its_place(make, kind_fakes):
    gpu = dict(SLOW_LOCAL, max_queue=1)
    h = make({"t": {"candidates": ["gpu"]}}, {"gpu": gpu})
    busy = Busy(h, kind_fakes["ollama"], "task:t")
    with pytest.raises(Exception):  # queued; the client gives up
        http_request(h.port, "POST", "/v1/chat/completions", chat_body("task:t"), timeout=0.5)
    time.sleep(0.2)
    busy.join()
    # had the queue kept the leaver, this one would have found it full or waited forever
    r = chat(h, "task:t", stream=True)
    assert r.status == 200 and SSE(r.text).done, r


def test_sensitive_overflow_never_reaches_the_cloud(make, kind_fakes):
    h = make({"t": {"candidates": ["gpu", "cloud-echo"]}}, {"gpu": SLOW_LOCAL})
    busy = Busy(h, kind_fakes["ollama"], "task:t")
    before = len(kind_fakes["openai"].requests)
    r = chat(h, "task:t", headers={"X-Hearth-Sensitive": "1"})
    assert r.status == 503, r
    assert len(kind_fakes["openai"].requests) == before
    busy.join()


# ---- a deployment that refuses hearth's key or does not know the model -----------------

@pytest.mark.parametrize("first", ["cloud-error-401", "cloud-error-403", "cloud-error-404"])
def test_refused_credentials_or_unknown_model_go_to_the_next_candidate(make, kind_fakes,
                                                                      first):
    models = {"cloud-error-%s" % s: {"provider": CLOUD, "upstream": "error-%s" % s}
              for s in ("401", "403", "404")}
    h = make({"t": {"candidates": [first, "local-echo"], "max_retries": 2}}, models)
    upstream = first[len("cloud-"):]
    before = len(calls(kind_fakes["openai"], upstream))
    r = chat(h, "task:t")
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r
    assert len(calls(kind_fakes["openai"], upstream)) - before == 1  # not retried
    # a plain model answers with the provider's refusal, as before
    r = chat(h, first)
    assert r.status == 502, r


# ---- cascade ----------------------------------------------------------------------------

def cascade(first, **task):
    return {"c": dict({"candidates": [first, "cloud-echo"], "strategy": "cascade"}, **task)}


def test_cascade_escalates_a_truncated_answer(make, kind_fakes):
    h = make(cascade("local-max-tokens"),
             {"local-max-tokens": {"provider": LOCAL, "upstream": "max-tokens"}})
    r = chat(h, "task:c", text="one two three four five six seven")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "cloud-echo", r
    assert r.json()["choices"][0]["message"]["content"] == "echo: one two three four five " \
        "six seven"
    assert "local-max-tokens:truncated" in route(r)["failed"], route(r)
    rec = h.record(r.header("X-Request-Id"))
    assert rec["attempts"] == 2 and rec["model_used"] == "cloud-echo", rec


@pytest.mark.parametrize("provider,behaviour,why", [
    (LOCAL, "empty", "empty"),
    ("l-openai", "empty", "empty"),
    ("l-openai", "refusal", "refused"),
    ("l-anthropic", "refusal", "refused"),
    ("l-gemini", "refusal", "refused"),
    ("l-anthropic", "max-tokens", "truncated"),
    ("l-gemini", "max-tokens", "truncated"),
])
def test_cascade_escalates_in_every_format(make, provider, behaviour, why):
    # listed cloud first: the cascade still asks the local one first
    h = make({"c": {"candidates": ["cloud-echo", "first"], "strategy": "cascade"}},
             {"first": {"provider": provider, "upstream": behaviour}})
    r = chat(h, "task:c", text="one two three four five six seven")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "cloud-echo", (r, route(r))
    assert "first:" + why in route(r)["failed"], route(r)


def test_cascade_through_the_anthropic_endpoint(make):
    h = make({"c": {"candidates": ["first", "cloud-echo"], "strategy": "cascade"}},
             {"first": {"provider": "l-anthropic", "upstream": "refusal"}})
    r = http_request(h.port, "POST", "/v1/messages",
                     {"model": "task:c", "max_tokens": 50,
                      "messages": [{"role": "user", "content": "hello there"}]},
                     headers={"anthropic-version": "2023-06-01"})
    assert r.status == 200, r
    assert r.json()["content"][0]["text"] == "echo: hello there", r
    assert "first:refused" in route(r)["failed"], route(r)


def test_cascade_escalates_invalid_json_when_json_was_asked(make):
    h = make(cascade("local-echo"))
    r = chat(h, "task:c", response_format={"type": "json_object"})
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    assert "local-echo:invalid_json" in route(r)["failed"], route(r)
    # without JSON mode the same answer passes
    r = chat(h, "task:c")
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r


def test_cascade_keeps_a_good_json_answer(make):
    h = make(cascade("local-json"), {"local-json": {"provider": LOCAL, "upstream": "json"}})
    r = chat(h, "task:c", response_format={"type": "json_object"})
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-json", r


def test_cascade_checks_can_be_turned_off(make):
    h = make(cascade("local-max-tokens", checks=["empty"]),
             {"local-max-tokens": {"provider": LOCAL, "upstream": "max-tokens"}})
    r = chat(h, "task:c", text="one two three four five six seven")
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-max-tokens", r
    assert r.json()["choices"][0]["finish_reason"] == "length"


def test_cascade_last_candidate_answers_as_it_is(make):
    h = make({"c": {"candidates": ["local-max-tokens"], "strategy": "cascade"}},
             {"local-max-tokens": {"provider": LOCAL, "upstream": "max-tokens"}})
    r = chat(h, "task:c", text="one two three four five six seven")
    assert r.status == 200, r
    assert r.json()["choices"][0]["finish_reason"] == "length"


def test_cascade_does_not_check_streams(make):
    h = make(cascade("local-max-tokens"),
             {"local-max-tokens": {"provider": LOCAL, "upstream": "max-tokens"}})
    r = chat(h, "task:c", text="one two three four five six seven", stream=True)
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-max-tokens", r
    assert SSE(r.text).done


def test_cascade_cost_counts_every_answer_paid_for(make):
    cloud = {"provider": CLOUD, "upstream": "max-tokens", "input_price_per_mtok": 1000,
             "output_price_per_mtok": 1000}
    h = make({"c": {"candidates": ["paid-trunc", "cloud-echo"], "strategy": "cascade"}},
             {"paid-trunc": cloud})
    r = chat(h, "task:c", text="one two three four five six seven")
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    usage = r.json()["usage"]
    own = (usage["prompt_tokens"] * 3 + usage["completion_tokens"] * 15) / 1e6
    assert float(r.header("X-Hearth-Cost")) > own + 0.001, r.header("X-Hearth-Cost")


def test_balanced_sends_the_next_request_to_the_idler_deployment(make, kind_fakes):
    # two deployments of one model, no limits: calls in flight are counted all the same
    dep = {"provider": LOCAL, "upstream": "stall-stream"}
    h = make({"b": {"candidates": ["dep-a", "dep-b"], "strategy": "balanced"}},
             {"dep-a": dep, "dep-b": dict(dep)})
    busy = Busy(h, kind_fakes["ollama"], "task:b")
    assert busy.t.is_alive()
    r = chat(h, "task:b", stream=True)
    assert r.status == 200, r
    busy.join()
    assert {r.header("X-Hearth-Model"), busy.resp.header("X-Hearth-Model")} == \
        {"dep-a", "dep-b"}, (r, busy.resp)
