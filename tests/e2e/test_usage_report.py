# test_usage_report.py - GET /api/v1/usage and /api/v1/usage/savings, and `hearth usage`,
# against traffic of a known shape through fake providers: exact totals and groupings,
# percentiles recomputed from the usage table, the savings arithmetic, and bad parameters.
import json
import math

import pytest

from helpers import chat_body, http_request
from test_routing import CLOUD, LOCAL, routing_config


def report_config(kind_fakes):
    base = routing_config(kind_fakes, {})

    def mutate(cfg):
        base(cfg)
        cfg["models"]["small"] = {"provider": LOCAL, "upstream": "echo"}
        cfg["models"]["big"] = {"provider": CLOUD, "upstream": "echo",
                                "input_price_per_mtok": 3, "output_price_per_mtok": 15}
        cfg["tasks"] = {"support": {"candidates": ["small", "big"]},
                        "code": {"candidates": ["big"]}}
        cfg["router"] = {"reference_model": "big"}
    return mutate


ADMIN = "hk_usageReportAdmin0123456789abcdefghijkl"


@pytest.fixture
def h(hearth_factory, kind_fakes):
    h = hearth_factory(mutate=report_config(kind_fakes), env={"HEARTH_ADMIN_KEY": ADMIN})
    # known shape: 6 support (local), 3 code (cloud), 2 errors (cloud-error-500), 1 plain
    for i in range(6):
        assert chat(h, "task:support", "local question %d" % i).status == 200
    for i in range(3):
        assert chat(h, "task:code", "cloud question number %d here" % i).status == 200
    for _ in range(2):
        assert chat(h, "cloud-error-400", "bad").status >= 400
    assert chat(h, "big", "plain").status == 200
    return h


def chat(h, model, text, key=None):
    return http_request(h.port, "POST", "/v1/chat/completions", chat_body(model, text),
                        headers={"Authorization": "Bearer " + key} if key else None)


def get(h, path, key=ADMIN):
    return http_request(h.port, "GET", path,
                        headers={"Authorization": "Bearer " + key} if key else None)


def nearest_rank(values, p):
    v = sorted(values)
    return v[max(1, math.ceil(p * len(v))) - 1]


def test_totals_and_groups_match_the_usage_table(h):
    rows = h.rows("SELECT * FROM usage_records")
    assert len(rows) == 12
    r = get(h, "/api/v1/usage?since=1d&group_by=task,locality")
    assert r.status == 200, r
    body = r.json()
    assert body["object"] == "usage.report" and body["group_by"] == ["locality", "task"]
    t = body["totals"]
    assert t["requests"] == 12 and t["errors"] == 2
    assert t["error_rate"] == pytest.approx(2 / 12)
    assert t["prompt_tokens"] == sum(x["prompt_tokens"] for x in rows)
    assert t["cost_usd"] == pytest.approx(sum(x["cost_usd"] for x in rows))
    assert t["latency_ms"]["p50"] == nearest_rank([x["latency_ms"] for x in rows], 0.5)
    assert t["latency_ms"]["p99"] == nearest_rank([x["latency_ms"] for x in rows], 0.99)
    groups = {(d["task"], d["locality"]): d for d in body["data"]}
    assert groups[("support", "local")]["requests"] == 6
    assert groups[("support", "local")]["local_share"] == 1
    assert groups[("support", "local")]["cost_usd"] == 0
    assert groups[("code", "cloud")]["requests"] == 3
    assert groups[("-", "-")]["errors"] == 2  # the refused requests: no task, no model
    sup = [x for x in rows if x["task"] == "support"]
    assert groups[("support", "local")]["ttfb_ms"]["p90"] == nearest_rank(
        [x["ttfb_ms"] for x in sup], 0.9)


def test_savings_per_task(h):
    rows = h.rows("SELECT * FROM usage_records")
    # every record of an answered chat carries what big (the priciest) would have cost
    for x in rows:
        if x["status"] == 200:
            want = x["prompt_tokens"] * 3 / 1e6 + x["completion_tokens"] * 15 / 1e6
            assert x["reference_model"] == "big" and x["reference_cost_usd"] == pytest.approx(want)
    r = get(h, "/api/v1/usage/savings?since=1d")
    assert r.status == 200, r
    body = r.json()
    tasks = {t["task"]: t for t in body["tasks"]}
    sup = tasks["support"]
    ref = sum(x["reference_cost_usd"] for x in rows if x["task"] == "support")
    assert sup["cost_usd"] == 0 and sup["reference_cost_usd"] == pytest.approx(ref)
    assert sup["saved_usd"] == pytest.approx(ref) and sup["local_share"] == 1
    assert sup["quality"] is None  # no shadow evaluation ran
    assert tasks["code"]["saved_usd"] == pytest.approx(0)
    total_saved = sum(x["reference_cost_usd"] - x["cost_usd"] for x in rows)
    assert body["totals"]["saved_usd"] == pytest.approx(total_saved)


def test_time_series_by_day(h):
    r = get(h, "/api/v1/usage?since=2d&interval=day&group_by=model")
    body = r.json()
    assert all(d["period"].endswith("T00:00:00Z") for d in body["data"]), body
    assert sum(d["requests"] for d in body["data"]) == 12
    r = get(h, "/api/v1/usage?since=2026-01-01&until=2026-01-02")
    assert r.json()["totals"]["requests"] == 0


@pytest.mark.parametrize("query,param", [
    ("group_by=colour", "group_by"), ("interval=week", "interval"), ("since=yesterday", "since"),
    ("since=2d&until=3d", "until"), ("limit=5", "limit")])
def test_bad_parameters_name_the_field(h, query, param):
    r = get(h, "/api/v1/usage?" + query)
    assert r.status == 400, r
    assert r.json()["error"]["param"] == param, r.json()


def test_cli_table_csv_json_and_savings(h):
    api = get(h, "/api/v1/usage?since=1d&group_by=task").json()
    cli = h.cli("usage", "--by", "task", "--since", "1d", "--json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["data"] == api["data"]
    table = h.cli("usage", "--by", "task,locality", "--since", "1d").stdout
    # columns in the order of the dimensions: locality, task
    line = [ln for ln in table.splitlines() if ln.split()[:2] == ["local", "support"]]
    assert len(line) == 1 and line[0].split()[2] == "6", table
    assert table.splitlines()[-1].startswith("TOTAL"), table
    csv = h.cli("usage", "--by", "task", "--since", "1d", "--csv").stdout.splitlines()
    assert csv[0].startswith("task,requests,errors,"), csv
    rows = {ln.split(",")[0]: ln.split(",") for ln in csv[1:]}
    assert rows["support"][1] == "6" and rows["code"][1] == "3", csv
    sav = h.cli("usage", "--savings", "--since", "1d")
    assert sav.returncode == 0, sav.stderr
    sup = [ln for ln in sav.stdout.splitlines() if ln.startswith("support ")]
    assert len(sup) == 1 and "100%" in sup[0], sav.stdout
    saved = get(h, "/api/v1/usage/savings?since=1d").json()["totals"]["saved_usd"]
    assert "%.6f" % saved in sav.stdout.splitlines()[-1], sav.stdout
    bad = h.cli("usage", "--savings", "--by", "model")
    assert bad.returncode == 2 and "--savings is per task" in bad.stderr


def new_key(h, name, role):
    u = http_request(h.port, "POST", "/api/v1/users", {"name": name, "role": role},
                     headers={"Authorization": "Bearer " + ADMIN})
    assert u.status == 201, u
    k = http_request(h.port, "POST", "/api/v1/keys", {"user_id": u.json()["id"]},
                     headers={"Authorization": "Bearer " + ADMIN})
    assert k.status == 201, k
    return k.json()["key"], u.json()["id"]


def test_scoped_by_role(h):
    member, member_id = new_key(h, "mona", "member")
    auditor, _ = new_key(h, "audrey", "auditor")
    for i in range(2):
        assert chat(h, "task:support", "mine %d" % i, key=member).status == 200
    # a member sees its own requests only; an auditor and the admin see all of them
    mine = get(h, "/api/v1/usage?since=1d&group_by=user", key=member).json()
    assert mine["totals"]["requests"] == 2, mine
    assert [d["user"] for d in mine["data"]] == [member_id]
    assert get(h, "/api/v1/usage?since=1d", key=auditor).json()["totals"]["requests"] == 14
    assert get(h, "/api/v1/usage/savings?since=1d", key=member).json()["totals"]["requests"] == 2
    # without a key the usage API is closed, even on loopback
    assert get(h, "/api/v1/usage", key=None).status == 401


def test_feedback_only_on_your_own_requests(h):
    a, _ = new_key(h, "ann", "member")
    b, _ = new_key(h, "bob", "member")
    rid = chat(h, "task:support", "ann asks", key=a).header("X-Request-Id")

    def fb(key):
        return http_request(h.port, "POST", "/v1/feedback", {"request_id": rid, "score": 1},
                            headers={"Authorization": "Bearer " + key})
    assert fb(b).status == 404  # another user's request: as if there were none
    assert fb(a).status == 200
    assert fb(ADMIN).status == 200
