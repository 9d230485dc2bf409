# test_upstream_faults.py - provider errors, refused connections, timeouts and undecodable
# answers: each maps to the right status and code, and its usage record says so.
import pytest

from fakes.openai import BAD_REQUEST_MESSAGE, RETRY_AFTER
from helpers import FAKE_KEY, chat_body

FAULTS = [
    # model, status, code
    ("bad-request", 400, "invalid_request"),
    ("unauthorized", 502, "upstream_auth_failed"),
    ("rate-limited", 429, "rate_limit_exceeded"),
    ("server-error", 502, "upstream_error"),
    ("dead-model", 502, "upstream_unreachable"),
    ("slow-headers", 504, "upstream_timeout"),
]


def _check(hearth, r, model, status, code, stream):
    assert r.status == status, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert r.header("X-Request-Id").startswith("req_")
    assert r.header("X-Hearth-Model") == model
    err = r.json()["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["type"], str) and err["type"]
    assert "param" in err
    rec = hearth.record(r.header("X-Request-Id"))
    assert rec is not None, "no usage record for a failed call"
    assert rec["status"] == status
    assert rec["error_code"] == code
    assert rec["model_asked"] == model
    assert rec["stream"] == (1 if stream else 0)
    return err


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("model,status,code", FAULTS, ids=[f[0] for f in FAULTS])
def test_upstream_fault_is_mapped(hearth, fake, model, status, code, stream):
    r = hearth.chat(chat_body(model, "trigger a fault", stream=stream))
    err = _check(hearth, r, model, status, code, stream)
    rec = hearth.record(r.header("X-Request-Id"))
    if model == "dead-model":
        assert rec["provider"] == "dead"
        assert fake.chat_requests() == []
    else:
        assert rec["provider"] == "fake"
        assert len(fake.chat_requests()) == 1
    if model == "bad-request":
        assert BAD_REQUEST_MESSAGE in err["message"]
        assert err["type"] == "invalid_request_error"
    if model == "rate-limited":
        assert r.header("Retry-After") == RETRY_AFTER
        assert err["type"] == "rate_limit_error"


def test_undecodable_answer_is_bad_response(hearth, fake):
    r = hearth.chat(chat_body("garbage", "say something"))
    _check(hearth, r, "garbage", 502, "upstream_bad_response", False)
    assert len(fake.chat_requests()) == 1


def test_upstream_secret_never_reaches_the_client(hearth):
    r = hearth.chat(chat_body("unauthorized", "hi"))
    assert r.status == 502, r
    assert FAKE_KEY not in r.text
    assert all(FAKE_KEY not in v for v in r.headers.values())
    assert FAKE_KEY not in hearth.stderr_text()


def test_server_keeps_serving_after_faults(hearth):
    for model, _, _ in FAULTS:
        hearth.chat(chat_body(model, "fault"))
    r = hearth.chat(chat_body("echo", "after the storm"))
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: after the storm"
