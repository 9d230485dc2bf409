# test_providers_api.py - what surrounds the conformance matrix: embeddings through each
# provider kind, model capabilities, the model listing in both dialects, x-api-key auth,
# `hearth models` and `hearth models import`.
import base64
import json
import struct

import pytest

from fakes.anthropic import FakeAnthropic
from fakes.base import embedding
from fakes.gemini import FakeGemini
from fakes.ollama import FakeOllama
from fakes.openai import FakeOpenAI
from helpers import SLOW, Hearth, default_config, free_port, http_request

KINDS = {"openai": FakeOpenAI, "anthropic": FakeAnthropic, "gemini": FakeGemini,
         "ollama": FakeOllama}
API_KEY = "sk-hearth-test-key-0123456789"


@pytest.fixture(scope="module")
def fakes():
    started = {k: cls().start() for k, cls in KINDS.items()}
    yield started
    for f in started.values():
        f.close()


def make_config(fakes, root, api_keys=None):
    cfg = default_config(free_port(), root / "data", fakes["openai"].base_url,
                         "http://127.0.0.1:9/v1")
    cfg["providers"] = {"p-" + k: {"kind": k, "base_url": f.base_url, "api_key": "env:FAKE_KEY",
                                   "first_byte_timeout_ms": 5000 * SLOW}
                        for k, f in fakes.items()}
    cfg["models"] = {}
    for k in KINDS:
        cfg["models"][k + "-embed"] = {"provider": "p-" + k, "upstream": "echo",
                                       "embeddings": True, "input_price_per_mtok": 1}
        cfg["models"][k + "-echo"] = {"provider": "p-" + k, "upstream": "echo"}
    cfg["models"]["no-tools"] = {"provider": "p-openai", "upstream": "echo", "tools": False}
    cfg["models"]["no-vision"] = {"provider": "p-ollama", "upstream": "image", "vision": False}
    cfg["models"]["no-json"] = {"provider": "p-gemini", "upstream": "json", "json_mode": False}
    if api_keys:
        cfg["server"]["api_keys"] = api_keys
    return cfg


@pytest.fixture(scope="module")
def gateway(fakes, tmp_path_factory):
    root = tmp_path_factory.mktemp("providers-api")
    h = Hearth(root, make_config(fakes, root))
    h.start()
    yield h
    h.stop()


def embed(h, model, inp, **kw):
    return http_request(h.port, "POST", "/v1/embeddings", dict({"model": model, "input": inp}, **kw))


@pytest.mark.parametrize("kind", ["openai", "gemini", "ollama"])
def test_embeddings_through_each_kind(gateway, kind):
    r = embed(gateway, kind + "-embed", ["first text", "second text"])
    assert r.status == 200, r
    j = r.json()
    assert j["object"] == "list" and j["model"] == kind + "-embed", j
    assert [d["index"] for d in j["data"]] == [0, 1]
    for d, text in zip(j["data"], ["first text", "second text"]):
        assert d["object"] == "embedding"
        assert d["embedding"] == pytest.approx(embedding(text), abs=1e-6), kind
    assert j["usage"]["prompt_tokens"] > 0
    rec = gateway.record(r.header("X-Request-Id"))
    assert rec["endpoint"] == "/v1/embeddings" and rec["provider"] == "p-" + kind, rec
    assert rec["prompt_tokens"] == j["usage"]["prompt_tokens"], rec
    assert rec["completion_tokens"] == 0, rec
    assert float(r.header("X-Hearth-Cost")) == pytest.approx(rec["prompt_tokens"] / 1e6)


@pytest.mark.parametrize("kind", ["openai", "gemini", "ollama"])
def test_embeddings_base64(gateway, kind):
    r = embed(gateway, kind + "-embed", "one text", encoding_format="base64")
    assert r.status == 200, r
    b = base64.b64decode(r.json()["data"][0]["embedding"])
    floats = struct.unpack("<%df" % (len(b) // 4), b)
    assert floats == pytest.approx(embedding("one text"), abs=1e-6)


def test_embeddings_single_string_and_dimensions(gateway):
    r = embed(gateway, "gemini-embed", "short", dimensions=8)
    assert r.status == 200, r
    assert len(r.json()["data"]) == 1
    assert len(r.json()["data"][0]["embedding"]) == 8, r


def test_embeddings_refused_where_the_kind_has_none(gateway):
    r = embed(gateway, "anthropic-embed", "text")
    assert r.status == 400, r
    assert "anthropic" in r.json()["error"]["message"], r
    assert r.json()["error"]["param"] == "model"


def test_embeddings_bad_input(gateway):
    r = embed(gateway, "openai-embed", {"not": "text"})
    assert r.status == 400 and r.json()["error"]["param"] == "input", r
    r = embed(gateway, "no-such-model", "x")
    assert r.status == 404, r


def test_embedding_model_refused_on_chat(gateway):
    r = http_request(gateway.port, "POST", "/v1/chat/completions",
                     {"model": "openai-embed", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status == 400, r
    assert "/v1/embeddings" in r.json()["error"]["message"]


def test_capabilities_refuse_before_the_provider(gateway, fakes):
    before = len(fakes["openai"].requests)
    r = http_request(gateway.port, "POST", "/v1/chat/completions", {
        "model": "no-tools", "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f"}}]})
    assert r.status == 400 and r.json()["error"]["param"] == "tools", r
    r = http_request(gateway.port, "POST", "/v1/messages", {
        "model": "no-vision", "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "iVBORw0KGgo="}}]}]},
        headers={"anthropic-version": "2023-06-01"})
    assert r.status == 400, r
    assert r.json()["type"] == "error" and "images" in r.json()["error"]["message"], r
    r = http_request(gateway.port, "POST", "/v1/chat/completions", {
        "model": "no-json", "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_object"}})
    assert r.status == 400 and r.json()["error"]["param"] == "response_format", r
    assert len(fakes["openai"].requests) == before


def test_models_listing_in_both_dialects(gateway):
    r = http_request(gateway.port, "GET", "/v1/models")
    assert r.status == 200
    by_id = {m["id"]: m for m in r.json()["data"]}
    m = by_id["gemini-echo"]["hearth"]
    assert m["kind"] == "gemini" and m["provider"] == "p-gemini" and m["upstream"] == "echo"
    assert m["capabilities"] == ["chat", "tools", "vision", "json_mode"], m
    assert by_id["ollama-embed"]["hearth"]["capabilities"] == ["embeddings"]
    assert "tools" not in by_id["no-tools"]["hearth"]["capabilities"]
    r = http_request(gateway.port, "GET", "/v1/models", headers={"anthropic-version": "2023-06-01"})
    j = r.json()
    assert j["has_more"] is False and j["first_id"] == j["data"][0]["id"], j
    assert all(m["type"] == "model" for m in j["data"])
    assert {m["id"] for m in j["data"]} == set(by_id)


def test_x_api_key_and_anthropic_shaped_auth_errors(fakes, tmp_path):
    h = Hearth(tmp_path, make_config(fakes, tmp_path, api_keys=["env:HEARTH_TEST_KEY"]),
               env={"HEARTH_TEST_KEY": API_KEY})
    h.start()
    try:
        body = {"model": "openai-echo", "max_tokens": 20,
                "messages": [{"role": "user", "content": "hi there"}]}
        r = http_request(h.port, "POST", "/v1/messages", body,
                         headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"})
        assert r.status == 200, r
        assert r.json()["content"][0]["text"] == "echo: hi there"
        r = http_request(h.port, "POST", "/v1/messages", body,
                         headers={"x-api-key": "wrong", "anthropic-version": "2023-06-01"})
        assert r.status == 401, r
        assert r.json() == {"type": "error", "error": {
            "type": "authentication_error", "message": r.json()["error"]["message"]}}, r
        r = http_request(h.port, "POST", "/v1/chat/completions",
                         {"model": "openai-echo", "messages": [{"role": "user", "content": "x"}]},
                         headers={"x-api-key": API_KEY})
        assert r.status == 200, r
    finally:
        h.stop()


def test_hearth_models_cli(gateway):
    p = gateway.cli("models", "--config", gateway.config_path, "--json")
    assert p.returncode == 0, p.stderr
    rows = {m["name"]: m for m in json.loads(p.stdout)}
    assert rows["ollama-echo"]["kind"] == "ollama"
    assert rows["ollama-embed"]["capabilities"] == "embeddings"
    p = gateway.cli("models", "--config", gateway.config_path)
    assert p.returncode == 0 and "anthropic-echo" in p.stdout and "CAPABILITIES" in p.stdout


def test_hearth_models_import(gateway, fakes):
    p = gateway.cli("models", "import", "p-ollama", "--config", gateway.config_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1] == "models:", p.stdout
    assert '  "echo:latest": {provider: p-ollama' in p.stdout or '  "echo": {provider: p-ollama' \
        in p.stdout, p.stdout
    p = gateway.cli("models", "import", "p-anthropic", "--config", gateway.config_path)
    assert p.returncode == 0, p.stderr
    assert "provider: p-anthropic" in p.stdout
    assert fakes["anthropic"].requests[-1]["headers"].get("x-api-key"), "listing sent no key"
    p = gateway.cli("models", "import", "nope", "--config", gateway.config_path)
    assert p.returncode == 1 and "no provider 'nope'" in p.stderr
    p = gateway.cli("models", "import", "--config", gateway.config_path)
    assert p.returncode == 2


def test_ollama_keep_alive_and_options_pass_through(gateway, fakes):
    body = {"model": "ollama-echo", "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.5, "keep_alive": "10m",
            "options": {"num_ctx": 8192, "temperature": 0.1}}
    r = http_request(gateway.port, "POST", "/v1/chat/completions", body)
    assert r.status == 200, r
    sent = fakes["ollama"].requests[-1]["body"]
    assert sent["keep_alive"] == "10m", sent
    assert sent["options"]["num_ctx"] == 8192, sent
    assert sent["options"]["temperature"] == 0.5, "hearth's mapped field wins: %r" % sent
    body["model"] = "gemini-echo"  # not Ollama's: refused, naming the field
    r = http_request(gateway.port, "POST", "/v1/chat/completions", body)
    assert r.status == 400, r
    assert r.json()["error"]["param"] in ("keep_alive", "options"), r
    body["model"], body["options"] = "ollama-echo", "not an object"
    r = http_request(gateway.port, "POST", "/v1/chat/completions", body)
    assert r.status == 400 and r.json()["error"]["param"] == "options", r
