# test_learning.py - learning online, end to end with fake providers and a fake judge:
# POST /v1/feedback, shadow evaluation (the other model of the task's pair answers too, off the
# client's path, and the judge scores both), the outcome rows it leaves in storage,
# auto_promote with its audit events, and `hearth router train --from-usage` whose model
# changes the learned router's decisions.
import json
import time

import pytest

from fakes.base import JUDGE_HIGH, JUDGE_LOW
from helpers import SSE, chat_body, http_request, wait_until
from test_routing import CLOUD, LOCAL, routing_config

HIGH, LOW = (JUDGE_HIGH - 1) / 9, (JUDGE_LOW - 1) / 9


def learning_config(kind_fakes, task):
    base = routing_config(kind_fakes, {})

    def mutate(cfg):
        base(cfg)
        cfg["models"]["small"] = {"provider": LOCAL, "upstream": "weak"}
        cfg["models"]["big"] = {"provider": CLOUD, "upstream": "echo",
                                "input_price_per_mtok": 3, "output_price_per_mtok": 15}
        cfg["models"]["judge"] = {"provider": CLOUD, "upstream": "judge",
                                  "input_price_per_mtok": 1, "output_price_per_mtok": 1}
        cfg["tasks"] = {"support": dict({"candidates": ["big", "small"], "judge": "judge",
                                         "shadow_sample": 1}, **task)}
    return mutate


@pytest.fixture
def make(hearth_factory, kind_fakes):
    def make_(task=None, **kw):
        return hearth_factory(mutate=learning_config(kind_fakes, task or {}), **kw)
    return make_


def chat(h, text, stream=False, path="/v1/chat/completions", body=None):
    return http_request(h.port, "POST", path, body or chat_body("task:support", text,
                                                                 stream=stream))


def scores(h, rid):
    return {(r["model"], r["source"]): r["score"] for r in
            h.rows("SELECT model, source, score FROM learn_scores WHERE request_id = ?", (rid,))}


def judged(h, rid, timeout=10):
    wait_until(lambda: len(scores(h, rid)) == 2, timeout)
    return scores(h, rid)


def test_shadow_evaluation_asks_the_other_model_and_the_judge(make, kind_fakes):
    h = make()
    r = chat(h, "what is an easy question")
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"] == "echo: what is an easy question"
    rid = r.header("X-Request-Id")
    # the reference (big) answered; the challenger (small) was asked too, and the judge
    assert judged(h, rid) == {("big", "judge"): pytest.approx(HIGH),
                              ("small", "judge"): pytest.approx(HIGH)}
    asked = [q["body"] for q in kind_fakes["ollama"].requests
             if (q.get("body") or {}).get("model") == "weak"]
    assert any(m.get("content") == "what is an easy question"
               for b in asked for m in b.get("messages", [])), asked
    judge = [q for q in kind_fakes["openai"].requests
             if (q.get("body") or {}).get("model") == "judge"]
    text = judge[-1]["body"]["messages"][-1]["content"]
    assert "[Request]\nwhat is an easy question" in text, text
    assert "echo: what is an easy question" in text and "weak: what is an easy question" in text
    # the prompt is kept, and hearth's own calls are recorded as such, under the task
    smp = h.rows("SELECT task, model, prompt FROM learn_samples WHERE request_id = ?", (rid,))
    assert smp == [{"task": "support", "model": "big", "prompt": "what is an easy question"}]
    own = h.rows("SELECT origin, model_used, task, cost_usd FROM usage_records"
                 " WHERE parent_id = ? ORDER BY origin DESC", (rid,))
    assert [(o["origin"], o["model_used"], o["task"]) for o in own] == [
        ("shadow", "small", "support"), ("judge", "judge", "support")], own
    assert own[1]["cost_usd"] > 0
    client = h.record(rid)
    assert client["origin"] is None and client["parent_id"] is None


def test_a_hard_prompt_is_scored_low_for_the_weak_answer_streamed_and_anthropic(make):
    h = make()
    r = chat(h, "a hard one", stream=True)
    assert r.status == 200 and SSE(r.text).done, r
    assert judged(h, r.header("X-Request-Id")) == {("big", "judge"): pytest.approx(HIGH),
                                                   ("small", "judge"): pytest.approx(LOW)}
    body = {"model": "task:support", "max_tokens": 50,
            "messages": [{"role": "user", "content": "another hard one"}]}
    r = chat(h, None, path="/v1/messages", body=body)
    assert r.status == 200, r
    assert judged(h, r.header("X-Request-Id")) == {("big", "judge"): pytest.approx(HIGH),
                                                   ("small", "judge"): pytest.approx(LOW)}


def test_shadow_calls_stop_at_the_daily_budget(make):
    h = make({"shadow_budget_usd": 0.0000001})
    first = chat(h, "easy one")
    assert first.status == 200
    judged(h, first.header("X-Request-Id"))  # the first evaluation spends the budget
    second = chat(h, "easy two")
    assert second.status == 200
    time.sleep(1)
    assert scores(h, second.header("X-Request-Id")) == {}
    assert "today's shadow_budget_usd is spent" in h.stderr_text()


def test_internal_header_from_a_client_is_refused(make):
    h = make()
    r = http_request(h.port, "POST", "/v1/chat/completions", chat_body("big", "hi"),
                     headers={"X-Hearth-Internal": "0" * 64, "X-Hearth-Origin": "shadow"})
    assert r.status == 401, r
    assert "X-Hearth-Internal" in r.json()["error"]["message"]


def test_feedback_is_stored_and_validated(make):
    h = make({"shadow_sample": 0, "keep_prompts": True})
    r = chat(h, "please help")
    rid = r.header("X-Request-Id")
    fb = http_request(h.port, "POST", "/v1/feedback",
                      {"request_id": rid, "score": 0.25, "comment": "too short"})
    assert fb.status == 200, fb
    assert fb.json() == {"object": "feedback", "request_id": rid, "model": "big",
                         "task": "support", "score": 0.25}
    # a second score replaces the first
    fb = http_request(h.port, "POST", "/v1/feedback", {"request_id": rid, "score": 1})
    assert fb.status == 200, fb
    rows = h.rows("SELECT model, source, score, detail FROM learn_scores WHERE request_id = ?",
                  (rid,))
    assert rows == [{"model": "big", "source": "feedback", "score": 1.0, "detail": None}], rows
    assert h.rows("SELECT prompt FROM learn_samples WHERE request_id = ?", (rid,)) == [
        {"prompt": "please help"}]
    for body, status, param in [
            ({"request_id": "req_nope", "score": 1}, 404, "request_id"),
            ({"request_id": rid, "score": 1.5}, 400, "score"),
            ({"request_id": rid}, 400, "score"),
            ({"score": 1}, 400, "request_id"),
            ({"request_id": rid, "score": 1, "stars": 5}, 400, "stars"),
            ({"request_id": rid, "score": "good"}, 400, "score")]:
        fb = http_request(h.port, "POST", "/v1/feedback", body)
        assert fb.status == status, (body, fb)
        assert fb.json()["error"]["param"] == param, (body, fb.json())
    fb = http_request(h.port, "POST", "/v1/feedback", b"{not json")
    assert fb.status == 400 and fb.json()["error"]["code"] == "invalid_json", fb


def audit_actions(h):
    return [(e["action"], e["object"]) for e in
            h.rows("SELECT action, object FROM audit_events ORDER BY seq")
            if e["action"].startswith("task.")]


def test_auto_promote_moves_the_challenger_first_and_back(make):
    h = make({"auto_promote": True, "promote_min_samples": 6, "promote_margin": 0.05})
    for i in range(6):
        r = chat(h, "easy question %d" % i)
        assert r.status == 200 and r.header("X-Hearth-Model") == "big", r
        judged(h, r.header("X-Request-Id"))
    # six pairs, equal scores: the challenger is no worse, and is promoted
    wait_until(lambda: audit_actions(h) == [("task.promote", "support")], 5)
    r = chat(h, "easy question after")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "small", r
    assert "strategy=ordered:promoted=small" in r.header("X-Hearth-Route")
    judged(h, r.header("X-Request-Id"))  # now the reference is the shadow
    detail = h.rows("SELECT detail FROM task_promotions WHERE task = 'support'")[0]["detail"]
    assert "small vs big over 6 judged pairs" in detail, detail
    # hard prompts: the challenger falls short, and is moved back
    for i in range(20):
        if ("task.demote", "support") in audit_actions(h):
            break
        r = chat(h, "hard question %d" % i)
        assert r.status == 200
        judged(h, r.header("X-Request-Id"))
    assert audit_actions(h) == [("task.promote", "support"), ("task.demote", "support")]
    assert h.rows("SELECT * FROM task_promotions") == []
    r = chat(h, "easy again")
    assert r.header("X-Hearth-Model") == "big", r
    assert h.cli("audit", "verify").returncode == 0


def test_a_promotion_survives_a_restart(make):
    h = make({"auto_promote": True, "promote_min_samples": 2})
    for i in range(2):
        judged(h, chat(h, "easy %d" % i).header("X-Request-Id"))
    wait_until(lambda: audit_actions(h) == [("task.promote", "support")], 5)
    h.stop()
    h.start()
    assert chat(h, "easy later").header("X-Hearth-Model") == "small"


EASY = "easy: what colour is the sky over the meadow, number %d"
HARD = "hard: prove the theorem about prime gaps in full, number %d"


def test_retraining_from_usage_changes_decisions(make):
    h = make({"strategy": "learned", "quality_target": 0.5})
    for i in range(10):
        for text in (EASY % i, HARD % i):
            r = chat(h, text)
            assert r.status == 200, r
            judged(h, r.header("X-Request-Id"))
    # what was gathered: 20 judged pairs, the challenger worse on the hard half
    st = h.cli("router", "status", "--json")
    assert st.returncode == 0, st.stderr
    task = json.loads(st.stdout)["tasks"][0]
    assert task["task"] == "support" and task["challenger"] == "small"
    assert task["reference"] == "big" and task["judged"]["n"] == 20, task
    assert task["judged"]["diff"] == pytest.approx((LOW - HIGH) / 2), task
    assert task["judged"]["diff_hi"] < 0 and task["verdict"] == "too few samples", task
    assert task["shadow_spent_today_usd"] > 0, task
    text = h.cli("router", "status").stdout
    assert "judged pairs 20" in text and "challenger small vs reference big" in text, text
    ex = h.cli("router", "export", "--task", "support", "--out", h.root / "rows.jsonl")
    assert ex.returncode == 0 and "20 rows" in ex.stderr, ex.stderr
    rows = [json.loads(l) for l in (h.root / "rows.jsonl").read_text().splitlines()]
    hard = [r for r in rows if r["prompt"].startswith("hard")]
    assert len(rows) == 20 and len(hard) == 10, rows
    assert hard[0]["outcomes"] == {"big": {"score": pytest.approx(HIGH)},
                                   "small": {"score": pytest.approx(LOW)}}, hard[0]
    # feedback beats the judge in the export
    fb = http_request(h.port, "POST", "/v1/feedback", {"request_id": hard[0]["id"], "score": 0})
    assert fb.status == 200, fb
    ex = h.cli("router", "export", "--task", "support")
    row = [json.loads(l) for l in ex.stdout.splitlines() if hard[0]["id"] in l][0]
    assert row["outcomes"]["big"] == {"score": 0}, row
    # train on it, point the task at the new model, reload: the router tells them apart
    model = h.root / "support-router.json"
    tr = h.cli("router", "train", "--from-usage", "--task", "support", "--out", model,
               "--epochs", "20")
    assert tr.returncode == 0, tr.stderr
    assert "20 rows" in tr.stderr and "2 outputs" in tr.stderr, tr.stderr
    cfg = h.config
    cfg["tasks"]["support"]["router_model"] = str(model)
    cfg["tasks"]["support"]["shadow_sample"] = 0
    h.write_config(cfg)
    assert h.cli("reload").returncode == 0
    wait_until(lambda: "task 'support': router model" in h.stderr_text(), 5)
    easy = chat(h, "easy: what colour is the grass in the meadow")
    hard = chat(h, "hard: prove the theorem about twin primes in full")
    assert easy.header("X-Hearth-Model") == "small", easy.header("X-Hearth-Route")
    assert hard.header("X-Hearth-Model") == "big", hard.header("X-Hearth-Route")
    assert "strategy=learned:per_model:cheap_first" in easy.header("X-Hearth-Route")
    assert "strategy=learned:per_model:strong_first" in hard.header("X-Hearth-Route")


def test_train_from_usage_without_rows_says_what_to_do(make):
    h = make({"shadow_sample": 0})
    tr = h.cli("router", "train", "--from-usage", "--out", h.root / "m.json")
    assert tr.returncode == 1
    assert "no scored rows in storage" in tr.stderr and "shadow_sample" in tr.stderr
    assert h.cli("router", "train", "--from-usage", "--data", "x", "--out", "m").returncode == 2
    st = h.cli("router", "status")
    assert st.returncode == 0 and "judged pairs 0" in st.stdout, st.stdout


def test_a_router_model_that_fits_no_candidate_is_refused(make, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"id": str(i), "prompt": "p %d" % i, "outcomes": {
        "other": {"score": i % 2}}}) + "\n" for i in range(4)))
    model = tmp_path / "m.json"
    from helpers import run_cli
    assert run_cli(["router", "train", "--data", rows, "--out", model]).returncode == 0
    h = make({"strategy": "learned", "router_model": str(model), "shadow_sample": 0})
    assert "predicts none of the task's candidates" in h.stderr_text()
    assert chat(h, "hello").status == 200


def test_cascade_judged_check_escalates_a_low_score(make, kind_fakes):
    h = make({"strategy": "cascade", "candidates": ["small", "big"], "checks": ["judged"],
              "quality_target": 0.5, "shadow_sample": 0})
    easy = chat(h, "easy: name a colour")
    assert easy.status == 200 and easy.header("X-Hearth-Model") == "small", easy
    assert easy.json()["choices"][0]["message"]["content"] == "weak: easy: name a colour"
    hard = chat(h, "hard: prove it")
    assert hard.status == 200 and hard.header("X-Hearth-Model") == "big", hard
    assert hard.json()["choices"][0]["message"]["content"] == "echo: hard: prove it"
    assert "failed=small:judged_low" in hard.header("X-Hearth-Route"), hard.header(
        "X-Hearth-Route")
    rid = hard.header("X-Request-Id")
    judge = h.wait_record(rid) and h.rows(
        "SELECT origin, model_used FROM usage_records WHERE parent_id = ?", (rid,))
    assert judge == [{"origin": "judge", "model_used": "judge"}], judge
    # a judge that cannot score lets the answer through
    cfg = h.config
    cfg["models"]["judge"]["upstream"] = "error-500"
    h.write_config(cfg)
    assert h.cli("reload").returncode == 0
    wait_until(lambda: "configuration reloaded" in h.stderr_text(), 5)
    r = chat(h, "hard: again")
    assert r.status == 200 and r.header("X-Hearth-Model") == "small", r
    assert "the answer stands" in h.stderr_text()


def test_judged_check_needs_a_judge_and_a_target(make):
    from helpers import run_cli
    h = make({"strategy": "cascade", "checks": ["judged"], "shadow_sample": 0,
              "quality_target": 0.5}, start=False)
    del h.config["tasks"]["support"]["judge"]
    h.write_config()
    r = run_cli(["config", "check", "--config", h.config_path])
    assert r.returncode == 1 and "the check judged needs a judge" in r.stderr, r.stderr
    h.config["tasks"]["support"]["judge"] = "judge"
    h.config["tasks"]["support"]["quality_target"] = 0
    h.write_config()
    r = run_cli(["config", "check", "--config", h.config_path])
    assert r.returncode == 1 and "set it, e.g. 'quality_target: 0.6'" in r.stderr, r.stderr
