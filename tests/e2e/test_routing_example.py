# test_routing_example.py - the example of docs/routing.md, end to end: the YAML block under
# "## Example" is read from the doc itself (so this test follows the doc when it changes),
# pointed at the loopback fakes, and every bullet under it is checked against what hearth does.
import copy
import re
import threading
import time

import pytest
import yaml  # Debian's python3-yaml (scripts/install-deps.sh test)

from helpers import REPO, SSE, chat_body, http_request

DOC = REPO / "docs" / "routing.md"
OPENAI_KEY = "sk-example-cloud-openai-5d1e"        # what env:OPENAI_API_KEY resolves to
ANTHROPIC_KEY = "sk-ant-example-cloud-93b0"         # what env:ANTHROPIC_API_KEY resolves to
KEYS = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}
LOCAL_MODELS = {"llama3", "qwen-coder", "qwen-small"}
CLOUD_MODELS = {"gpt-4o-mini", "claude-sonnet"}


# ---- the doc ----------------------------------------------------------------------------

def example_section():
    """The text of docs/routing.md from "## Example" to the next "## " heading."""
    text = DOC.read_text()
    m = re.search(r"^## Example[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, "docs/routing.md has no '## Example' section"
    return m.group(1)


def example_yaml():
    """The first ```yaml fenced block under "## Example", parsed."""
    m = re.search(r"^```ya?ml[ \t]*\n(.*?)^```[ \t]*$", example_section(), re.M | re.S)
    assert m, "no ```yaml block under '## Example' in docs/routing.md"
    return yaml.safe_load(m.group(1))


def example_bullets():
    """The bullets after the YAML block, each as one line of text."""
    after = re.split(r"^```[ \t]*$", example_section(), flags=re.M)[-1]
    bullets = []
    for line in after.splitlines():
        if line.startswith("- "):
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:
            bullets[-1] += " " + line.strip()
    return bullets


DOC_CFG = example_yaml()


# ---- the example on loopback ------------------------------------------------------------

# Each model's upstream becomes the behaviour of its fake (see fakes/base.py); a test changes
# one with `behaviours={...}`.
DEFAULT_BEHAVIOURS = {name: "echo" for name in DOC_CFG["models"]}


def example_config(kind_fakes, behaviours=None, dead=(), adjust=None):
    """mutate(cfg) for hearth_factory: the doc's providers, models, tasks and rules, with
    only what loopback needs rewritten: base_url -> the fake of the provider's kind (the two
    openai-kind providers share the openai fake), the cloud ones marked `locality: cloud`
    (their URLs are loopback now, which would auto-detect as local), and each model's
    upstream -> a fake behaviour. Providers in `dead` point at a port where nothing listens."""
    beh = dict(DEFAULT_BEHAVIOURS, **(behaviours or {}))

    def mutate(cfg):
        doc = copy.deepcopy(DOC_CFG)
        for pid, p in doc["providers"].items():
            was_cloud = not re.match(r"^https?://(127\.|localhost\b|\[::1\])", p["base_url"])
            p["base_url"] = kind_fakes[p["kind"]].base_url
            if pid in dead:
                p["base_url"] = cfg["providers"]["dead"]["base_url"]
            if was_cloud:
                p["locality"] = "cloud"
        for name, m in doc["models"].items():
            m["upstream"] = beh[name]
        cfg["providers"] = doc["providers"]
        cfg["models"] = doc["models"]
        cfg["tasks"] = doc["tasks"]
        cfg["rules"] = doc["rules"]
        if adjust:
            adjust(cfg)
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(behaviours=None, dead=(), adjust=None):
        return hearth_factory(mutate=example_config(kind_fakes, behaviours, dead, adjust),
                              env=KEYS)
    return make_


class Cloud:
    """Counts what reached the cloud providers: every request to the anthropic fake, and
    those to the shared openai fake that carry the openai provider's key (llamacpp, the local
    one, has no key)."""

    def __init__(self, kind_fakes):
        self.kind_fakes = kind_fakes
        self.before = self.count()

    def count(self):
        oa = [q for q in self.kind_fakes["openai"].requests
              if OPENAI_KEY in (q["headers"].get("authorization") or "")]
        return len(oa) + len(self.kind_fakes["anthropic"].requests)

    @property
    def new(self):
        return self.count() - self.before


def chat(h, model, text="hello there", stream=False, headers=None, timeout=30, **extra):
    return http_request(h.port, "POST", "/v1/chat/completions",
                        chat_body(model, text, stream=stream, **extra), headers=headers,
                        timeout=timeout)


def route(r):
    assert r.header("X-Hearth-Route") is not None, ("no X-Hearth-Route", r)
    return dict(kv.split("=", 1) for kv in r.header("X-Hearth-Route").split("; "))


def calls(fake, upstream):
    return [q for q in fake.requests if (q.get("body") or {}).get("model") == upstream]


SENSITIVE = {"X-Hearth-Sensitive": "1"}
CODE = "why does this fail?\n```python\ndef total(xs):\n    return sum(x for x in xs\n```"
# about 12 000 bytes of plain prose: well above 2000 estimated tokens (~4 bytes each)
LONG_DOC = "Please summarize the following report. " + " ".join(
    "The committee met on day %d and discussed the budget, the schedule and the staffing "
    "of the new library, and agreed to meet again after the holidays." % i
    for i in range(80))
SHORT_DOC = "Please summarize: " + " ".join(
    "The committee met and talked about the budget of the library." for _ in range(40))


def test_the_example_is_what_the_doc_says():
    """Guards the reading of the doc: the shape the issue names, and one test per bullet."""
    providers, models, tasks = DOC_CFG["providers"], DOC_CFG["models"], DOC_CFG["tasks"]
    assert len(providers) == 4 and len(models) == 5 and len(tasks) == 5, DOC_CFG
    assert {t for t, v in tasks.items() if v.get("local_only")} == {"hr-private"}
    assert {t for t, v in tasks.items() if v.get("strategy") == "cascade"} == {"summarize"}
    local = {n for n, m in models.items()
             if re.match(r"^http://127\.", providers[m["provider"]]["base_url"])}
    assert local == LOCAL_MODELS and set(models) - local == CLOUD_MODELS
    assert len(LONG_DOC) >= 4 * 2000 + 2000 and len(SHORT_DOC) <= 4 * 2000 - 4000
    bullets = example_bullets()
    # one test below per bullet; a new or changed bullet needs a look at this file
    assert len(bullets) == 6, bullets
    for bullet, names in zip(bullets, [("auto", "code", "rule 1", "qwen-coder", "claude-sonnet"),
                                       ("auto", "summarize", "llama3", "gpt-4o-mini"),
                                       ("sensitive", "hr-private", "rule 0", "llama3",
                                        "qwen-small", "503"),
                                       ("task:support-reply", "claude-sonnet", "529",
                                        "timeout", "gpt-4o-mini"),
                                       ("summarize", "llama3", "max_tokens", "gpt-4o-mini"),
                                       ("summarize", "llama3", "gpt-4o-mini", "hr-private",
                                        "qwen-small")]):
        for n in names:
            assert n in bullet, (n, bullet)


def test_the_example_starts_and_lists_its_models(make):
    h = make()
    assert set(h.model_ids()) >= LOCAL_MODELS | CLOUD_MODELS


# ---- bullet 1: model auto with a code block -> code (rule 1) -----------------------------

def test_auto_with_code_goes_to_qwen_coder_by_rule_1(make, kind_fakes):
    h = make()
    cloud = Cloud(kind_fakes)
    r = chat(h, "auto", CODE)
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "qwen-coder", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "code" and rt["via"] == "rule:1", rt
    assert rt["strategy"] == "ordered" and rt["model"] == "qwen-coder", rt
    assert cloud.new == 0
    rec = h.record(r.header("X-Request-Id"))
    assert rec["task"] == "code" and rec["model_used"] == "qwen-coder", rec
    assert rec["attempts"] == 1, rec


def test_auto_with_code_goes_to_claude_sonnet_when_qwen_coder_fails(make, kind_fakes):
    h = make({"qwen-coder": "error-503"})
    before = len(kind_fakes["anthropic"].requests)
    r = chat(h, "auto", CODE)
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "claude-sonnet", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "code" and rt["via"] == "rule:1", rt
    assert rt["failed"].startswith("qwen-coder:"), rt
    assert len(kind_fakes["anthropic"].requests) - before == 1
    rec = h.record(r.header("X-Request-Id"))
    assert rec["model_used"] == "claude-sonnet" and rec["attempts"] == 3, rec  # 1 retry


# ---- bullet 2: model auto with a long document -> summarize ------------------------------

def test_auto_with_a_long_document_goes_to_llama3(make, kind_fakes):
    h = make()
    cloud = Cloud(kind_fakes)
    r = chat(h, "auto", LONG_DOC)
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "llama3", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "summarize" and rt["via"] == "rule:2", rt
    assert rt["strategy"] == "cascade" and rt["model"] == "llama3", rt
    assert cloud.new == 0
    rec = h.record(r.header("X-Request-Id"))
    assert rec["task"] == "summarize" and rec["model_used"] == "llama3", rec
    # a short document is no summarize task
    r = chat(h, "auto", SHORT_DOC)
    assert r.status == 200, r
    assert route(r)["task"] != "summarize", route(r)


@pytest.mark.parametrize("down", ["error-503", "dead port"])
def test_a_long_document_goes_to_gpt_4o_mini_when_llama3_is_down(make, kind_fakes, down):
    if down == "dead port":
        h = make(dead=("ollama",))
    else:
        h = make({"llama3": down})
    before = len(calls(kind_fakes["openai"], "echo"))
    cloud = Cloud(kind_fakes)
    r = chat(h, "auto", LONG_DOC)
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "gpt-4o-mini", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "summarize" and rt["via"] == "rule:2", rt
    assert rt["failed"].startswith("llama3:"), rt
    assert len(calls(kind_fakes["openai"], "echo")) - before == 1
    assert cloud.new == 1  # the counter used below sees a cloud call when there is one
    rec = h.record(r.header("X-Request-Id"))
    assert rec["model_used"] == "gpt-4o-mini" and rec["status"] == 200, rec


# ---- bullet 3: a sensitive request naming no task -> hr-private (rule 0) -----------------

SENSITIVE_REQUESTS = [
    ("auto", "hello there"),
    ("auto", CODE),              # rule 0 comes before rule 1
    ("auto", LONG_DOC),          # and before rule 2
    ("gpt-4o-mini", "hello there"),   # a cloud model by name
    ("claude-sonnet", "hello there"),
]


def test_sensitive_requests_go_to_hr_private_and_llama3(make, kind_fakes):
    h = make()
    cloud = Cloud(kind_fakes)
    for model, text in SENSITIVE_REQUESTS:
        r = chat(h, model, text, headers=SENSITIVE)
        assert r.status == 200, (model, r, r.header("X-Hearth-Route"))
        rt = route(r)
        assert rt["task"] == "hr-private" and rt["via"] == "rule:0", (model, rt)
        assert r.header("X-Hearth-Model") == "llama3", (model, rt)
        rec = h.record(r.header("X-Request-Id"))
        assert rec["task"] == "hr-private" and rec["model_used"] == "llama3", rec
    # through the Anthropic endpoint too
    r = http_request(h.port, "POST", "/v1/messages",
                     {"model": "claude-sonnet", "max_tokens": 50,
                      "messages": [{"role": "user", "content": "hello there"}]},
                     headers=dict(SENSITIVE, **{"anthropic-version": "2023-06-01"}))
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "llama3" and route(r)["task"] == "hr-private", r
    assert cloud.new == 0


def test_sensitive_requests_go_to_qwen_small_when_llama3_is_down(make, kind_fakes):
    h = make({"llama3": "error-503"})
    cloud = Cloud(kind_fakes)
    for model, text in SENSITIVE_REQUESTS[:2]:
        r = chat(h, model, text, headers=SENSITIVE)
        assert r.status == 200, (model, r)
        assert r.header("X-Hearth-Model") == "qwen-small", (model, r.header("X-Hearth-Route"))
        rt = route(r)
        assert rt["task"] == "hr-private" and rt["failed"].startswith("llama3:"), rt
        last = kind_fakes["openai"].requests[-1]
        assert "authorization" not in last["headers"], last["headers"]  # llamacpp: no key
    assert cloud.new == 0


@pytest.mark.parametrize("down", ["error-503", "dead ports"])
def test_sensitive_requests_get_a_503_when_both_local_models_are_down(make, kind_fakes, down):
    """Bullet 3 "if both are down, a 503 - never a cloud model", and the constraints table:
    "when every local candidate fails the client gets a 503 saying so". One hearth per
    request, so that each one meets closed breakers and really asks both local models."""
    cloud = Cloud(kind_fakes)
    seen = []
    for model, text in SENSITIVE_REQUESTS:
        if down == "dead ports":
            h = make(dead=("ollama", "llamacpp"))
        else:
            h = make({"llama3": down, "qwen-small": down})
        r = chat(h, model, text, headers=SENSITIVE)
        rt = route(r)
        assert rt["task"] == "hr-private" and rt["via"] == "rule:0", (model, rt)
        assert "llama3:" in rt["failed"] and "qwen-small:" in rt["failed"], (model, rt)
        seen.append((model, r.status, r.json()["error"]["message"]))
        h.stop()
    assert cloud.new == 0  # never a cloud model: this holds
    assert all(status == 503 for _, status, _ in seen), seen
    assert all("local" in msg for _, _, msg in seen), seen  # "a 503 saying so"


def test_hr_private_with_both_breakers_open_is_a_503_that_still_explains(make, kind_fakes):
    """Once both local models have failed enough to open their breakers: still a 503 and
    never the cloud, and, like every answer ("Explanation"), it carries X-Hearth-Route."""
    h = make({"llama3": "error-503", "qwen-small": "error-503"})
    cloud = Cloud(kind_fakes)
    for _ in range(3):  # llama3 and qwen-small fail twice each per request (1 retry): open
        chat(h, "auto", headers=SENSITIVE)
    r = chat(h, "auto", headers=SENSITIVE)
    assert r.status == 503, r
    assert "breaker open" in r.json()["error"]["message"], r
    assert cloud.new == 0
    rt = route(r)
    assert rt["task"] == "hr-private" and "llama3:breaker open" in rt["skipped"], rt


SENSITIVE_NAMING_A_TASK = [("task:support-reply", SENSITIVE),
                           ("auto", dict(SENSITIVE, **{"X-Hearth-Task": "support-reply"}))]


def test_a_sensitive_request_naming_a_cloud_task_never_reaches_the_cloud(make, kind_fakes):
    """Bullet 3's second half: a sensitive request that names a task keeps that task ("Which
    task": the name comes before the rules), so one with only cloud candidates is a 503
    saying why — and no cloud model is asked."""
    h = make()
    cloud = Cloud(kind_fakes)
    for model, headers in SENSITIVE_NAMING_A_TASK:
        r = chat(h, model, headers=headers)
        assert r.status == 503, (model, r)
        assert "sensitive" in r.json()["error"]["message"], (model, r)
    assert cloud.new == 0


# ---- bullet 4: task:support-reply -> claude-sonnet, gpt-4o-mini on a 529 or a timeout ----

def test_support_reply_goes_to_claude_sonnet(make, kind_fakes):
    h = make()
    before = len(kind_fakes["anthropic"].requests)
    r = chat(h, "task:support-reply")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "claude-sonnet", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "support-reply" and rt["via"] == "task", rt
    assert rt["strategy"] == "ordered" and rt["model"] == "claude-sonnet", rt
    assert len(kind_fakes["anthropic"].requests) - before == 1
    assert kind_fakes["anthropic"].requests[-1]["headers"].get("x-api-key") == ANTHROPIC_KEY


def short_support_timeout(cfg):
    # The doc's 60 s per attempt, shortened so that the fake's slow-headers (3 s) outlasts
    # it; the behaviour is the same, only the wait is shorter.
    cfg["tasks"]["support-reply"]["timeout_ms"] = 1000


@pytest.mark.parametrize("failure", ["error-529", "slow-headers"])
def test_support_reply_goes_to_gpt_4o_mini_on_a_529_or_a_timeout(make, kind_fakes, failure):
    h = make({"claude-sonnet": failure},
             adjust=short_support_timeout if failure == "slow-headers" else None)
    before = len(calls(kind_fakes["openai"], "echo"))
    r = chat(h, "task:support-reply")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "gpt-4o-mini", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "support-reply" and rt["failed"].startswith("claude-sonnet:"), rt
    assert len(calls(kind_fakes["openai"], "echo")) - before == 1
    rec = h.record(r.header("X-Request-Id"))
    assert rec["model_used"] == "gpt-4o-mini" and rec["status"] == 200, rec


# ---- bullet 5: cascade checks on summarize ------------------------------------------------

@pytest.mark.parametrize("behaviour,why", [
    ("max-tokens", "truncated"),
    ("empty", "empty"),
])
def test_a_summarize_answer_failing_a_check_is_asked_again_of_gpt_4o_mini(make, kind_fakes,
                                                                          behaviour, why):
    h = make({"llama3": behaviour})
    before = len(calls(kind_fakes["ollama"], behaviour))
    r = chat(h, "auto", LONG_DOC, max_tokens=16)
    assert r.status == 200, r
    assert len(calls(kind_fakes["ollama"], behaviour)) - before == 1  # llama3 asked first
    assert r.header("X-Hearth-Model") == "gpt-4o-mini", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "summarize" and "llama3:" + why in rt["failed"], rt
    body = r.json()
    assert body["choices"][0]["finish_reason"] == "stop", body
    assert body["choices"][0]["message"]["content"].startswith("echo: Please summarize"), body
    rec = h.record(r.header("X-Request-Id"))
    assert rec["attempts"] == 2 and rec["model_used"] == "gpt-4o-mini", rec


def test_a_refusal_in_plain_words_from_llama3_on_ollama_is_not_caught(make):
    """The Cascade section: "Ollama has no refusal signal, so a local Ollama model's refusal
    in plain words is not caught"."""
    h = make({"llama3": "refusal"})
    r = chat(h, "auto", LONG_DOC, max_tokens=16)
    assert r.status == 200 and r.header("X-Hearth-Model") == "llama3", r
    assert "failed" not in route(r), route(r)


def test_a_streamed_summarize_answer_is_not_checked(make):
    h = make({"llama3": "max-tokens"})
    r = chat(h, "auto", LONG_DOC, stream=True, max_tokens=16)
    assert r.status == 200 and r.header("X-Hearth-Model") == "llama3", r
    sse = SSE(r.text)
    assert sse.done and sse.finish_reasons() == ["length"], r.text


# ---- bullet 6: llama3 at its limit -> summarize bursts to the cloud, hr-private does not ---

def llama3_busy_config(cfg):
    # The doc's llama3 takes 4 calls and queues 8; one call and no queue fills it the same
    # way with one held request instead of twelve (the behaviour past the limit is the same;
    # the doc's numbers are what an operator would use).
    cfg["models"]["llama3"]["max_concurrency"] = 1
    cfg["models"]["llama3"]["max_queue"] = 0
    cfg["server"]["client_timeout_ms"] = 20000  # the held stream is quiet for STALL_S


class Busy:
    """A streamed summarize request whose stream stalls: it holds llama3's slot until the
    fake resumes (STALL_S)."""

    def __init__(self, h, fake):
        self.h, self.fake = h, fake
        self.resp = None
        before = len(calls(fake, "stall-stream"))
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        deadline = time.monotonic() + 10
        while len(calls(fake, "stall-stream")) == before:
            assert time.monotonic() < deadline, "the fake never saw the busy request"
            time.sleep(0.02)

    def _run(self):
        self.resp = chat(self.h, "auto", LONG_DOC, stream=True)

    def join(self):
        self.t.join(30)
        assert self.resp is not None and self.resp.status == 200, self.resp
        assert self.resp.header("X-Hearth-Model") == "llama3", self.resp
        assert SSE(self.resp.text).done, self.resp.text


def test_a_busy_llama3_bursts_summarize_to_the_cloud_but_not_hr_private(make, kind_fakes):
    h = make({"llama3": "stall-stream"}, adjust=llama3_busy_config)
    busy = Busy(h, kind_fakes["ollama"])
    held = len(calls(kind_fakes["ollama"], "stall-stream"))
    r = chat(h, "auto", LONG_DOC)
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "gpt-4o-mini", (r, r.header("X-Hearth-Route"))
    rt = route(r)
    assert rt["task"] == "summarize" and "llama3:busy" in rt["skipped"], rt
    cloud = Cloud(kind_fakes)
    for model, text in SENSITIVE_REQUESTS:
        r = chat(h, model, text, headers=SENSITIVE)
        assert r.status == 200, (model, r)
        assert r.header("X-Hearth-Model") == "qwen-small", (model, r.header("X-Hearth-Route"))
        rt = route(r)
        assert rt["task"] == "hr-private" and "llama3:busy" in rt["skipped"], rt
    assert cloud.new == 0
    assert len(calls(kind_fakes["ollama"], "stall-stream")) == held  # llama3 never asked
    busy.join()
