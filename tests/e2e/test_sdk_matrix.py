# test_sdk_matrix.py - both official SDKs (npm `openai`, `@anthropic-ai/sdk`) against every
# provider kind: answers, streams and tool calls, whole and streamed, must parse without an
# exception or a warning whatever wire format hearth translated from.
import json

import pytest

import sdk
from conftest import MATRIX_KINDS as KINDS

PROMPT_ECHO = "echo: hello there"
TOOL_ARGS = {"location": "Paris, France", "unit": "celsius"}


@pytest.fixture(scope="module")
def openai_sdk():
    return sdk.require("openai", "openai_client.mjs", "sk-unused-on-loopback")


@pytest.fixture(scope="module")
def anthropic_sdk():
    return sdk.require("@anthropic-ai/sdk", "anthropic_client.mjs", "sk-unused-on-loopback")


@pytest.mark.parametrize("kind", KINDS)
def test_openai_sdk_chat_and_stream(matrix_gateway, openai_sdk, kind):
    base = matrix_gateway.url + "/v1"
    whole = openai_sdk.run(base, kind + "-echo", "chat")
    assert whole["content"] == PROMPT_ECHO, whole["_where"]
    streamed = openai_sdk.run(base, kind + "-echo", "stream")
    assert streamed["content"] == PROMPT_ECHO, streamed["_where"]
    assert streamed["finish_reasons"] == ["stop"], streamed["_where"]
    helper = openai_sdk.run(base, kind + "-echo", "stream_helper")
    assert helper["content"] == PROMPT_ECHO and helper["finish_reason"] == "stop"
    assert helper["usage"] and helper["usage"]["completion_tokens"] > 0, helper["_where"]
    for r in (whole, streamed, helper):
        sdk.assert_no_warnings(r)


@pytest.mark.parametrize("case", ["tools", "tools_stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_openai_sdk_tool_calls(matrix_gateway, openai_sdk, kind, case):
    r = openai_sdk.run(matrix_gateway.url + "/v1", kind + "-tool-call", case)
    assert r["finish_reason"] == "tool_calls", r["_where"]
    [call] = r["tool_calls"]
    assert (call["type"], call["name"]) == ("function", "get_weather"), r["_where"]
    assert call["id"], r["_where"]
    assert json.loads(call["arguments"]) == TOOL_ARGS, r["_where"]
    sdk.assert_no_warnings(r)


@pytest.mark.parametrize("case", ["text", "stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_anthropic_sdk_text(matrix_gateway, anthropic_sdk, kind, case):
    r = anthropic_sdk.run(matrix_gateway.url, kind + "-echo", case)
    assert r["content"] == [{"type": "text", "text": PROMPT_ECHO}], r["_where"]
    assert r["stop_reason"] == "end_turn", r["_where"]
    assert r["usage"]["input_tokens"] > 0 and r["usage"]["output_tokens"] > 0, r["_where"]
    sdk.assert_no_warnings(r)


@pytest.mark.parametrize("case", ["tools", "tools_stream"])
@pytest.mark.parametrize("kind", KINDS)
def test_anthropic_sdk_tool_use(matrix_gateway, anthropic_sdk, kind, case):
    r = anthropic_sdk.run(matrix_gateway.url, kind + "-tool-call", case)
    assert r["stop_reason"] == "tool_use", r["_where"]
    [block] = r["content"]
    assert (block["type"], block["name"]) == ("tool_use", "get_weather"), r["_where"]
    assert block["id"] and block["input"] == TOOL_ARGS, r["_where"]
    sdk.assert_no_warnings(r)


@pytest.mark.parametrize("kind", KINDS)
def test_both_sdks_raise_the_provider_rate_limit(matrix_gateway, openai_sdk, anthropic_sdk,
                                                 kind):
    r = openai_sdk.run(matrix_gateway.url + "/v1", kind + "-error-429", "error", ok=False)
    assert (r["error"]["class"], r["error"]["status"]) == ("RateLimitError", 429), r["_where"]
    r = anthropic_sdk.run(matrix_gateway.url, kind + "-error-429", "error", ok=False)
    assert (r["error"]["class"], r["error"]["status"]) == ("RateLimitError", 429), r["_where"]


@pytest.mark.parametrize("kind", ["openai", "gemini", "ollama"])
def test_openai_sdk_embeddings(matrix_gateway, openai_sdk, kind):
    """The SDK asks for base64 unless told otherwise: hearth encodes whatever the provider
    returned; the floats must be the provider's, either way."""
    from fakes.base import embedding
    r = openai_sdk.run(matrix_gateway.url + "/v1", kind + "-embed", "embeddings")
    assert r["object"] == "list" and r["indexes"] == [0, 1], r["_where"]
    for got_b64, got_f, text in zip(r["base64_vectors"], r["float_vectors"],
                                    ["first text", "second text"]):
        assert got_f == pytest.approx(embedding(text), abs=1e-6), r["_where"]
        assert got_b64 == pytest.approx(embedding(text), abs=1e-6), r["_where"]
    assert r["usage"]["prompt_tokens"] > 0, r["_where"]
    sdk.assert_no_warnings(r)
