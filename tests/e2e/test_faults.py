# test_faults.py - a short run of the fault-injection load test (bench/faults.py): concurrent
# clients through a task whose first provider fails every second call; none may see a failure.
import importlib.util

import pytest

from fakes.ollama import FakeOllama
from helpers import REPO, SANITIZED, VALGRIND

# The bench script is the scenario's single definition; the test drives it for a few seconds.
_spec = importlib.util.spec_from_file_location("faults", REPO / "bench" / "faults.py")
faults = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(faults)

SECONDS = 4
# Fewer clients where hearth runs many times slower, rather than skipping the test there.
CLIENTS = 8 if VALGRIND else 20 if SANITIZED else 40


@pytest.fixture
def healthy():
    f = FakeOllama().start()
    yield f
    f.close()


def test_no_client_request_fails_while_a_provider_fails_half_its_calls(hearth_factory, fake,
                                                                        healthy):
    # `fake` (the OpenAI fake every hearth_factory config points at) is the flaky provider.
    def mutate(cfg):
        scenario = faults.config(0, "unused", fake.base_url, healthy.base_url)
        for key in ("providers", "models", "tasks"):
            cfg[key] = scenario[key]
        cfg["log"]["level"] = "info"  # debug would log every chunk of thousands of answers

    h = hearth_factory(mutate=mutate)
    got = faults.drive(h.port, CLIENTS, SECONDS)

    assert got["requests"] > 0 and got["clients_stuck"] == 0, got
    assert got["failed"] == 0, "\n".join(got["first_failures"])
    assert got["incomplete_streams"] == 0, got
    assert got["stream_requests"] > 0 and got["stream_requests"] < got["requests"], got
    # Both models answered: the flaky one half the time it was called, the healthy one when
    # the flaky one failed twice for a request (or its breaker was open).
    assert got["models"].get(faults.FLAKY, 0) > 0 and got["models"].get(faults.HEALTHY, 0) > 0, \
        got["models"]
    assert set(got["models"]) == {faults.FLAKY, faults.HEALTHY}, got["models"]
    calls = faults.fake_calls(fake, healthy)
    flaky_ok, flaky_500 = calls["flaky"]["status"].get("200", 0), \
        calls["flaky"]["status"].get("500", 0)
    assert flaky_ok + flaky_500 == calls["flaky"]["calls"] and abs(flaky_ok - flaky_500) <= 1, \
        calls
    assert flaky_ok == got["models"][faults.FLAKY], (calls, got["models"])
    assert calls["healthy"]["calls"] == got["models"][faults.HEALTHY], (calls, got["models"])

    # Every request has its usage record, with the provider calls it took.
    h.stop()
    rows = h.rows("SELECT status, attempts, model_used FROM usage_records")
    assert len(rows) == got["requests"], (len(rows), got["requests"])
    assert {r["status"] for r in rows} == {200}
    assert sum(r["attempts"] for r in rows) == calls["flaky"]["calls"] + \
        calls["healthy"]["calls"]
