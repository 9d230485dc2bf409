# test_redact.py - the data policy's redact action: a cloud model sees typed placeholders
# ("[EMAIL_1]"), never the values; the client sees the values restored, whole and streamed
# (placeholders cut across stream deltas), in text and tool-call arguments, in both client
# dialects and through every provider kind; a local model sees the original; the record
# says which classes were redacted and how often, and no value reaches the log or the
# database; the policy fails closed.
import json

import pytest

from helpers import chat_body, everything_written, http_request, run_cli, to_yaml

EMAIL = "jane.roe@example.org"
EMAIL2 = "john.poe@example.com"
KEYWORD = 'Acme "Bolt"'  # a quote: restored into JSON arguments it must be escaped
KINDS = ["openai", "anthropic", "gemini", "ollama"]
BEHAVIOURS = ["echo", "echo-split", "tool-echo", "error-500"]
TOOLS = [{"type": "function", "function": {
    "name": "send_mail", "description": "send a mail",
    "parameters": {"type": "object", "properties": {"text": {"type": "string"}}}}}]


def config(kind_fakes, policy):
    def mutate(cfg):
        cfg["providers"] = {}
        cfg["models"] = {}
        for kind, fake in kind_fakes.items():
            for loc in ("cloud", "local"):
                pid = "%s-%s" % (loc, kind)
                cfg["providers"][pid] = {"kind": kind, "base_url": fake.base_url,
                                         "api_key": "env:FAKE_KEY", "locality": loc}
                for b in BEHAVIOURS:
                    cfg["models"]["%s-%s" % (pid, b)] = {"provider": pid, "upstream": b}
        cfg["tasks"] = {"mixed": {"candidates": ["cloud-openai-echo", "local-ollama-echo"]},
                        "fallback": {"candidates": ["cloud-openai-error-500",
                                                    "local-ollama-echo"],
                                     "max_retries": 0}}
        cfg["policy"] = policy
        cfg["log"] = {"level": "debug"}
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(policy):
        return hearth_factory(mutate=config(kind_fakes, policy))
    return make_


def sent_to(fake, before):
    """What hearth sent the fake since before (its request count then), as one text."""
    return "\n".join(r["raw"].decode() if isinstance(r["raw"], bytes) else str(r["raw"])
                     for r in fake.requests[before:])


def text_of(r):
    return r.json()["choices"][0]["message"]["content"]


PROMPT = "mail %s and %s, then %s again" % (EMAIL, EMAIL2, EMAIL)
REDACTED = "mail [EMAIL_1] and [EMAIL_2], then [EMAIL_1] again"


@pytest.mark.parametrize("kind", KINDS)
def test_a_cloud_model_sees_placeholders_and_the_client_the_values(make, kind_fakes, kind):
    h = make({"email": "redact"})
    fake = kind_fakes[kind]
    before = len(fake.requests)
    r = h.chat(chat_body("cloud-%s-echo" % kind, PROMPT))
    assert r.status == 200, r
    assert text_of(r) == "echo: " + PROMPT
    sent = sent_to(fake, before)
    assert REDACTED in sent and EMAIL not in sent and EMAIL2 not in sent, sent
    rec = h.wait_record(r.header("X-Request-Id"))
    assert rec["policy"] == "email:3; redacted email:3", rec


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_placeholders_cut_across_deltas_are_restored(make, kind_fakes, kind):
    h = make({"email": "redact"})
    fake = kind_fakes[kind]
    before = len(fake.requests)
    r, sse = h.stream(chat_body("cloud-%s-echo-split" % kind, PROMPT, stream=True))
    assert r.status == 200 and sse is not None and sse.done, r
    assert sse.content() == "echo: " + PROMPT
    sent = sent_to(fake, before)
    assert REDACTED in sent and EMAIL not in sent, sent
    # the fake did cut them: some delta it wrote ends inside a placeholder
    wrote = json.dumps(fake.requests[-1]["sent"])
    assert "EMA" in wrote and "[EMAIL_1]" not in wrote, "not cut"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_tool_call_arguments_are_restored(make, kind_fakes, kind, stream):
    h = make({"email": "redact", "keyword": "redact", "keywords": [KEYWORD]})
    fake = kind_fakes[kind]
    before = len(fake.requests)
    prompt = "tell %s about %s" % (EMAIL, KEYWORD)
    body = chat_body("cloud-%s-tool-echo" % kind, prompt, stream=stream, tools=TOOLS)
    if stream:
        r, sse = h.stream(body)
        assert r.status == 200 and sse.done, r
        args = "".join(
            (tc.get("function") or {}).get("arguments") or ""
            for c in sse.chunks for ch in c.get("choices") or []
            for tc in (ch.get("delta") or {}).get("tool_calls") or [])
    else:
        r = h.chat(body)
        assert r.status == 200, r
        args = r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert json.loads(args) == {"text": prompt}, args
    sent = sent_to(fake, before)
    assert EMAIL not in sent and "Bolt" not in sent and "[KEYWORD_1]" in sent, sent


def test_values_in_tool_results_and_earlier_calls_are_redacted(make, kind_fakes):
    h = make({"email": "redact"})
    fake = kind_fakes["openai"]
    before = len(fake.requests)
    body = chat_body("cloud-openai-tool-echo", "who wrote?", tools=TOOLS)
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "send_mail", "arguments": json.dumps({"to": EMAIL})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sent to " + EMAIL2}]
    r = h.chat(body)
    assert r.status == 200 and text_of(r) == "tool said: sent to " + EMAIL2, r
    sent = sent_to(fake, before)
    assert EMAIL not in sent and EMAIL2 not in sent, sent
    assert "[EMAIL_1]" in sent and "[EMAIL_2]" in sent, sent


def test_a_local_model_sees_the_original(make, kind_fakes):
    h = make({"email": "redact"})
    fake = kind_fakes["ollama"]
    before = len(fake.requests)
    r = h.chat(chat_body("local-ollama-echo", PROMPT))
    assert r.status == 200 and text_of(r) == "echo: " + PROMPT, r
    assert EMAIL in sent_to(fake, before)
    assert h.wait_record(r.header("X-Request-Id"))["policy"] == "email:3"


@pytest.mark.parametrize("stream", [False, True])
def test_a_fallback_from_a_cloud_to_a_local_model(make, kind_fakes, stream):
    h = make({"email": "redact"})
    cloud, local = kind_fakes["openai"], kind_fakes["ollama"]
    cb, lb = len(cloud.requests), len(local.requests)
    r = h.chat(chat_body("task:fallback", PROMPT, stream=stream))
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-ollama-echo", r
    if stream:
        from helpers import SSE
        assert SSE(r.text).content() == "echo: " + PROMPT
    else:
        assert text_of(r) == "echo: " + PROMPT
    assert REDACTED in sent_to(cloud, cb) and EMAIL not in sent_to(cloud, cb)
    assert EMAIL in sent_to(local, lb)
    rec = h.wait_record(r.header("X-Request-Id"))
    assert rec["policy"] == "email:3; redacted email:3" and rec["attempts"] == 2, rec


def test_per_destination_actions(make, kind_fakes):
    h = make({"email": {"cloud": "redact", "local": "redact"},
              "card": {"cloud": "block", "local": "allow"}})
    fake = kind_fakes["ollama"]
    before = len(fake.requests)
    r = h.chat(chat_body("local-ollama-echo", PROMPT))
    assert r.status == 200 and text_of(r) == "echo: " + PROMPT, r
    sent = sent_to(fake, before)
    assert REDACTED in sent and EMAIL not in sent, sent
    # cloud: block is local_only: the task's local candidate answers
    r = h.chat(chat_body("task:mixed", "card 4111 1111 1111 1111"))
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-ollama-echo", r


def test_the_anthropic_dialect(make, kind_fakes):
    h = make({"email": "redact"})
    for kind in ("anthropic", "openai"):
        fake = kind_fakes[kind]
        for stream in (False, True):
            before = len(fake.requests)
            r = http_request(h.port, "POST", "/v1/messages",
                             {"model": "cloud-%s-echo-split" % kind, "max_tokens": 50,
                              "stream": stream,
                              "system": "reply to " + EMAIL2,
                              "messages": [{"role": "user", "content": PROMPT}]},
                             headers={"anthropic-version": "2023-06-01"})
            assert r.status == 200, r
            if stream:
                text = "".join(
                    (json.loads(line[5:]).get("delta") or {}).get("text") or ""
                    for line in r.text.split("\n") if line.startswith("data:"))
            else:
                text = "".join(b["text"] for b in r.json()["content"] if b["type"] == "text")
            assert text == "echo: " + PROMPT, (kind, stream, text)
            sent = sent_to(fake, before)
            # the system prompt comes first: its value is number 1
            assert EMAIL not in sent and EMAIL2 not in sent, sent
            assert "reply to [EMAIL_1]" in sent, sent
            assert "mail [EMAIL_2] and [EMAIL_1], then [EMAIL_2] again" in sent, sent


def test_an_invented_placeholder_stays(make):
    h = make({"email": "redact"})
    r = h.chat(chat_body("cloud-openai-echo", "mail %s, not [EMAIL_9] or [EMAIL_1" % EMAIL))
    assert r.status == 200, r
    assert text_of(r) == "echo: mail %s, not [EMAIL_9] or [EMAIL_1" % EMAIL


def test_no_value_is_written(make):
    h = make({"email": "redact", "keyword": "redact", "keywords": [KEYWORD]})
    ids = []
    for stream in (False, True):
        for model in ("cloud-openai-echo", "cloud-anthropic-tool-echo", "local-ollama-echo"):
            r = h.chat(chat_body(model, "%s %s" % (PROMPT, KEYWORD), stream=stream,
                                 tools=TOOLS))
            assert r.status == 200, r
            ids.append(r.header("X-Request-Id"))
    for i in ids:
        assert h.wait_record(i) is not None
    written = everything_written(h)
    assert "redacted email:3,keyword:1" in written
    for v in (EMAIL, EMAIL2, "Bolt"):
        assert v not in written, v


def test_redaction_fails_closed(make, kind_fakes):
    flood = " ".join("a%d@x.io" % i for i in range(12000))
    before = {k: len(f.requests) for k, f in kind_fakes.items()}
    h = make({"email": "redact"})
    r = h.chat(chat_body("cloud-openai-echo", flood))
    assert r.status == 400 and "could not check" in r.json()["error"]["message"], r
    # on_error local_only, but local models may not see the class unredacted either
    h2 = make({"email": {"cloud": "redact", "local": "redact"}, "on_error": "local_only"})
    r = h2.chat(chat_body("task:mixed", flood))
    assert r.status == 400, r
    assert {k: len(f.requests) for k, f in kind_fakes.items()} == before


@pytest.mark.parametrize("value,why", [
    ({"cloud": "allow", "local": "redact"}, "stricter than cloud"),
    ({"cloud": "local_only"}, "use allow, redact or block"),
    ({"cloud": "redact", "remote": "allow"}, "unknown destination"),
])
def test_per_destination_config_errors(tmp_path, value, why):
    cfg = tmp_path / "h.yaml"
    cfg.write_text(to_yaml({"policy": {"email": value}}))
    p = run_cli(["config", "check", "--config", str(cfg)])
    assert p.returncode == 1 and why in p.stderr and "policy.email" in p.stderr, p.stderr


def test_on_error_redact_is_refused(tmp_path):
    cfg = tmp_path / "h.yaml"
    cfg.write_text(to_yaml({"policy": {"on_error": "redact"}}))
    p = run_cli(["config", "check", "--config", str(cfg)])
    assert p.returncode == 1 and "fails closed" in p.stderr, p.stderr


def test_a_part_that_cannot_be_redacted_is_refused(make, kind_fakes):
    h = make({"email": "redact"})
    fake = kind_fakes["openai"]
    before = len(fake.requests)
    body = chat_body("cloud-openai-echo", "x")
    body["messages"][0]["content"] = [
        {"type": "text", "text": "mail " + EMAIL},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]
    r = h.chat(body)
    assert r.status == 400, r
    msg = r.json()["error"]["message"]
    assert "cannot redact" in msg and "messages[0].content[1]" in msg, msg
    assert EMAIL not in r.text and len(fake.requests) == before
