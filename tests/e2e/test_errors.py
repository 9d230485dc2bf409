# test_errors.py - bad client input: each gets a clear 4xx in OpenAI's error shape, nothing
# reaches the provider, and the server keeps serving (oversize bodies and headers, slow-loris).
import json
import select
import time

import pytest

from helpers import (MODELS, SLOW, chat_body, raw_connect, recv_until_close, status_of)

MISSING = object()


def assert_error(r, status, code, param=MISSING):
    assert r.status == status, r
    assert (r.header("Content-Type") or "").startswith("application/json"), r.headers
    assert r.header("X-Request-Id") and r.header("X-Request-Id").startswith("req_")
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["type"], str) and err["type"]
    assert err["code"] == code, err
    assert "param" in err
    if param is not MISSING:
        assert err["param"] == param, err
    return err


def assert_serving(hearth):
    r = hearth.get("/healthz")
    assert r.status == 200, r
    r = hearth.chat(chat_body("echo", "still alive"))
    assert r.status == 200, r


def test_malformed_json(hearth, fake):
    r = hearth.chat(b'{"model": "echo", "messages": [')
    err = assert_error(r, 400, "invalid_json")
    assert err["type"] == "invalid_request_error"
    assert r.header("X-Hearth-Model") is None
    assert fake.chat_requests() == []
    assert_serving(hearth)


def test_empty_body(hearth, fake):
    r = hearth.chat(b"")
    assert_error(r, 400, "invalid_json")
    assert fake.chat_requests() == []


@pytest.mark.parametrize("body,param", [
    ({"model": "echo"}, "messages"),
    ({"model": "echo", "messages": "hello"}, "messages"),
    ({"model": "echo", "messages": [{"role": 5, "content": "x"}]}, "messages[0].role"),
    ({"model": "echo", "messages": [{"role": "user", "content": "ok"},
                                    {"role": ["user"], "content": "x"}]}, "messages[1].role"),
    ({"model": 42, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "echo", "stream": "yes", "messages": [{"role": "user", "content": "x"}]},
     "stream"),
], ids=["no-messages", "messages-string", "role-int", "second-role-list", "model-int",
        "no-model", "stream-string"])
def test_wrong_types_and_missing_fields(hearth, fake, body, param):
    r = hearth.chat(body)
    err = assert_error(r, 400, "invalid_request", param)
    assert err["type"] == "invalid_request_error"
    assert fake.chat_requests() == []


def test_body_not_an_object(hearth, fake):
    r = hearth.chat([{"model": "echo"}])
    assert r.status == 400, r
    assert r.json()["error"]["code"] in ("invalid_request", "invalid_json")
    assert fake.chat_requests() == []


def test_n_greater_than_one_is_unsupported(hearth, fake):
    r = hearth.chat(chat_body("echo", "two answers", n=2))
    assert_error(r, 400, "unsupported_parameter", "n")
    assert fake.chat_requests() == []


def test_too_many_messages(hearth, fake):
    msgs = [{"role": "user", "content": "m%d" % i} for i in range(65)]
    r = hearth.chat({"model": "echo", "messages": msgs})
    assert_error(r, 400, "too_many_items")
    assert fake.chat_requests() == []
    # exactly at the limit is fine
    r = hearth.chat({"model": "echo", "messages": msgs[:64]})
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: m63"


def test_unknown_model_lists_available_models(hearth, fake):
    r = hearth.chat(chat_body("no-such-model", "hi"))
    err = assert_error(r, 404, "model_not_found")
    assert "no-such-model" in err["message"]
    for name in MODELS:
        assert name in err["message"], name
    assert r.header("X-Hearth-Model") is None
    assert fake.chat_requests() == []


def test_non_utf8_byte_in_a_string(hearth, fake):
    body = b'{"model": "echo", "messages": [{"role": "user", "content": "caf\xe9 au lait"}]}'
    r = hearth.chat(body)
    assert_error(r, 400, "invalid_json")
    assert fake.chat_requests() == []
    assert_serving(hearth)


def test_deeply_nested_json_is_refused(hearth, fake):
    deep = "[" * 500 + "]" * 500
    body = ('{"model": "echo", "messages": [{"role": "user", "content": "x"}], '
            '"metadata": {"a": %s}}' % deep).encode()
    r = hearth.chat(body)
    assert r.status == 400, r
    assert r.json()["error"]["code"] in ("invalid_json", "invalid_request", "too_many_items")
    assert fake.chat_requests() == []
    assert_serving(hearth)


def test_unknown_path_is_404(hearth):
    r = hearth.get("/v1/nothing-here")
    assert_error(r, 404, "not_found")
    r = hearth.request("POST", "/v2/chat/completions", chat_body("echo"))
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/chat/completions"),
    ("DELETE", "/v1/chat/completions"),
    ("POST", "/v1/models"),
])
def test_wrong_method_is_405(hearth, fake, method, path):
    r = hearth.request(method, path, chat_body("echo") if method == "POST" else None)
    assert r.status == 405, r
    err = r.json()["error"]
    assert isinstance(err["message"], str) and err["code"] == "method_not_allowed"
    allow = r.header("Allow")
    assert allow and method not in allow.split(", "), allow  # HTTP: a 405 says what is allowed
    assert fake.chat_requests() == []


def test_body_over_the_limit_is_413(hearth, fake):
    size = 1048576 + 4096
    body = b'{"model": "echo", "messages": [{"role": "user", "content": "' + \
        b"x" * size + b'"}]}'
    s = raw_connect(hearth.port)
    try:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        # the server may refuse on Content-Length alone, before the body
        r, _, _ = select.select([s], [], [], 1.0 * SLOW)
        if not r:
            try:
                s.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
        data, _ = recv_until_close(s, 10 * SLOW)
    finally:
        s.close()
    assert status_of(data) == 413, data[:500]
    assert fake.chat_requests() == []
    assert_serving(hearth)


def test_body_just_under_the_limit_is_served(hearth):
    text = "y" * (1048576 - 1024)
    r = hearth.chat(chat_body("echo", text))
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: " + text


def test_header_line_over_the_limit(hearth, fake):
    s = raw_connect(hearth.port)
    try:
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20000 +
                      b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = recv_until_close(s, 10 * SLOW)
    finally:
        s.close()
    status = status_of(data)
    assert status in (400, 413, 431) or (status is None and closed), data[:300]
    assert_serving(hearth)


@pytest.mark.parametrize("partial", [
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"
    b'{"model": "echo"',
], ids=["headers", "body"])
def test_slow_loris_client_is_timed_out(hearth, fake, partial):
    s = raw_connect(hearth.port)
    try:
        s.sendall(partial)
        time.sleep(0.3)
        # others are served while that client stalls
        assert hearth.get("/healthz").status == 200
        # client_timeout_ms is 2 s: the server must hang up on the stalled client
        data, closed = recv_until_close(s, 15 * SLOW)
    finally:
        s.close()
    assert closed, "the server kept a stalled connection open"
    if data:
        assert status_of(data) in (400, 408), data[:300]
    assert fake.chat_requests() == []
    assert_serving(hearth)
