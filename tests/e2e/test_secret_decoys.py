# test_secret_decoys.py - decoy keys prove that no secret reaches a log, a usage row or an
# error body: a client key, a virtual key made through the admin API and a provider key with
# unmistakable values go through successes, provider errors, bad keys, streams, explains and a
# reload, with the log at debug level; then every byte hearth wrote (its log, every table,
# every file of its data directory) is searched for them.
import json
import signal

from helpers import everything_written, SSE, chat_body, http_request, wait_until
from test_routing import CLOUD, routing_config

CLIENT_KEY = "hk-decoy-client-5e1f0c2a9b7d4e3f8a6c"
PROVIDER_KEY = "sk-decoy-provider-9d8c7b6a5f4e3d2c1b0a"
DECOYS = (CLIENT_KEY, PROVIDER_KEY, CLIENT_KEY[8:], PROVIDER_KEY[8:])


def test_no_key_is_ever_written_or_echoed(hearth_factory, kind_fakes):
    base = routing_config(kind_fakes, {"t": {"candidates": ["cloud-error-401", "local-echo"]}})

    def mutate(cfg):
        base(cfg)
        cfg["log"] = {"level": "debug"}
        cfg["models"]["cloud-error-401"] = {"provider": CLOUD, "upstream": "error-401"}
        cfg["policy"] = {"secret": "local_only"}
    h = hearth_factory(mutate=mutate, env={"FAKE_KEY": PROVIDER_KEY,
                                           "HEARTH_API_KEY": CLIENT_KEY})
    auth = {"Authorization": "Bearer " + CLIENT_KEY}
    bodies = []
    # a virtual key, created through the admin API: shown once, then a decoy like the others
    r = http_request(h.port, "POST", "/api/v1/teams", {"name": "decoys"}, headers=auth)
    r = http_request(h.port, "POST", "/api/v1/keys", {"team_id": r.json()["id"]}, headers=auth)
    assert r.status == 201, r
    virtual = r.json()["key"]
    vauth = {"Authorization": "Bearer " + virtual}
    decoys = DECOYS + (virtual, virtual[11:])

    def call(path, body, headers=auth):
        r = http_request(h.port, "POST", path, body, headers=headers)
        bodies.append(r.text)
        return r

    assert call("/v1/chat/completions", chat_body("cloud-echo", "hi")).status == 200
    r = call("/v1/chat/completions", chat_body("cloud-echo", "hi", stream=True))
    assert r.status == 200 and SSE(r.text).done
    assert call("/v1/chat/completions", chat_body("cloud-error-401", "hi")).status == 502
    assert call("/v1/chat/completions", chat_body("cloud-error-500", "hi")).status == 502
    assert call("/v1/chat/completions", chat_body("task:t", "hi")).status == 200
    # the client pastes its own key into a prompt: the policy sees a secret, keeps it local
    r = call("/v1/chat/completions", chat_body("task:t", "my key is " + PROVIDER_KEY))
    assert r.status == 200 and r.header("X-Hearth-Model") == "local-echo", r
    assert call("/v1/chat/completions", chat_body("nope", "hi")).status == 404
    assert call("/api/v1/route/explain", chat_body("task:t", "hi")).status == 200
    assert call("/v1/chat/completions", chat_body("cloud-echo", "hi"), headers=vauth).status == 200
    assert call("/v1/chat/completions", chat_body("cloud-echo", "hi"),
                headers={"Authorization": "Bearer " + virtual + "x"}).status == 401
    assert call("/api/v1/keys", {}, headers=vauth).status == 403  # a member key mints none
    for bad in ("Bearer " + CLIENT_KEY + "x", "Bearer " + PROVIDER_KEY, CLIENT_KEY):
        assert call("/v1/chat/completions", chat_body("cloud-echo", "hi"),
                    headers={"Authorization": bad}).status == 401
    assert call("/v1/messages", {"model": "cloud-echo", "max_tokens": 5,
                                 "messages": [{"role": "user", "content": "hi"}]},
                headers={"x-api-key": "wrong-" + CLIENT_KEY}).status == 401
    h.proc.send_signal(signal.SIGHUP)  # a reload logs what changed
    assert wait_until(lambda: "reload" in h.stderr_text().lower(), 10)
    # the provider received the key: the decoy is real, not a key never sent
    assert any(PROVIDER_KEY in json.dumps(q.get("headers", {}))
               for q in kind_fakes["openai"].requests)

    written = everything_written(h)
    for d in decoys:
        assert d not in written, "a key reached hearth's log or database"
        for b in bodies:
            assert CLIENT_KEY not in b and virtual not in b, b[:500]
            assert d not in b.replace(PROVIDER_KEY, ""), b[:500]
