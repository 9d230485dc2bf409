# test_sdk_anthropic.py - the official `@anthropic-ai/sdk` npm SDK (pinned in tests/sdk/) as a
# client of hearth's POST /v1/messages, routed to the fake OpenAI provider that hearth translates.
import json

import pytest

import sdk
from fakes.openai import TOOL_ARGS


CLIENT_KEY = "hk-e2e-sdk-anthropic-8a2f"
# A streamed message's events with repeats collapsed and pings left out.
STREAM_SHAPE = ["message_start", "content_block_start", "content_block_delta",
                "content_block_stop", "message_delta", "message_stop"]


@pytest.fixture
def client(hearth_factory):
    """run(model, case, ok=True, key=CLIENT_KEY) -> the anthropic client script's report,
    against a hearth that requires CLIENT_KEY (the SDK sends its key as x-api-key)."""
    runner = sdk.require("@anthropic-ai/sdk", "anthropic_client.mjs", CLIENT_KEY)
    h = hearth_factory(env={"HEARTH_API_KEY": CLIENT_KEY})

    def run(model, case, ok=True, key=CLIENT_KEY):
        return sdk.SDK(runner.node, runner.script, key).run(h.url, model, case, ok=ok)
    return run


def _shape(events):
    out = []
    for e in events:
        if e != "ping" and (not out or out[-1] != e):
            out.append(e)
    return out


def _error(report, cls, status):
    assert "error" in report, "the SDK did not raise: %s" % report["_where"]
    err = report["error"]
    assert (err["class"], err["status"]) == (cls, status), report["_where"]
    sdk.assert_no_warnings(report)
    return err


def test_create_text(client, fake):
    r = client("echo", "text")
    assert (r["type"], r["role"]) == ("message", "assistant")
    assert r["id"], r
    assert r["content"] == [{"type": "text", "text": "echo: hello there"}]
    assert r["stop_reason"] == "end_turn"
    assert r["usage"] == {"input_tokens": 2, "output_tokens": 3}
    [up] = fake.chat_requests()
    assert up["body"]["model"] == "echo-upstream"
    sdk.assert_no_warnings(r)


def test_stream_text_final_message(client):
    r = client("echo", "stream")
    assert _shape(r["events"]) == STREAM_SHAPE, r["events"]
    assert r["text"] == "echo: hello there"
    assert r["content"] == [{"type": "text", "text": "echo: hello there"}]
    assert r["stop_reason"] == "end_turn"
    assert r["usage"] == {"input_tokens": 2, "output_tokens": 3}
    sdk.assert_no_warnings(r)


def test_tool_use(client):
    r = client("tool-call", "tools")
    assert r["stop_reason"] == "tool_use"
    [block] = r["content"]
    assert (block["type"], block["name"]) == ("tool_use", "get_weather"), block
    assert isinstance(block["id"], str) and block["id"], block
    assert block["input"] == json.loads(TOOL_ARGS)
    sdk.assert_no_warnings(r)


def test_streamed_tool_use_is_assembled(client):
    r = client("tool-call", "tools_stream")
    assert _shape(r["events"]) == STREAM_SHAPE, r["events"]
    assert r["stop_reason"] == "tool_use"
    [block] = r["content"]
    assert (block["type"], block["name"]) == ("tool_use", "get_weather"), block
    assert isinstance(block["id"], str) and block["id"], block
    assert block["input"] == json.loads(TOOL_ARGS)
    assert r["input_json_deltas"] > 1, r  # the arguments streamed as they came
    sdk.assert_no_warnings(r)


def test_unknown_model_is_not_found_error(client):
    err = _error(client("no-such-model", "error"), "NotFoundError", 404)
    assert err["body"]["type"] == "error", err
    assert err["body"]["error"]["type"] == "not_found_error", err
    assert "no-such-model" in err["body"]["error"]["message"], err


def test_wrong_key_is_authentication_error(client, fake):
    _error(client("echo", "error", key="wrong-key"), "AuthenticationError", 401)
    assert fake.chat_requests() == []
