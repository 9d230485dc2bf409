# test_conformance.py - one table of cases run for every (client dialect x provider kind)
# cell: OpenAI and Anthropic clients of hearth, each reaching an openai, anthropic, gemini and
# ollama provider (fakes speaking each wire format byte for byte). What the client sees is
# read back into one neutral Outcome (dialects.py) and checked against the same expectation.
import json

import pytest

from dialects import PNG_B64, WEATHER_TOOL, call
from conftest import MATRIX_KINDS as KINDS

DIALECT_NAMES = ["openai", "anthropic"]


@pytest.fixture(scope="module")
def fakes(kind_fakes):
    return kind_fakes


@pytest.fixture(scope="module")
def gateway(matrix_gateway):
    return matrix_gateway


def cells():
    return [pytest.param(d, k, id="%s->%s" % (d, k)) for d in DIALECT_NAMES for k in KINDS]


def ask(text="hello there", **kw):
    return dict({"messages": [{"role": "user", "text": text}]}, **kw)


STREAMS = [pytest.param(False, id="whole"), pytest.param(True, id="stream")]


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("dialect,kind", cells())
def test_text(gateway, dialect, kind, stream):
    o = call(gateway, dialect, kind + "-echo", ask("hello there"), stream)
    assert o.status == 200, o
    assert o.text == "echo: hello there", o
    assert o.finish == "stop", o
    assert o.usage and o.usage[0] > 0 and o.usage[1] > 0, o
    if stream:
        assert o.ended_cleanly, o
    assert o.error is None, o


@pytest.mark.parametrize("dialect,kind", cells())
def test_system_message_reaches_provider(gateway, fakes, dialect, kind):
    case = {"messages": [{"role": "system", "text": "be brief"},
                         {"role": "user", "text": "hi"}]}
    o = call(gateway, dialect, kind + "-echo", case)
    assert o.status == 200 and o.text == "echo: hi", o
    assert "be brief" in json.dumps(fakes[kind].requests[-1]["body"])


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("dialect,kind", cells())
def test_tool_call_round_trip(gateway, dialect, kind, stream):
    case = ask("what is the weather in Paris?", tools=[WEATHER_TOOL])
    o = call(gateway, dialect, kind + "-tool-call", case, stream)
    assert o.status == 200, o
    assert o.finish == "tool_calls", o
    assert len(o.tool_calls) == 1, o
    cid, name, args = o.tool_calls[0]
    assert cid and name == "get_weather", o
    assert args == {"location": "Paris, France", "unit": "celsius"}, o
    # the result goes back; the model answers from it
    case["messages"] += [{"role": "assistant_calls", "calls": [(cid, name, args)]},
                         {"role": "tool", "id": cid, "text": "22 C and sunny"}]
    o = call(gateway, dialect, kind + "-tool-call", case, stream)
    assert o.status == 200, o
    assert o.text == "tool said: 22 C and sunny", o
    assert o.finish == "stop", o


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("dialect,kind", cells())
def test_parallel_tool_calls(gateway, dialect, kind, stream):
    o = call(gateway, dialect, kind + "-parallel-tools",
             ask("weather in Paris and Tokyo?", tools=[WEATHER_TOOL]), stream)
    assert o.status == 200, o
    assert o.finish == "tool_calls", o
    assert [c[2]["location"] for c in o.tool_calls] == ["Paris, France", "Tokyo, Japan"], o
    assert len({c[0] for c in o.tool_calls}) == 2, "tool call ids must differ: %r" % (o,)


@pytest.mark.parametrize("dialect,kind", cells())
def test_image_base64(gateway, dialect, kind):
    case = {"messages": [{"role": "user", "text": "what is this?", "image": PNG_B64}]}
    o = call(gateway, dialect, kind + "-image", case)
    assert o.status == 200, o
    assert o.text.startswith("image: 1 "), o


@pytest.mark.parametrize("dialect,kind", cells())
def test_image_url(gateway, dialect, kind):
    case = {"messages": [{"role": "user", "text": "what is this?",
                          "image": "https://example.com/cat.png"}]}
    o = call(gateway, dialect, kind + "-image", case)
    if kind in ("gemini", "ollama"):  # they take image bytes only: a clear refusal
        assert o.status == 400, o
        assert "base64" in o.error[1], o
    else:
        assert o.status == 200, o
        assert "https://example.com/cat.png" in o.text, o


@pytest.mark.parametrize("kind", KINDS)
def test_json_mode(gateway, kind):
    o = call(gateway, "openai", kind + "-json", ask("give me json", json=True))
    if kind == "anthropic":  # the Messages API has no JSON mode: refused, not dropped
        assert o.status == 400, o
        assert "response_format" in o.error[1], o
        return
    assert o.status == 200, o
    assert "format" in json.loads(o.text), o


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("dialect,kind", cells())
def test_usage_is_recorded(gateway, dialect, kind, stream):
    o = call(gateway, dialect, kind + "-usage-details", ask("count these words"), stream)
    assert o.status == 200, o
    rid = o.headers.get("X-Request-Id")
    rec = gateway.record(rid)
    assert rec["prompt_tokens"] == o.usage[0] and rec["completion_tokens"] == o.usage[1], (
        rec, o)
    assert rec["tokens_estimated"] == 0, rec
    assert rec["provider"] == "p-" + kind


@pytest.mark.parametrize("dialect,kind", cells())
def test_max_tokens_finish(gateway, dialect, kind):
    o = call(gateway, dialect, kind + "-max-tokens", ask("tell me a long story"))
    assert o.status == 200, o
    assert o.finish == "length", o


ERRORS = [
    # behaviour, status (openai clients), status (anthropic clients), error type (openai)
    ("error-400", 400, 400, "invalid_request_error"),
    ("error-401", 502, 502, "api_error"),
    ("error-403", 502, 502, "api_error"),
    ("error-404", 502, 502, "api_error"),
    ("error-429", 429, 429, "rate_limit_error"),
    ("error-500", 502, 502, "api_error"),
    ("error-503", 503, 529, "server_error"),
    ("error-529", 503, 529, "server_error"),
]


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("behaviour,st_openai,st_anthropic,etype", ERRORS,
                         ids=[e[0] for e in ERRORS])
@pytest.mark.parametrize("dialect,kind", cells())
def test_provider_errors(gateway, dialect, kind, behaviour, st_openai, st_anthropic, etype,
                         stream):
    o = call(gateway, dialect, "%s-%s" % (kind, behaviour), ask(), stream)
    want = st_openai if dialect == "openai" else st_anthropic
    assert o.status == want, o
    assert o.error, o
    if dialect == "openai":
        assert o.error[0] == etype, o
    elif want == 529:
        assert o.error[0] == "overloaded_error", o
    if behaviour == "error-429":
        assert o.headers.get("Retry-After") == "7", o


@pytest.mark.parametrize("dialect,kind", cells())
def test_broken_stream_is_an_error_event(gateway, dialect, kind):
    o = call(gateway, dialect, kind + "-broken-stream", ask("tell me more"), True)
    assert o.status == 200, o  # the stream had started
    assert o.error, "a cut stream must end with an error event: %r" % (o,)
    assert not o.ended_cleanly, o


@pytest.mark.parametrize("kind", KINDS)
def test_unrepresentable_field_is_refused(gateway, kind):
    """An Anthropic-only field reaching a non-Anthropic provider is a 400 naming it."""
    from helpers import http_request
    body = {"model": kind + "-echo", "max_tokens": 50, "thinking": {"type": "enabled",
            "budget_tokens": 1024}, "messages": [{"role": "user", "content": "hi"}]}
    r = http_request(gateway.port, "POST", "/v1/messages", body,
                     headers={"anthropic-version": "2023-06-01"})
    if kind == "anthropic":
        assert r.status == 200, r
        return
    assert r.status == 400, r
    j = r.json()
    assert j["type"] == "error" and "thinking" in j["error"]["message"], j
