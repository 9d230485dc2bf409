# conftest.py - pytest fixtures for the e2e suite: the fake provider, a hearth server per test
# (a factory for custom configs), and the server's stderr attached to failing reports.
import copy

import pytest

from fakes.openai import FakeOpenAI
from helpers import Hearth, default_config, free_port, hearth_bin


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    for i, h in enumerate(getattr(item, "_hearths", [])):
        rep.sections.append(("hearth #%d stderr (%s)" % (i, h.stderr_path), h.stderr_tail()))
    fake = getattr(item, "_fake", None)
    if fake is not None:
        rep.sections.append(("fake provider requests", fake.summary()))


@pytest.fixture
def fake(request):
    f = FakeOpenAI().start()
    request.node._fake = f
    yield f
    f.close()


@pytest.fixture
def dead_url():
    """A loopback URL where nothing listens: connections are refused."""
    return "http://127.0.0.1:%d/v1" % free_port()


@pytest.fixture
def base_config(tmp_path, fake, dead_url):
    """A fresh default config dict (a new port and data dir each call)."""
    def make(name="hearth"):
        return default_config(free_port(), tmp_path / name / "data", fake.base_url, dead_url)
    return make


@pytest.fixture
def hearth_factory(request, tmp_path, base_config):
    """make(mutate=None, env=None, start=True, name=None) -> Hearth.

    mutate(cfg) edits the default config dict in place before it is written. Every server
    made is stopped at teardown with SIGTERM and must exit 0 (and, under valgrind, leak-free).
    """
    if not hearth_bin().is_file():
        pytest.fail("hearth binary not found at %s: build it (make) or set HEARTH_BIN"
                    % hearth_bin())
    made = []
    request.node._hearths = made

    def make(mutate=None, env=None, start=True, name=None):
        name = name or "hearth%d" % len(made)
        cfg = copy.deepcopy(base_config(name))
        if mutate:
            mutate(cfg)
        h = Hearth(tmp_path / name, cfg, env=env)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    problems = []
    for h in made:
        if h.proc is None or h.returncode is not None:
            continue
        try:
            h.stop()
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def hearth(hearth_factory):
    """A hearth server with the default config, started and ready."""
    return hearth_factory()


# ---- every provider kind at once (the conformance matrix and the SDK matrix) ----------------

MATRIX_KINDS = ["openai", "anthropic", "gemini", "ollama"]
MATRIX_BEHAVIOURS = ["echo", "usage-details", "tool-call", "parallel-tools", "json", "image",
                     "max-tokens", "broken-stream", "error-400", "error-401", "error-403",
                     "error-404", "error-429", "error-500", "error-503", "error-529"]


@pytest.fixture(scope="module")
def kind_fakes():
    """One started fake per provider kind, for a whole module."""
    from fakes.anthropic import FakeAnthropic
    from fakes.gemini import FakeGemini
    from fakes.ollama import FakeOllama
    classes = {"openai": FakeOpenAI, "anthropic": FakeAnthropic, "gemini": FakeGemini,
               "ollama": FakeOllama}
    started = {k: classes[k]().start() for k in MATRIX_KINDS}
    yield started
    for f in started.values():
        f.close()


@pytest.fixture(scope="module")
def matrix_gateway(kind_fakes, tmp_path_factory):
    """A hearth with a provider per kind and a model "<kind>-<behaviour>" for every common
    behaviour of the fakes, for a whole module."""
    from helpers import SLOW
    root = tmp_path_factory.mktemp("matrix")
    cfg = default_config(free_port(), root / "data", kind_fakes["openai"].base_url,
                         "http://127.0.0.1:9/v1")
    cfg["providers"], cfg["models"] = {}, {}
    for kind, fake in kind_fakes.items():
        cfg["providers"]["p-" + kind] = {
            "kind": kind, "base_url": fake.base_url, "api_key": "env:FAKE_KEY",
            "connect_timeout_ms": 1000 * SLOW, "first_byte_timeout_ms": 5000 * SLOW,
            "idle_timeout_ms": 5000 * SLOW, "total_timeout_ms": 20000 * SLOW}
        for b in MATRIX_BEHAVIOURS:
            cfg["models"]["%s-%s" % (kind, b)] = {
                "provider": "p-" + kind, "upstream": b,
                "input_price_per_mtok": 1, "output_price_per_mtok": 2}
        cfg["models"][kind + "-embed"] = {"provider": "p-" + kind, "upstream": "echo",
                                          "embeddings": True, "input_price_per_mtok": 1}
    h = Hearth(root, cfg)
    h.start()
    yield h
    h.stop()
