# test_limits.py - budgets and rate limits (budgets:, rate_limits:): a budget admits no more
# worst cases than it covers however many requests race for it, a rate limit exactly its
# count across worker threads; the 429s say which limit and when it resets; a budget near
# its end downgrades to the cheaper candidate; team and task budgets; the spent amount
# survives a restart (seeded from the usage table); thresholds are audit events.
import json
import os
import re
import threading
import time

from helpers import wait_until, chat_body, http_request

ADMIN_KEY = "hk_e2eAdminKey0123456789abcdefghijklmnop"
# 10 words of 4 bytes (39 bytes): the prompt estimate (bytes / 4, rounded up) is 10 tokens,
# and the fake counts 10 words; echo answers "echo: " + 10 words = 11 words. With
# max_tokens 11 the answer costs exactly its worst case: 10 * $1 + 11 * $2 per million.
PROMPT = " ".join(["abc"] * 10)
MAX_TOKENS = 11
WORST = (10 * 1.0 + MAX_TOKENS * 2.0) / 1e6
RUNS = int(os.environ.get("HEARTH_LIMITS_RUNS", "5"))  # 20 for the full figure
RFC3339 = re.compile(r"resets (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")


def body(model, **extra):
    return chat_body(model, PROMPT, max_tokens=MAX_TOKENS, **extra)


def post(h, model, key=None, **extra):
    headers = {"Authorization": "Bearer " + key} if key else None
    return http_request(h.port, "POST", "/v1/chat/completions", body(model, **extra),
                        headers=headers)


def race(h, model, n, key=None):
    """n requests at once (threads released together); their responses."""
    out = [None] * n
    gate = threading.Barrier(n)

    def one(i):
        gate.wait()
        out[i] = post(h, model, key)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def error_of(r):
    return r.json()["error"]


def test_budget_is_exact_under_concurrency(hearth_factory):
    # one task per run, each with a budget of exactly 100 worst cases; the fake holds every
    # answer HOLD_S so that the 200 requests are in flight together
    def mutate(cfg):
        cfg["models"]["hold-max"] = {"provider": "fake", "upstream": "hold-max",
                                     "input_price_per_mtok": 1.0,
                                     "output_price_per_mtok": 2.0}
        cfg["providers"]["fake"]["first_byte_timeout_ms"] = 10000
        cfg["tasks"] = {"run%d" % i: {"candidates": ["hold-max"]} for i in range(RUNS)}
        cfg["budgets"] = [{"scope": "task", "id": "run%d" % i, "period": "day",
                           "limit_usd": 100 * WORST} for i in range(RUNS)]
    h = hearth_factory(mutate)
    for i in range(RUNS):
        task = "run%d" % i
        rs = race(h, "task:" + task, 200)
        ok = [r for r in rs if r.status == 200]
        refused = [r for r in rs if r.status != 200]
        # each answer costs its worst case, so no timing lets a 101st in
        assert len(ok) == 100, (task, len(ok), refused[:1])
        for r in refused:
            assert r.status == 429, r
            e = error_of(r)
            assert e["code"] == "budget_exceeded", e
            assert "budget 'task %s daily' is spent" % task in e["message"], e
        spent = h.rows("SELECT COALESCE(SUM(cost_usd), 0) AS s FROM usage_records "
                       "WHERE task = ?", (task,))[0]["s"]
        assert spent <= 100 * WORST + 1e-12, (task, spent)
        assert abs(spent - 100 * WORST) < 1e-9, (task, spent)


def test_budget_refusal_says_which_and_when(hearth_factory):
    def mutate(cfg):
        cfg["tasks"] = {"t1": {"candidates": ["echo"]}}
        cfg["budgets"] = [{"scope": "task", "id": "t1", "period": "day",
                           "limit_usd": 1.5 * WORST}]
    h = hearth_factory(mutate)
    r = post(h, "task:t1")
    assert r.status == 200, r
    r = post(h, "task:t1")
    assert r.status == 429, r
    e = error_of(r)
    assert e["type"] == "insufficient_quota" and e["code"] == "budget_exceeded", e
    # spent, not reserved: the one answer; amounts under $1 are shown to the micro-dollar
    assert "budget 'task t1 daily' is spent: $0.000032 of $0.000048" in e["message"], e
    reset = RFC3339.search(e["message"]).group(1)
    assert reset.endswith("T00:00:00Z"), e  # the next UTC midnight
    secs = int(r.header("Retry-After"))
    assert 0 < secs <= 86400, r.header("Retry-After")
    # other requests are not counted against the task's budget
    assert post(h, "echo").status == 200


def test_downgrade_near_the_end_is_in_the_route(hearth_factory):
    def mutate(cfg):
        cfg["models"]["dear"] = {"provider": "fake", "upstream": "echo-upstream",
                                 "input_price_per_mtok": 1000.0,
                                 "output_price_per_mtok": 2000.0}
        cfg["tasks"] = {"t": {"candidates": ["dear", "echo"]}}
        # one dear answer costs 1000 worst cases: past half of 1500 of them
        cfg["budgets"] = [{"scope": "task", "id": "t", "limit_usd": 1500 * WORST,
                           "downgrade_at": 0.5}]
    h = hearth_factory(mutate)
    r = post(h, "task:t")
    assert r.status == 200 and r.header("X-Hearth-Model") == "dear", r
    r = post(h, "task:t")
    assert r.status == 200, r
    assert r.header("X-Hearth-Model") == "echo", r
    assert "dear:budget" in r.header("X-Hearth-Route"), r.header("X-Hearth-Route")


def identities(h):
    """A team, a user in it and the user's key, made through the admin API."""
    auth = {"Authorization": "Bearer " + ADMIN_KEY}
    team = http_request(h.port, "POST", "/api/v1/teams", {"name": "a"}, headers=auth).json()
    user = http_request(h.port, "POST", "/api/v1/users",
                        {"name": "u", "role": "member", "email": "u@example.com",
                         "team_id": team["id"]}, headers=auth).json()
    key = http_request(h.port, "POST", "/api/v1/keys", {"user_id": user["id"], "name": "k"},
                       headers=auth).json()
    return team["id"], user["id"], key


def test_team_budget_survives_a_restart_and_alerts(hearth_factory):
    h = hearth_factory(env={"HEARTH_ADMIN_KEY": ADMIN_KEY})
    team, _, key = identities(h)
    h.stop()
    h.config["budgets"] = [{"scope": "team", "id": team, "limit_usd": 2.5 * WORST}]
    h.write_config()
    h.start()
    assert post(h, "echo", key["key"]).status == 200
    assert post(h, "echo", key["key"]).status == 200
    r = post(h, "echo", key["key"])
    assert r.status == 429, r
    assert "budget 'team %s monthly' is spent" % team in error_of(r)["message"], r
    # the admin key is in no team: not counted
    assert post(h, "echo", ADMIN_KEY).status == 200
    # 2 of 2.5 crossed 80%: one alert, an audit event written by the alert thread
    def threshold_events():
        return h.rows("SELECT actor, object, detail FROM audit_events WHERE action = "
                      "'alert.budget_threshold'")
    ev = wait_until(threshold_events, 5)
    assert ev == [{"actor": "hearth", "object": "team %s monthly" % team,
                   "detail": ev[0]["detail"]}], ev
    assert json.loads(ev[0]["detail"])["threshold_pct"] == 80, ev
    h.stop()
    h.start()  # spent is read back from the usage table
    r = post(h, "echo", key["key"])
    assert r.status == 429, r
    assert "budget 'team %s monthly' is spent" % team in error_of(r)["message"], r
    # and the threshold already announced is not announced again
    assert len(threshold_events()) == 1


def test_rate_limit_is_exact_across_threads(hearth_factory):
    h = hearth_factory(env={"HEARTH_ADMIN_KEY": ADMIN_KEY})
    _, _, key = identities(h)
    h.stop()
    h.config["server"]["workers"] = 4
    h.config["rate_limits"] = [{"scope": "key", "id": key["id"], "requests_per_minute": 10}]
    h.write_config()
    h.start()
    # the window is the UTC minute: keep the race clear of its end
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)
    rs = race(h, "echo", 40, key["key"])
    ok = [r for r in rs if r.status == 200]
    refused = [r for r in rs if r.status != 200]
    assert len(ok) == 10, [r.status for r in rs]
    for r in refused:
        assert r.status == 429, r
        e = error_of(r)
        assert e["code"] == "rate_limit_reached", e
        assert "rate limit 'key %s requests per minute' is reached: 10 of 10" % key["id"] \
            in e["message"], e
        assert r.header("X-RateLimit-Limit") == "10"
        assert r.header("X-RateLimit-Remaining") == "0"
        assert 0 < int(r.header("Retry-After")) <= 60
    assert sorted(int(r.header("X-RateLimit-Remaining")) for r in ok) == list(range(10))
    # another caller is not limited
    assert post(h, "echo", ADMIN_KEY).status == 200


def test_stream_settles_at_its_end(hearth_factory):
    def mutate(cfg):
        cfg["tasks"] = {"s": {"candidates": ["echo"]}}
        cfg["budgets"] = [{"scope": "task", "id": "s", "period": "day",
                           "limit_usd": 2.5 * WORST}]
    h = hearth_factory(mutate)
    for _ in range(2):  # streamed answers count what they cost, as whole ones do
        r = post(h, "task:s", stream=True)
        assert r.status == 200 and "[DONE]" in r.text, r
    r = post(h, "task:s", stream=True)
    assert r.status == 429 and error_of(r)["code"] == "budget_exceeded", r
    assert "is spent: $0.000064 of $0.000080" in error_of(r)["message"], r


def test_embeddings_count_against_budgets(hearth_factory):
    def mutate(cfg):
        cfg["models"]["embed"] = {"provider": "fake", "upstream": "echo-upstream",
                                  "embeddings": True, "input_price_per_mtok": 1.0}
        cfg["budgets"] = [{"scope": "global", "period": "day", "limit_usd": 15 / 1e6}]
    h = hearth_factory(mutate)
    r = http_request(h.port, "POST", "/v1/embeddings", {"model": "embed", "input": PROMPT})
    assert r.status == 200, r
    r = http_request(h.port, "POST", "/v1/embeddings", {"model": "embed", "input": PROMPT})
    assert r.status == 429, r
    e = error_of(r)
    assert e["code"] == "budget_exceeded" and "budget 'global daily' is spent" in e["message"], e
    assert int(r.header("Retry-After")) > 0
