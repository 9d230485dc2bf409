# test_traces.py - OpenTelemetry traces end to end: a fake OTLP/HTTP collector receives the
# spans of each request (request -> policy, route, each provider attempt, record) as
# well-formed OTLP JSON, with the GenAI attributes, honouring an incoming traceparent, and
# without prompt text unless telemetry.trace_prompts asks for it.
import json
import re

import pytest

from helpers import SLOW, PostSink, chat_body, http_request, wait_until

SECRET_TEXT = "prompt-words-that-must-not-travel-7731"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
IN_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
IN_PARENT = "00f067aa0ba902b7"


class Collector(PostSink):
    """A fake OTLP/HTTP collector: the JSON bodies POSTed to it, and their spans."""

    @property
    def bodies(self):
        return [p["body"] for p in self.posts]

    @property
    def paths(self):
        return [(p["path"], p["headers"].get("Content-Type")) for p in self.posts]

    def spans(self):
        out = []
        for b in self.bodies:
            for rs in b["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    out.extend(ss["spans"])
        return out


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def attrs(span):
    out = {}
    for kv in span["attributes"]:
        v = kv["value"]
        assert len(v) == 1, kv
        (k, x), = v.items()
        if k == "intValue":
            x = int(x)
        elif k == "arrayValue":
            x = [list(e.values())[0] for e in x["values"]]
        out[kv["key"]] = x
    return out


def traced(hearth_factory, collector, **telemetry):
    def mutate(cfg):
        cfg["telemetry"] = dict({"otlp_endpoint": collector.url}, **telemetry)
        cfg["tasks"] = {"fb": {"candidates": ["server-error", "echo"], "max_retries": 0}}
    return hearth_factory(mutate=mutate)


def test_spans_of_a_request_with_a_fallback(hearth_factory, collector):
    h = traced(hearth_factory, collector)
    tp = "00-%s-%s-01" % (IN_TRACE, IN_PARENT)
    r = h.chat(chat_body("task:fb", SECRET_TEXT), headers={"traceparent": tp})
    assert r.status == 200 and r.header("X-Hearth-Model") == "echo"
    rid = r.header("X-Request-Id")
    rec = h.wait_record(rid)
    assert wait_until(lambda: any(s["name"] == "record" for s in collector.spans()), 10 * SLOW)
    assert collector.paths[0] == ("/v1/traces", "application/json")
    res = collector.bodies[0]["resourceSpans"][0]
    assert {"key": "service.name", "value": {"stringValue": "hearth"}} in \
        res["resource"]["attributes"]
    spans = [s for s in collector.spans() if s["traceId"] == IN_TRACE]
    names = [s["name"] for s in spans]
    assert names == ["POST /v1/chat/completions", "policy", "route", "chat server-error",
                     "chat echo-upstream", "record"], names
    root = spans[0]
    assert root["parentSpanId"] == IN_PARENT and root["kind"] == 2
    for s in spans:
        assert HEX32.match(s["traceId"]) and HEX16.match(s["spanId"])
        assert int(s["endTimeUnixNano"]) >= int(s["startTimeUnixNano"]) > 0
        if s is not root:
            assert s["parentSpanId"] == root["spanId"]
    assert len({s["spanId"] for s in spans}) == len(spans)
    ra = attrs(root)
    assert ra["hearth.request_id"] == rid and ra["http.response.status_code"] == 200
    assert ra["gen_ai.usage.input_tokens"] == rec["prompt_tokens"]
    failed, ok = spans[3], spans[4]
    assert failed["kind"] == 3 and failed["status"]["code"] == 2
    fa = attrs(failed)
    assert fa["http.response.status_code"] == 500 and fa["gen_ai.system"] == "openai"
    assert fa["hearth.model"] == "server-error"
    oa = attrs(ok)
    assert ok["status"]["code"] == 1
    assert oa["gen_ai.operation.name"] == "chat"
    assert oa["gen_ai.request.model"] == "echo-upstream"
    assert oa["gen_ai.response.model"] == "echo-upstream"
    assert oa["gen_ai.usage.input_tokens"] == rec["prompt_tokens"]
    assert oa["gen_ai.usage.output_tokens"] == rec["completion_tokens"]
    assert oa["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs(spans[2])["hearth.task"] == "fb"
    assert SECRET_TEXT not in json.dumps(collector.bodies)
    def scrape():  # the count follows the collector's answer
        m = http_request(h.port, "GET", "/metrics").text
        return m if re.search(r'^hearth_traces_total\{outcome="exported"\} [1-9]', m, re.M) \
            else None
    m = wait_until(scrape, 10 * SLOW)
    assert m, http_request(h.port, "GET", "/metrics").text
    assert 'hearth_traces_total{outcome="dropped"} 0\n' in m


def test_unsampled_parent_is_not_traced_and_prompts_only_when_asked(hearth_factory, collector):
    h = traced(hearth_factory, collector, trace_prompts=True)
    off = "00-%s-%s-00" % ("1" * 32, IN_PARENT)
    r1 = h.chat(chat_body("echo", "not sampled"), headers={"traceparent": off})
    r2 = h.chat(chat_body("echo", SECRET_TEXT), headers={"traceparent": "garbage"})
    for r in (r1, r2):
        assert r.status == 200
        h.wait_record(r.header("X-Request-Id"))
    assert wait_until(lambda: any(s["name"] == "record" for s in collector.spans()), 10 * SLOW)
    roots = [s for s in collector.spans() if s["name"].startswith("POST ")]
    assert [attrs(s)["hearth.request_id"] for s in roots] == [r2.header("X-Request-Id")]
    assert "parentSpanId" not in roots[0]  # a malformed traceparent starts a new trace
    assert roots[0]["traceId"] != "1" * 32
    assert attrs(roots[0])["gen_ai.prompt"] == SECRET_TEXT


def test_no_endpoint_no_traces(hearth_factory, collector):
    h = hearth_factory()
    h.wait_record(h.chat(chat_body("echo")).header("X-Request-Id"))
    h.stop()
    assert collector.bodies == []
