# test_alerts.py - alerts end to end: a provider that stops answering opens its model's
# circuit breaker -> exactly one signed "provider_down" webhook POST and one audit event; once
# it answers again and the breaker closes -> one "provider_up".
import hashlib
import hmac
import json
import threading

import pytest

from fakes.openai import FakeOpenAI
from helpers import SLOW, PostSink, chat_body, http_request, wait_until

SECRET = "hook-secret-5f1e"


@pytest.fixture
def hooks():
    h = PostSink()
    h.url += "/hook"
    yield h
    h.close()


def alerts_of(h):
    return h.rows("SELECT actor, action, object, detail FROM audit_events "
                  "WHERE action LIKE 'alert.%' ORDER BY seq")


def test_provider_down_and_up_alert_once_each(hearth_factory, hooks):
    later = FakeOpenAI().start()  # its port, free again: connections are refused
    port = later.port
    later.close()

    def mutate(cfg):
        cfg["providers"]["flip"] = {"kind": "openai", "base_url": "http://127.0.0.1:%d/v1" % port,
                                    "connect_timeout_ms": 500, "api_key": "env:FAKE_KEY"}
        cfg["models"]["flip"] = {"provider": "flip", "upstream": "echo-upstream"}
        cfg["alerts"] = {"webhook_url": hooks.url, "webhook_secret": "env:T_HOOK_SECRET"}
    h = hearth_factory(mutate=mutate, env={"T_HOOK_SECRET": SECRET})

    for _ in range(5):  # five failures in a row open the breaker
        assert h.chat(chat_body("flip")).status >= 500
    r = h.chat(chat_body("flip"))
    assert r.status == 503 and "breaker open" in r.json()["error"]["message"], r
    assert wait_until(lambda: hooks.posts, 10 * SLOW)
    down = hooks.posts[0]
    assert down["body"]["type"] == "provider_down"
    assert down["body"]["model"] == "flip" and down["body"]["provider"] == "flip"
    assert down["body"]["service"] == "hearth"
    want = hmac.new(SECRET.encode(), down["raw"], hashlib.sha256).hexdigest()
    assert down["headers"]["X-Hearth-Signature"] == "sha256=" + want
    assert SECRET not in h.stderr_text()
    m = http_request(h.port, "GET", "/metrics").text
    assert 'hearth_breaker_state{model="flip"} 2\n' in m

    # the provider answers again: the breaker's probe succeeds after the cool-down
    again = FakeOpenAI()
    from fakes.base import _Server
    again._srv = _Server(("127.0.0.1", port), again.handler)
    again._srv.fake = again
    again._thread = threading.Thread(target=again._srv.serve_forever,
                                     kwargs={"poll_interval": 0.05}, daemon=True)
    again._thread.start()
    try:
        assert wait_until(lambda: h.chat(chat_body("flip")).status == 200, 20 * SLOW, 0.25)
        assert wait_until(lambda: len(hooks.posts) >= 2, 10 * SLOW)
        for _ in range(3):
            assert h.chat(chat_body("flip")).status == 200
    finally:
        again.close()
    up = hooks.posts[1]
    assert up["body"]["type"] == "provider_up" and up["body"]["model"] == "flip"
    events = alerts_of(h)
    assert [(e["actor"], e["action"], e["object"]) for e in events] == [
        ("hearth", "alert.provider_down", "flip"), ("hearth", "alert.provider_up", "flip")]
    assert json.loads(events[0]["detail"])["type"] == "provider_down"
    assert [p["body"]["type"] for p in hooks.posts] == ["provider_down", "provider_up"]
    def scrape():  # the count follows the webhook's answer
        m = http_request(h.port, "GET", "/metrics").text
        return m if 'hearth_alerts_total{outcome="delivered"} 2\n' in m else None
    m = wait_until(scrape, 10 * SLOW)
    assert m, http_request(h.port, "GET", "/metrics").text
    assert 'hearth_breaker_state{model="flip"} 0\n' in m
    assert 'hearth_alerts_total{outcome="raised"} 2\n' in m
    assert 'hearth_alerts_total{outcome="dropped"} 0\n' in m


def test_alerts_without_a_webhook_are_audit_events(hearth_factory):
    h = hearth_factory()
    for _ in range(5):
        assert h.chat(chat_body("dead-model")).status >= 500
    assert wait_until(lambda: alerts_of(h), 10 * SLOW)
    assert [(e["action"], e["object"]) for e in alerts_of(h)] == [
        ("alert.provider_down", "dead-model")]
