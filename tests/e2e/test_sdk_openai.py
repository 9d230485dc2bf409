# test_sdk_openai.py - the official `openai` npm SDK (pinned in tests/sdk/) as a client of the
# real hearth: answers, streams, tool calls, errors and models as the SDK's user sees them.
import json

import pytest

import sdk
from fakes.openai import BAD_REQUEST_MESSAGE, RETRY_AFTER, TOOL_ARGS
from helpers import MODELS

CLIENT_KEY = "hk-e2e-sdk-openai-31c7"


@pytest.fixture
def client(hearth_factory):
    """run(model, case, ok=True) -> the openai client script's report, against a hearth that
    requires CLIENT_KEY (so the SDK's Authorization header is exercised too)."""
    runner = sdk.require("openai", "openai_client.mjs", CLIENT_KEY)
    h = hearth_factory(env={"HEARTH_API_KEY": CLIENT_KEY})

    def run(model, case, ok=True):
        return runner.run(h.url + "/v1", model, case, ok=ok)
    return run


def _error(report, cls, status):
    assert "error" in report, "the SDK did not raise: %s" % report["_where"]
    err = report["error"]
    assert (err["class"], err["status"]) == (cls, status), report["_where"]
    sdk.assert_no_warnings(report)
    return err


def test_chat_answer_and_usage(client):
    r = client("echo", "chat")
    assert r["object"] == "chat.completion"
    assert r["content"] == "echo: hello there"
    assert (r["role"], r["finish_reason"], r["choices"]) == ("assistant", "stop", 1)
    u = r["usage"]
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (2, 3, 5), u
    assert r["hearth_model"] == "echo"
    sdk.assert_no_warnings(r)


def test_stream_reassembles_the_same_answer_with_usage(client):
    whole = client("echo", "chat")
    r = client("echo", "stream")
    assert r["content"] == whole["content"] == "echo: hello there"
    assert r["role"] == "assistant"
    assert r["finish_reasons"] == ["stop"]
    assert r["chunks"] >= 4, r  # role, three words, finish, usage: really streamed
    assert len(r["usage_chunks"]) == 1, r["usage_chunks"]
    u = r["usage_chunks"][0]
    assert (u["prompt_tokens"], u["completion_tokens"], u["total_tokens"]) == (2, 3, 5), u
    sdk.assert_no_warnings(r)


def test_stream_helper_final_completion(client):
    r = client("echo", "stream_helper")
    assert r["content"] == r["deltas"] == "echo: hello there"
    assert r["finish_reason"] == "stop"
    assert r["usage"] is not None and r["usage"]["completion_tokens"] == 3, r["usage"]
    sdk.assert_no_warnings(r)


def test_tool_call(client):
    r = client("tool-call", "tools")
    assert r["finish_reason"] == "tool_calls"
    assert r["content"] is None
    [call] = r["tool_calls"]
    assert (call["type"], call["name"]) == ("function", "get_weather"), call
    assert call["id"].startswith("call_"), call
    assert json.loads(call["arguments"]) == json.loads(TOOL_ARGS)
    sdk.assert_no_warnings(r)


def test_streamed_tool_call_is_assembled(client):
    r = client("tool-call", "tools_stream")
    assert r["finish_reason"] == "tool_calls"
    [call] = r["tool_calls"]
    assert (call["type"], call["name"]) == ("function", "get_weather"), call
    assert call["id"].startswith("call_"), call
    assert call["arguments"] == TOOL_ARGS
    assert r["argument_deltas"] > 1, r  # the arguments arrived in pieces
    assert r["done_arguments"] == [{"name": "get_weather", "arguments": TOOL_ARGS}]
    sdk.assert_no_warnings(r)


def test_unknown_model_is_not_found_error(client):
    err = _error(client("no-such-model", "error"), "NotFoundError", 404)
    assert err["body"]["code"] == "model_not_found", err
    assert "no-such-model" in err["message"] and "echo" in err["message"], err


def test_upstream_rate_limit_is_rate_limit_error(client):
    err = _error(client("rate-limited", "error"), "RateLimitError", 429)
    assert err["retry_after"] == RETRY_AFTER, err


def test_upstream_rate_limit_on_a_stream_is_rate_limit_error(client):
    _error(client("rate-limited", "error_stream"), "RateLimitError", 429)


def test_upstream_bad_request_is_bad_request_error(client):
    err = _error(client("bad-request", "error"), "BadRequestError", 400)
    assert BAD_REQUEST_MESSAGE in err["message"], err


def test_invalid_parameter_is_bad_request_error(client, fake):
    err = _error(client("echo", "bad_temperature"), "BadRequestError", 400)
    assert err["body"]["param"] == "temperature", err
    assert fake.chat_requests() == []


def test_upstream_server_error_is_internal_server_error(client):
    err = _error(client("server-error", "error"), "InternalServerError", 502)
    assert err["body"]["code"] == "upstream_error", err


def test_broken_stream_raises_after_the_text_so_far(client):
    r = client("broken-stream", "stream_broken")
    assert r["content"] == "partial answer, then", r
    assert "error" in r, "the SDK did not raise: %s" % r["_where"]
    err = r["error"]
    assert err["class"] == "APIError" and err["status"] is None, err
    assert err["body"]["code"] == "upstream_stream_broken", err
    sdk.assert_no_warnings(r)


def test_models_list(client):
    r = client("echo", "models")
    got = {m["id"]: m for m in r["models"]}
    assert sorted(got) == sorted(MODELS)
    assert all(m["object"] == "model" for m in got.values())
    assert got["echo"]["owned_by"] == "fake" and got["dead-model"]["owned_by"] == "dead"
    sdk.assert_no_warnings(r)
