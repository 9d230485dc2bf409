# test_policy.py - the data policy on chat requests: what the detectors find decides whether a
# request is refused, kept on local models or let through; values never reach the logs, the
# error or the record; the policy fails closed when the detectors cannot finish.
import json
import sqlite3

import pytest

from helpers import everything_written, chat_body, http_request
from test_routing import routing_config

CARD = "4111 1111 1111 1111"  # a test card number: Luhn-valid
EMAIL = "jane.roe@example.org"
TASKS = {"mixed": {"candidates": ["cloud-echo", "local-echo"]}}


def policy_config(kind_fakes, policy):
    base = routing_config(kind_fakes, TASKS)

    def mutate(cfg):
        base(cfg)
        cfg["policy"] = policy
        cfg["log"] = {"level": "debug"}
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(policy):
        return hearth_factory(mutate=policy_config(kind_fakes, policy))
    return make_


def chat(h, model, text, headers=None):
    return http_request(h.port, "POST", "/v1/chat/completions", chat_body(model, text),
                        headers=headers)


def test_a_blocked_class_is_refused_without_calling_a_model(make, kind_fakes):
    h = make({"card": "block", "email": "local_only"})
    before = {k: len(f.requests) for k, f in kind_fakes.items()}
    r = chat(h, "task:mixed", "charge my card %s please, mail %s" % (CARD, EMAIL))
    assert r.status == 400, r
    err = r.json()["error"]
    assert err["code"] == "data_policy_blocked" and err["type"] == "invalid_request_error", err
    assert "card (1)" in err["message"] and "email" not in err["message"], err
    assert CARD not in r.text and "4111" not in r.text
    assert {k: len(f.requests) for k, f in kind_fakes.items()} == before
    rec = h.record(r.header("X-Request-Id"))
    assert rec["status"] == 400 and rec["policy"] == "email:1,card:1", rec
    assert rec["error_code"] == "data_policy_blocked", rec
    written = everything_written(h)
    assert CARD not in written and "4111111111111111" not in written and EMAIL not in written


def test_a_local_only_class_keeps_the_request_local(make, kind_fakes):
    h = make({"email": "local_only"})
    before = len(kind_fakes["openai"].requests)
    r = chat(h, "task:mixed", "write to %s about the invoice" % EMAIL)
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r
    assert "cloud-echo:sensitive request, cloud model" in r.header("X-Hearth-Route")
    assert len(kind_fakes["openai"].requests) == before
    assert h.record(r.header("X-Request-Id"))["policy"] == "email:1"
    # a cloud model by name: refused with the reason, never called
    r = chat(h, "cloud-echo", "write to %s" % EMAIL)
    assert r.status == 503 and len(kind_fakes["openai"].requests) == before, r
    # without the class the request goes where it was sent
    r = chat(h, "task:mixed", "write to the team about the invoice")
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    assert h.record(r.header("X-Request-Id"))["policy"] is None


def test_keywords_and_patterns(make):
    h = make({"keyword": "block", "pattern": "local_only",
              "keywords": ["Project Falcon"], "patterns": ["PRJ-####"]})
    r = chat(h, "task:mixed", "status of project falcon?")
    assert r.status == 400 and "keyword (1)" in r.json()["error"]["message"], r
    r = chat(h, "task:mixed", "close ticket PRJ-0042")
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r
    r = chat(h, "task:mixed", "close ticket PRJ-42")  # not the pattern
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r


def test_tool_results_and_arguments_are_scanned(make):
    h = make({"ssn": "block"})
    body = chat_body("task:mixed", "look it up")
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "lookup", "arguments": json.dumps({"q": "customer 7"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "SSN on file: 123-45-6789"}]
    r = http_request(h.port, "POST", "/v1/chat/completions", body)
    assert r.status == 400 and "ssn (1)" in r.json()["error"]["message"], r


@pytest.mark.parametrize("on_error,status", [("block", 400), ("local_only", 200)])
def test_the_policy_fails_closed(make, kind_fakes, on_error, status):
    h = make({"email": "local_only", "on_error": on_error})
    before = len(kind_fakes["openai"].requests)
    # more findings in one 64 KiB window than a check takes (4096)
    flood = " ".join("a%d@x.io" % i for i in range(12000))
    r = chat(h, "task:mixed", flood)
    assert r.status == status, r
    if status == 400:
        assert "could not check" in r.json()["error"]["message"], r
    else:
        assert r.header("X-Hearth-Model") == "local-echo", r
    assert len(kind_fakes["openai"].requests) == before
    assert h.record(r.header("X-Request-Id"))["policy"] == "error:too_many_items"


def test_on_error_allow_is_refused_at_load(hearth_factory, kind_fakes, tmp_path):
    from helpers import run_cli, to_yaml
    cfg = tmp_path / "h.yaml"
    cfg.write_text(to_yaml({"policy": {"on_error": "allow"}}))
    p = run_cli(["config", "check", "--config", str(cfg)])
    assert p.returncode == 1 and "fails closed" in p.stderr, p.stderr


def test_the_anthropic_endpoint_and_explain(make):
    h = make({"card": "block", "email": "local_only"})
    r = http_request(h.port, "POST", "/v1/messages",
                     {"model": "task:mixed", "max_tokens": 20,
                      "messages": [{"role": "user", "content": "card " + CARD}]},
                     headers={"anthropic-version": "2023-06-01"})
    assert r.status == 400 and r.json()["type"] == "error", r
    assert r.json()["error"]["type"] == "invalid_request_error", r
    r = http_request(h.port, "POST", "/api/v1/route/explain",
                     chat_body("task:mixed", "mail " + EMAIL))
    j = r.json()
    assert r.status == 200 and j["policy"] == "email:1" and j["local_only"] is True, j


def test_with_every_class_allowed_nothing_is_recorded(make):
    h = make({})
    r = chat(h, "task:mixed", "card %s mail %s" % (CARD, EMAIL))
    assert r.status == 200 and r.header("X-Hearth-Model") == "cloud-echo", r
    assert h.record(r.header("X-Request-Id"))["policy"] is None


def test_decisions_and_reloads_are_audited_and_tampering_shows(make):
    import signal
    from helpers import wait_until
    h = make({"card": "block", "email": "local_only"})
    r1 = chat(h, "task:mixed", "card " + CARD)
    r2 = chat(h, "task:mixed", "mail " + EMAIL)
    assert r1.status == 400 and r2.status == 200
    assert h.record(r2.header("X-Request-Id")) is not None
    h.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "configuration reloaded" in h.stderr_text(), 10)

    def export():
        p = h.cli("audit", "export")
        assert p.returncode == 0, p.stderr
        return [json.loads(line) for line in p.stdout.splitlines()]
    evs = wait_until(lambda: len(export()) >= 3 and export(), 10)
    by = {(e["action"], e["object"]): e for e in evs}
    assert by[("policy.decision", r1.header("X-Request-Id"))]["detail"] == "card:1 -> HTTP 400"
    assert by[("policy.decision", r2.header("X-Request-Id"))]["detail"] == "email:1 -> HTTP 200"
    assert any(e["action"] == "config.reload" and e["detail"] == "applied" for e in evs), evs
    assert [e["seq"] for e in evs] == list(range(1, len(evs) + 1))
    assert CARD not in json.dumps(evs) and EMAIL not in json.dumps(evs)
    p = h.cli("audit", "verify")
    assert p.returncode == 0 and "the chain holds" in p.stdout, (p.stdout, p.stderr)
    # someone edits the record of a decision directly in the database
    db = sqlite3.connect(str(h.root / "data" / "hearth.db"))
    db.execute("UPDATE audit_events SET detail = 'email:1 -> HTTP 200' WHERE seq = 1")
    db.commit()
    db.close()
    p = h.cli("audit", "verify", "--json")
    assert p.returncode == 1, (p.stdout, p.stderr)
    v = json.loads(p.stdout)
    assert v["ok"] is False and v["bad_seq"] == 1 and "edited" in v["why"], v
