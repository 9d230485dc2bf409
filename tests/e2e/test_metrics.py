# test_metrics.py - GET /metrics end to end: traffic of a known shape (answers, errors, a
# stream, a fallback, an unknown model), then the scrape parsed by a strict Prometheus text
# format (0.0.4) parser, its counters checked against the usage table; who may scrape; and
# the JSON request log line.
import json
import math
import re

import pytest

from helpers import SSE, chat_body, http_request

SECRET_TEXT = "the-prompt-text-no-log-may-hold-4417"
UNKNOWN = "client-chosen-model-name-93ab"

NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def parse_value(s):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    assert re.match(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", s), "bad value %r" % s
    return float(s)


def parse_labels(s):
    """The inside of {...}: name="value" pairs, escapes \\\\, \\" and \\n only."""
    labels, i = {}, 0
    while i < len(s):
        eq = s.index("=", i)
        name = s[i:eq]
        assert LABEL_RE.match(name), "bad label name %r" % name
        assert s[eq + 1] == '"', "label value not quoted in %r" % s
        j, val = eq + 2, []
        while s[j] != '"':
            if s[j] == "\\":
                nxt = s[j + 1]
                assert nxt in '\\"n', "bad escape \\%s" % nxt
                val.append("\n" if nxt == "n" else nxt)
                j += 2
            else:
                assert s[j] != "\n"
                val.append(s[j])
                j += 1
        assert name not in labels, "label %s twice" % name
        labels[name] = "".join(val)
        i = j + 1
        if i < len(s):
            assert s[i] == ",", "labels not separated by a comma in %r" % s
            i += 1
    return labels


def parse_prometheus(text):
    """Strict text-format parser: returns {family: {"type", "help", "samples": [(name,
    labels, value)]}}. Fails on anything the format does not allow: samples before their
    TYPE, a family's samples split up, a repeated series, bad names, bad values."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    fams, current, seen = {}, None, set()
    for line in text.split("\n")[:-1]:
        assert line, "empty line"
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert NAME_RE.match(name)
            assert name not in fams or "help" not in fams[name], "HELP twice for " + name
            fams.setdefault(name, {"samples": []})["help"] = help_
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), typ
            assert name == current, "TYPE of %s not after its HELP" % name
            assert not fams[name]["samples"], "TYPE of %s after its samples" % name
            fams[name]["type"] = typ
            continue
        assert not line.startswith("#"), "unknown comment %r" % line
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        assert m, "bad sample line %r" % line
        name, labels, value = m.group(1), parse_labels(m.group(3) or ""), parse_value(m.group(4))
        fam = fams.get(current)
        assert fam and "type" in fam, "sample %s before any TYPE" % name
        base = current
        if fam["type"] == "histogram":
            assert name in (base + "_bucket", base + "_sum", base + "_count"), name
        else:
            assert name == base, "sample %s inside family %s" % (name, base)
        key = (name, tuple(sorted(labels.items())))
        assert key not in seen, "series repeated: %r" % (key,)
        seen.add(key)
        fam["samples"].append((name, labels, value))
    return fams


def scrape(h, headers=None):
    r = http_request(h.port, "GET", "/metrics", headers=headers)
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
    return parse_prometheus(r.text)


def samples(fams, name, **match):
    fam = fams[name]
    return [(labels, v) for n, labels, v in fam["samples"]
            if n == name and all(labels.get(k) == w for k, w in match.items())]


def total(fams, name, by, **match):
    out = {}
    for labels, v in samples(fams, name, **match):
        k = tuple(labels[b] for b in by)
        out[k] = out.get(k, 0) + v
    return out


def traffic_config(cfg):
    cfg["tasks"] = {"fb": {"candidates": ["server-error", "echo"], "max_retries": 1}}


def test_metrics_match_the_usage_table(hearth_factory):
    h = hearth_factory(mutate=traffic_config)
    ids = []
    for i in range(3):
        r = h.chat(chat_body("echo", "%s %d" % (SECRET_TEXT, i)))
        assert r.status == 200
        ids.append(r.header("X-Request-Id"))
    r, _ = h.stream(chat_body("echo", SECRET_TEXT, stream=True))
    ids.append(r.header("X-Request-Id"))
    r = h.chat(chat_body("server-error", SECRET_TEXT))
    assert r.status >= 500
    ids.append(r.header("X-Request-Id"))
    r = h.chat(chat_body("task:fb", SECRET_TEXT))
    assert r.status == 200 and r.header("X-Hearth-Model") == "echo"
    ids.append(r.header("X-Request-Id"))
    r = h.chat(chat_body(UNKNOWN, SECRET_TEXT))
    assert r.status == 404
    ids.append(r.header("X-Request-Id"))
    for rid in ids:
        h.wait_record(rid)

    fams = scrape(h)
    rows = h.rows("SELECT * FROM usage_records")
    assert len(rows) == len(ids)

    # requests by model and status: the usage table's counts
    def model_of(row):
        m = row["model_used"] or row["model_asked"]
        return m if m in ("echo", "server-error") else "other"
    want = {}
    for row in rows:
        k = (model_of(row), str(row["status"]))
        want[k] = want.get(k, 0) + 1
    got = total(fams, "hearth_requests_total", ("model", "status"))
    assert got == want
    assert total(fams, "hearth_requests_total", ("task",)) == {
        ("none",): len(ids) - 1, ("fb",): 1}
    assert set(total(fams, "hearth_requests_total", ("origin",))) == {("client",)}
    assert set(total(fams, "hearth_requests_total", ("provider",))) == {("fake",), ("none",)}

    # tokens and cost per model
    for model in ("echo", "server-error"):
        mine = [r for r in rows if model_of(r) == model]
        tok = total(fams, "hearth_tokens_total", ("direction",), model=model)
        assert tok.get(("input",), 0) == sum(r["prompt_tokens"] for r in mine)
        assert tok.get(("output",), 0) == sum(r["completion_tokens"] for r in mine)
        cost = sum(v for _, v in samples(fams, "hearth_cost_usd_total", model=model))
        assert math.isclose(cost, sum(r["cost_usd"] for r in mine), rel_tol=1e-9, abs_tol=1e-12)
    assert sum(r["prompt_tokens"] for r in rows if model_of(r) == "echo") > 0

    # histograms: cumulative buckets, +Inf bucket = _count = requests of the model
    fam = "hearth_request_duration_seconds"
    for model, n in {"echo": 5, "server-error": 1, "other": 1}.items():
        buckets = [(float(l["le"]), v) for name, l, v in fams[fam]["samples"]
                   if name == fam + "_bucket" and l["model"] == model]
        assert buckets and buckets[-1][0] == math.inf
        assert [b for b, _ in buckets] == sorted(b for b, _ in buckets)
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:]))
        count = [v for name, l, v in fams[fam]["samples"]
                 if name == fam + "_count" and l["model"] == model]
        assert count == [buckets[-1][1]] == [n]
    assert fams["hearth_time_to_first_byte_seconds"]["type"] == "histogram"

    # routing: one plan per routed request, the fallback and the retry of the failing model
    assert total(fams, "hearth_route_decisions_total", ("via",)) == {("model",): 5, ("task",): 1}
    assert total(fams, "hearth_fallbacks_total", ("model",)) == {("server-error",): 1}
    assert total(fams, "hearth_retries_total", ("model",)) == {("server-error",): 1}
    states = dict((l["model"], v) for l, v in samples(fams, "hearth_breaker_state"))
    assert states["echo"] == 0 and set(states) == set(h.config["models"])
    assert samples(fams, "hearth_usage_records_failed_total") == [({}, 0)]
    assert fams["process_cpu_seconds_total"]["type"] == "counter"
    assert samples(fams, "process_cpu_seconds_total")[0][1] >= 0  # ticks: may still be 0
    for name in ("process_resident_memory_bytes", "process_open_fds",
                 "process_start_time_seconds"):
        assert samples(fams, name)[0][1] > 0, name

    # the client's own strings never become label values
    r = http_request(h.port, "GET", "/metrics")
    assert UNKNOWN not in r.text and SECRET_TEXT not in r.text


def request_lines(h):
    out = []
    for line in h.stderr_text().splitlines():
        if line.startswith("{") and '"sub":"REQUEST"' in line:
            out.append(json.loads(line))
    return out


def test_one_json_log_line_per_request(hearth_factory):
    h = hearth_factory(mutate=lambda c: c["log"].update({"level": "info"}))
    r1 = h.chat(chat_body("echo", SECRET_TEXT))
    r2, _ = h.stream(chat_body("echo", SECRET_TEXT, stream=True))
    r3 = h.chat(chat_body(UNKNOWN, SECRET_TEXT))
    ids = [r1.header("X-Request-Id"), r2.header("X-Request-Id"), r3.header("X-Request-Id")]
    for rid in ids:
        h.wait_record(rid)
    assert http_request(h.port, "GET", "/healthz").status == 200
    lines = request_lines(h)
    assert [l["request_id"] for l in lines] == ids
    a = lines[0]
    assert a["method"] == "POST" and a["path"] == "/v1/chat/completions"
    assert a["status"] == 200 and a["model"] == "echo" and a["provider"] == "fake"
    assert a["stream"] is False and lines[1]["stream"] is True
    assert a["input_tokens"] > 0 and a["cost_usd"] > 0 and a["latency_ms"] >= 0
    assert "model=echo" in a["route"]
    assert lines[2]["status"] == 404 and lines[2]["model"] == "other"
    text = h.stderr_text()
    assert SECRET_TEXT not in text and UNKNOWN not in "".join(json.dumps(l) for l in lines)


def test_request_log_can_be_turned_off(hearth_factory):
    h = hearth_factory(mutate=lambda c: c["log"].update({"level": "info", "requests": False}))
    h.wait_record(h.chat(chat_body("echo")).header("X-Request-Id"))
    assert request_lines(h) == []


@pytest.mark.parametrize("mode,want", [("key", 401), ("loopback", 200), ("none", 200)])
def test_who_may_scrape(hearth_factory, mode, want):
    def mutate(c):
        c["server"]["api_keys"] = ["env:T_METRICS_KEY"]
        c["telemetry"] = {"metrics_auth": mode}
    h = hearth_factory(mutate=mutate, env={"T_METRICS_KEY": "k-metrics-1"})
    assert http_request(h.port, "GET", "/metrics").status == want
    r = http_request(h.port, "GET", "/metrics", headers={"Authorization": "Bearer k-metrics-1"})
    assert r.status == 200 and "hearth_requests_total" in r.text
