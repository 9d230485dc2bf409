# test_llamacpp.py - the embedded llama.cpp engine (provider kind llamacpp) with a real model:
# ../shared/models/stories260K-f32.gguf, a 260K-parameter Llama trained on TinyStories, whose
# greedy continuation of "Once upon a time" is known. Skips, saying why, when the model file
# or the llama.cpp library (`make llama`) is absent.
import json
import os
import socket
import threading

import pytest

from helpers import REPO, VALGRIND, chat_body, raw_connect, status_of

# llama.cpp is an uninstrumented C++ library doing SIMD work on a thread of its own: under
# valgrind it runs orders of magnitude slower and its CPU-variant probing is not what runs
# in production. ASan (make asan) covers the engine's own code instead.
pytestmark = pytest.mark.skipif(VALGRIND, reason="the embedded llama.cpp engine is not run "
                                "under valgrind (make asan covers it)")

MODEL = REPO.parent / "shared" / "models" / "stories260K-f32.gguf"
PROMPT = "Once upon a time"
# the reference continuation (llama2.c's own run of these weights)
REFERENCE = (", there was a little girl named Lily. She loved to play outside in the park. "
             "One day, she saw a big, red ball.")


def tiny_provider(**extra):
    p = {"kind": "llamacpp", "path": str(MODEL), "threads": 1, "parallel": 4}
    p.update(extra)
    return p


def local_config(provider=None, model=None):
    def mutate(cfg):
        cfg["providers"]["tiny"] = provider or tiny_provider()
        cfg["models"]["tiny"] = model or {"provider": "tiny"}
    return mutate


def engine_of(h, model="tiny"):
    for m in h.get("/v1/models").json()["data"]:
        if m["id"] == model:
            return m["hearth"]["engine"]
    raise AssertionError("no model %s in /v1/models" % model)


def skip_if_no_library(e):
    """Skips, saying why, when hearth has no usable llama.cpp (not built with its headers,
    or the library is missing): not a fault of the model or of the code under test."""
    err = e.get("error", "")
    if e["status"] != "ready" and ("llama.cpp library" in err or "headers" in err):
        pytest.skip("the llama.cpp library is not available (run `make llama`): " + err)


def skip_without_engine(h, model="tiny"):
    e = engine_of(h, model)
    skip_if_no_library(e)
    assert e["status"] == "ready", e


@pytest.fixture
def tiny(hearth_factory):
    """A hearth serving the tiny model as "tiny" (4 sequences, 1 thread)."""
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    h = hearth_factory(mutate=local_config())
    skip_without_engine(h)
    return h


def greedy(text=PROMPT, **extra):
    return chat_body("tiny", text, temperature=0, **extra)


def start_long_stream(h):
    """A raw streaming request for a generation of up to 16000 tokens, read up to its first
    token: it holds a sequence of the engine. Returns the socket."""
    s = raw_connect(h.port)
    body = json.dumps(greedy(max_tokens=16000, stream=True)).encode()
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
              b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    got = b""
    while b"content" not in got:
        b = s.recv(65536)
        assert b, "the stream ended before its first token"
        got += b
    assert status_of(got) == 200, got
    return s


def test_greedy_answer_is_the_reference_text_with_exact_usage(tiny):
    r = tiny.chat(greedy(max_tokens=40))
    assert r.status == 200, r
    body = r.json()
    assert body["model"] == "tiny"
    ch = body["choices"][0]
    assert ch["message"]["content"] == REFERENCE
    assert ch["finish_reason"] == "length"
    u = body["usage"]
    # 40 tokens asked for and produced; the prompt is BOS + the 4 tokens of the text
    assert (u["completion_tokens"], u["prompt_tokens"]) == (40, 5), u
    assert r.header("X-Hearth-Usage") is None  # counted, not estimated
    assert r.header("X-Hearth-Model") == "tiny"


def test_stream_gives_the_same_text_token_by_token(tiny):
    r, sse = tiny.stream(greedy(max_tokens=40, stream=True,
                                stream_options={"include_usage": True}))
    assert r.status == 200, r
    assert sse.done and sse.error is None
    assert sse.content() == REFERENCE
    pieces = [c["choices"][0]["delta"].get("content") for c in sse.chunks if c["choices"]]
    pieces = [p for p in pieces if p]
    assert len(sse.usage_chunks()) == 1
    u = sse.usage_chunks()[0]["usage"]
    assert u["completion_tokens"] == 40 == len(pieces), (u, pieces)  # one event per token
    assert sse.finish_reasons() == ["length"]


def test_sampling_parameters_are_honoured(tiny):
    # stop: the answer ends before the stop string, which is not sent
    r = tiny.chat(greedy(stop=[" named"]))
    ch = r.json()["choices"][0]
    assert (ch["message"]["content"], ch["finish_reason"]) == (
        ", there was a little girl", "stop"), r
    # max_tokens counts tokens: " there" is one, "girl" three (g, ir, l)
    r = tiny.chat(greedy(max_tokens=8))
    assert r.json()["choices"][0]["message"]["content"] == ", there was a little girl"
    # a seed makes sampling repeatable; another seed samples another story
    hot = dict(temperature=1.0, top_p=1.0, max_tokens=30)
    a = tiny.chat(chat_body("tiny", PROMPT, seed=7, **hot)).json()
    b = tiny.chat(chat_body("tiny", PROMPT, seed=7, **hot)).json()
    others = {tiny.chat(chat_body("tiny", PROMPT, seed=s, **hot)).json()["choices"][0]
              ["message"]["content"] for s in (1, 2, 3)}
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]
    assert len(others | {a["choices"][0]["message"]["content"]}) > 1


def test_eight_concurrent_requests_share_the_model(tiny):
    results = [None] * 8

    def one(i):
        body = greedy(max_tokens=40, stream=(i % 2 == 0))
        if i % 2 == 0:
            r, sse = tiny.stream(body)
            results[i] = (r.status, sse.content() if sse else r.text)
        else:
            r = tiny.chat(body)
            results[i] = (r.status, r.json()["choices"][0]["message"]["content"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(200, REFERENCE)] * 8


def test_the_anthropic_dialect_reaches_the_engine(tiny):
    r = tiny.request("POST", "/v1/messages", {
        "model": "tiny", "max_tokens": 40, "temperature": 0,
        "messages": [{"role": "user", "content": PROMPT}]},
        headers={"anthropic-version": "2023-06-01"})
    assert r.status == 200, r
    b = r.json()
    assert b["content"][0]["text"] == REFERENCE
    assert b["stop_reason"] == "max_tokens"
    assert b["usage"]["output_tokens"] == 40


@pytest.fixture
def sdk_env(monkeypatch):
    """The SDK client scripts send PROMPT greedily (SDK_PROMPT, SDK_SAMPLING)."""
    monkeypatch.setenv("SDK_PROMPT", PROMPT)
    monkeypatch.setenv("SDK_SAMPLING", json.dumps({"temperature": 0}))


def test_the_openai_sdk_gets_the_reference_text(tiny, sdk_env):
    import sdk
    runner = sdk.require("openai", "openai_client.mjs", "unused")
    whole = runner.run(tiny.url + "/v1", "tiny", "chat")
    assert whole["content"].startswith(REFERENCE), whole["content"]
    assert whole["hearth_model"] == "tiny"
    u = whole["usage"]
    assert u["prompt_tokens"] == 5 and u["total_tokens"] == 5 + u["completion_tokens"]
    streamed = runner.run(tiny.url + "/v1", "tiny", "stream")
    assert streamed["content"] == whole["content"]
    assert streamed["usage_chunks"][0] == u
    assert streamed["finish_reasons"] == [whole["finish_reason"]]
    sdk.assert_no_warnings(whole)
    sdk.assert_no_warnings(streamed)


def test_the_anthropic_sdk_gets_the_reference_text(tiny, sdk_env):
    import sdk
    runner = sdk.require("@anthropic-ai/sdk", "anthropic_client.mjs", "unused")
    whole = runner.run(tiny.url, "tiny", "text")
    assert whole["content"][0]["text"].startswith(REFERENCE), whole["content"]
    assert whole["usage"]["input_tokens"] == 5
    streamed = runner.run(tiny.url, "tiny", "stream")
    assert streamed["text"] == whole["content"][0]["text"]
    assert streamed["usage"] == whole["usage"]
    assert streamed["stop_reason"] == whole["stop_reason"]
    sdk.assert_no_warnings(streamed)


def test_models_list_says_how_the_prompt_is_built(tiny):
    e = engine_of(tiny)
    assert e["prompt"] == "plain_completion"  # this GGUF has no chat template
    assert e["path"] == str(MODEL)
    m = [m for m in tiny.get("/v1/models").json()["data"] if m["id"] == "tiny"][0]
    assert m["hearth"]["kind"] == "llamacpp" and m["hearth"]["locality"] == "local"
    assert m["hearth"]["context_window"] == 512  # the model's training context
    assert m["hearth"]["capabilities"] == ["chat"]


def test_embeddings_from_a_model_loaded_for_them(hearth_factory):
    """Plumbing only: this model's vectors mean nothing, but their shape and count do."""
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    h = hearth_factory(mutate=local_config(tiny_provider(embeddings=True)))
    skip_without_engine(h)
    r = h.request("POST", "/v1/embeddings", {"model": "tiny", "input": [PROMPT, "a cat", PROMPT]})
    assert r.status == 200, r
    b = r.json()
    vecs = [d["embedding"] for d in b["data"]]
    assert [len(v) for v in vecs] == [64, 64, 64]  # the model's width
    assert all(abs(sum(x * x for x in v) - 1) < 1e-6 for v in vecs)  # L2-normalized
    assert vecs[0] == vecs[2] and vecs[0] != vecs[1]
    one = h.request("POST", "/v1/embeddings", {"model": "tiny", "input": "a cat"}).json()
    # each input counted: BOS + its tokens (the prompt is 5, as in chat)
    assert b["usage"]["prompt_tokens"] == 5 + one["usage"]["prompt_tokens"] + 5
    assert engine_of(h)["prompt"] == "embeddings"
    r = h.chat(greedy())
    assert r.status == 400 and "/v1/embeddings" in r.json()["error"]["message"], r


def test_what_the_engine_cannot_do_is_refused_by_name(tiny):
    r = tiny.chat(greedy(response_format={"type": "json_object"}))
    assert r.status == 400, r
    assert r.json()["error"]["param"] == "response_format"


def test_a_disconnect_frees_the_sequence_at_once(hearth_factory):
    """One sequence, a context large enough that a generation runs for a minute: a client that
    leaves mid-stream must free it, or the next request would wait for that minute."""
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    h = hearth_factory(mutate=local_config(
        tiny_provider(parallel=1, context=16384),
        {"provider": "tiny", "max_queue": 1, "queue_timeout_ms": 15000}))
    skip_without_engine(h)
    s = start_long_stream(h)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # reset: the client is gone mid-stream
    r = h.chat(greedy(max_tokens=40), timeout=15)
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == REFERENCE


def test_a_full_engine_sends_the_task_to_the_next_candidate(hearth_factory):
    """The router treats the engine like any provider: a task tries it first, and while its one
    sequence is taken (no queue) the next candidate answers."""
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)

    def mutate(cfg):
        local_config(tiny_provider(parallel=1, context=16384),
                     {"provider": "tiny", "max_queue": 0})(cfg)
        cfg["tasks"] = {"story": {"candidates": ["tiny", "echo"], "strategy": "ordered"}}
    h = hearth_factory(mutate=mutate)
    skip_without_engine(h)
    r = h.chat(chat_body("story", PROMPT, temperature=0, max_tokens=40))
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "tiny"
    assert r.json()["choices"][0]["message"]["content"] == REFERENCE

    s = start_long_stream(h)  # a long generation holds the one sequence
    r = h.chat(chat_body("story", PROMPT, temperature=0, max_tokens=40))
    s.close()
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "echo"
    assert "tiny:busy" in r.header("X-Hearth-Route")


@pytest.mark.parametrize("damage", ["not-gguf", "truncated", "empty", "missing"])
def test_a_bad_model_file_is_refused_cleanly(hearth_factory, tmp_path, damage):
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    bad = tmp_path / ("%s.gguf" % damage)
    data = MODEL.read_bytes()
    if damage == "not-gguf":
        bad.write_bytes(b"<html>404 Not Found</html>" + b"\0" * 100)
    elif damage == "truncated":
        bad.write_bytes(data[: len(data) // 3])
    elif damage == "empty":
        bad.write_bytes(b"")
    h = hearth_factory(mutate=local_config(tiny_provider(path=str(bad))))
    e = engine_of(h)
    skip_if_no_library(e)
    assert e["status"] == "unavailable"
    assert str(bad) in e["error"]
    cause = {"not-gguf": "not a GGUF file", "truncated": "llama.cpp could not load",
             "empty": "the file is empty", "missing": "No such file"}[damage]
    assert cause in e["error"], e["error"]
    assert str(bad) in h.stderr_text() and cause in h.stderr_text()
    r = h.chat(greedy())  # the model answers with the cause; the server stays up
    assert r.status == 503, r
    assert str(bad) in r.json()["error"]["message"]
    assert r.json()["error"]["code"] == "local_model_unavailable"
    assert h.chat(chat_body("echo")).status == 200
    d = h.cli("doctor", "--config", h.config_path)  # says the same, exits 1
    assert d.returncode == 1, d.stdout
    assert "FAIL  provider  'tiny' (in process)" in d.stdout and cause in d.stdout, d.stdout


def test_doctor_loads_the_model(tiny):
    d = tiny.cli("doctor", "--config", tiny.config_path)
    line = [ln for ln in d.stdout.splitlines() if "'tiny'" in ln][0]
    assert line.startswith("ok") and str(MODEL) in line and "plain completion" in line, line


@pytest.mark.parametrize("how", ["env", "models-dir"])
def test_a_local_model_is_served_as_local_with_no_provider_configured(tmp_path, how):
    """HEARTH_LOCAL_MODEL, or a GGUF in ./models, and no provider in the config: the model
    "local", answering from the start."""
    from helpers import Hearth, free_port
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    root = tmp_path / "bare"
    cfg = {"server": {"port": free_port()}, "storage": {"data_dir": str(root / "data")}}
    env = {"HEARTH_LOCAL_MODEL": str(MODEL)} if how == "env" else {}
    h = Hearth(root, cfg, env=env)
    if how == "models-dir":
        (root / "models").mkdir()
        (root / "models" / "tiny.gguf").symlink_to(MODEL)
    h.start()
    try:
        skip_without_engine(h, "local")
        assert h.model_ids() == ["local"]
        r = h.chat(chat_body("local", PROMPT, temperature=0, max_tokens=40))
        assert r.status == 200, r
        assert r.json()["choices"][0]["message"]["content"] == REFERENCE
    finally:
        h.stop()


def test_a_library_of_another_ggml_version_is_refused(hearth_factory, tmp_path):
    """A library whose ggml_version() is not the one of the headers hearth was built with:
    a shim that says 0.0.1 and takes everything else from the real library."""
    import shutil
    import subprocess
    lib_dir = REPO / "third_party" / "llama" / "lib"
    libs = sorted(lib_dir.glob("libllama.v*.so"))
    if not libs or not shutil.which("cc"):
        pytest.skip("no llama.cpp library in %s (run `make llama`) or no cc" % lib_dir)
    src = tmp_path / "shim.c"
    src.write_text('const char *ggml_version(void) { return "0.0.1"; }\n')
    shim = tmp_path / "libllama.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(src), "-Wl,--no-as-needed", "-L" + str(lib_dir),
                    "-l:" + libs[-1].name, "-Wl,-rpath," + str(lib_dir)], check=True)
    h = hearth_factory(mutate=local_config(), env={"HEARTH_LLAMA_LIB": str(shim)})
    e = engine_of(h)
    if "headers" in e.get("error", ""):
        pytest.skip("hearth was built without llama.cpp's headers: " + e["error"])
    assert e["status"] == "unavailable"
    assert "'%s' is not the version hearth was built for: its ggml is 0.0.1" % shim \
        in e["error"], e["error"]


@pytest.mark.parametrize("lib", ["missing", "wrong"])
def test_without_the_right_library_hearth_starts_and_says_why(hearth_factory, tmp_path, lib):
    path = str(tmp_path / "nowhere" / "libllama.so") if lib == "missing" else \
        "/lib/x86_64-linux-gnu/libm.so.6"
    if lib == "wrong" and not os.path.exists(path):
        pytest.skip("no %s on this machine" % path)
    h = hearth_factory(mutate=local_config(), env={"HEARTH_LLAMA_LIB": path})
    e = engine_of(h)
    assert e["status"] == "unavailable"
    if "headers" in e["error"]:
        pytest.skip("hearth was built without llama.cpp's headers: " + e["error"])
    want = "cannot load the llama.cpp library" if lib == "missing" else "not the version"
    assert want in e["error"] and path in e["error"], e["error"]
    assert path in h.stderr_text()
    r = h.chat(greedy())  # the server runs; the model says why it cannot answer
    assert r.status == 503 and path in r.json()["error"]["message"], r


def test_a_task_timeout_ends_a_long_generation_and_frees_its_sequence(hearth_factory):
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)

    def mutate(cfg):
        local_config(tiny_provider(parallel=1, context=16384),
                     {"provider": "tiny", "max_queue": 1})(cfg)
        cfg["tasks"] = {"quick": {"candidates": ["tiny"], "timeout_ms": 300,
                                  "max_retries": 0, "fallback": False}}
    h = hearth_factory(mutate=mutate)
    skip_without_engine(h)
    r = h.chat(chat_body("quick", PROMPT, temperature=0, max_tokens=16000))
    assert r.status == 504, r
    assert r.json()["error"]["code"] == "upstream_timeout"
    r = h.chat(greedy(max_tokens=40), timeout=15)  # the one sequence is free again
    assert r.status == 200 and r.json()["choices"][0]["message"]["content"] == REFERENCE, r


def test_a_context_too_large_for_memory_is_refused_before_it_is_allocated(hearth_factory):
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    if not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc/meminfo: the check cannot know the memory available")
    # 256 x 1M tokens of KV cache: ~170 GB even for this tiny model
    h = hearth_factory(mutate=local_config(tiny_provider(parallel=256, context=1048576)))
    e = engine_of(h)
    skip_if_no_library(e)
    assert e["status"] == "unavailable"
    assert "out of memory for the context of '%s'" % MODEL in e["error"], e["error"]
    assert "lower providers.tiny.context or parallel" in e["error"]
    assert h.chat(greedy()).status == 503


def test_a_chat_template_formats_the_conversation(hearth_factory):
    """chat_template: chatml on this template-less model: the answer is exactly the plain
    completion of the ChatML text of the conversation."""
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)

    def mutate(cfg):
        local_config()(cfg)
        cfg["providers"]["chatml"] = tiny_provider(chat_template="chatml")
        cfg["models"]["chatml"] = {"provider": "chatml"}
        cfg["providers"]["bad"] = tiny_provider(chat_template="no such {{ template")
        cfg["models"]["bad"] = {"provider": "bad"}
    h = hearth_factory(mutate=mutate)
    skip_without_engine(h)
    assert engine_of(h, "chatml")["prompt"] == "chat_template"
    conv = [{"role": "system", "content": "Tell a story."},
            {"role": "user", "content": PROMPT}]
    chatml = "".join("<|im_start|>%s\n%s<|im_end|>\n" % (m["role"], m["content"]) for m in conv)
    chatml += "<|im_start|>assistant\n"
    a = h.chat({"model": "chatml", "messages": conv, "temperature": 0, "max_tokens": 20})
    b = h.chat(greedy(chatml, max_tokens=20))
    assert a.status == b.status == 200, (a, b)
    assert a.json()["usage"] == b.json()["usage"]
    assert a.json()["choices"][0]["message"] == b.json()["choices"][0]["message"]
    e = engine_of(h, "bad")
    assert e["status"] == "unavailable" and "providers.bad.chat_template" in e["error"], e


def test_a_reload_loads_a_model_added_to_the_config(hearth_factory):
    import copy
    import signal
    from helpers import wait_until
    if not MODEL.is_file():
        pytest.skip("the test model %s is absent" % MODEL)
    h = hearth_factory()
    cfg = copy.deepcopy(h.config)
    local_config()(cfg)
    h.write_config(cfg)
    h.signal(signal.SIGHUP)
    assert wait_until(lambda: "tiny" in h.model_ids(), 10), h.model_ids()
    skip_without_engine(h)
    r = h.chat(greedy(max_tokens=40))
    assert r.status == 200 and r.json()["choices"][0]["message"]["content"] == REFERENCE, r
