# test_identity.py - users, teams and virtual API keys: the first start's admin key, the
# admin API's role x endpoint matrix, another team's objects answering 404, keys shown once
# and never stored in clear, expiry, revocation, allow-lists, disabled users, the audit trail
# of every change (with its actor) and who made each request in the usage records.
import json
import re

import pytest

from fakes.openai import FakeOpenAI
from helpers import (Hearth, chat_body, default_config, everything_written, free_port,
                     http_request)

ADMIN_KEY = "hk_e2eAdminKey0123456789abcdefghijklmnop"
KEY_RE = re.compile(r"hk_[0-9A-Za-z]{40}")


def bearer(key):
    return {"Authorization": "Bearer " + key} if key else {}


def call(h, method, path, key=None, body=None):
    return http_request(h.port, method, path, body, headers=bearer(key))


def ok(r, status=200):
    assert r.status == status, r
    return r.json()


def identity_config(cfg):
    cfg["tasks"] = {"pair": {"candidates": ["echo", "echo-details"]}}
    cfg["models"]["embed"] = {"provider": "fake", "upstream": "echo-upstream",
                              "embeddings": True, "input_price_per_mtok": 1}


class World:
    """A server with the bootstrap admin, teams a and b, and a user and key per role."""

    def __init__(self, h):
        self.h = h
        self.team = {t: ok(call(h, "POST", "/api/v1/teams", ADMIN_KEY, {"name": t}), 201)["id"]
                     for t in ("a", "b")}
        self.user, self.key, self.key_id = {}, {}, {}
        for name, role, team in (("dev_a", "developer", "a"), ("mem_a", "member", "a"),
                                 ("dev_b", "developer", "b"), ("mem_b", "member", "b"),
                                 ("auditor", "auditor", None), ("admin2", "admin", None)):
            body = {"name": name, "role": role, "email": name + "@example.com"}
            if team:
                body["team_id"] = self.team[team]
            self.user[name] = ok(call(h, "POST", "/api/v1/users", ADMIN_KEY, body), 201)["id"]
            k = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY,
                        {"user_id": self.user[name], "name": name}), 201)
            assert k["role"] == role, k  # a user's key takes the user's role by default
            self.key[name], self.key_id[name] = k["key"], k["id"]
        self.key["admin"] = ADMIN_KEY
        self.key[None] = None

    def new_user(self, team="a"):
        return ok(call(self.h, "POST", "/api/v1/users", ADMIN_KEY,
                       {"name": "target", "team_id": self.team[team]}), 201)["id"]

    def new_team_key(self, team="a"):
        return ok(call(self.h, "POST", "/api/v1/keys", ADMIN_KEY,
                       {"team_id": self.team[team], "role": "member"}), 201)["id"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fake = FakeOpenAI().start()
    root = tmp_path_factory.mktemp("identity")
    cfg = default_config(free_port(), root / "data", fake.base_url, "http://127.0.0.1:9/v1")
    identity_config(cfg)
    h = Hearth(root, cfg, env={"HEARTH_ADMIN_KEY": ADMIN_KEY})
    h.start()
    yield World(h)
    h.stop()
    fake.close()


# Who calls: the bootstrap admin, a developer and a member of team a, an auditor, no key.
CALLERS = ["admin", "auditor", "dev_a", "mem_a", None]


def target(w, what):
    """The path of the object a matrix row acts on (fresh when the row changes it)."""
    return {
        "users": "/api/v1/users",
        "user:self": None,
        "user:teammate": "/api/v1/users/" + w.user["mem_a"],
        "user:fresh": lambda: "/api/v1/users/" + w.new_user(),
        "teams": "/api/v1/teams",
        "team:a": "/api/v1/teams/" + w.team["a"],
        "team:empty": lambda: "/api/v1/teams/" + ok(call(
            w.h, "POST", "/api/v1/teams", ADMIN_KEY, {"name": "empty"}), 201)["id"],
        "keys": "/api/v1/keys",
        "key:team_a": lambda: "/api/v1/keys/" + w.new_team_key("a"),
    }[what]


BODY = {"users": {"name": "new user"}, "teams": {"name": "new team"}, "keys": {},
        "user:teammate": {"name": "renamed"}, "user:fresh": None, "team:a": {"name": "a"},
        "key:team_a": {"name": "renamed"}}

# (method, target) -> expected status for CALLERS in order
MATRIX = [
    ("GET", "users", [200, 200, 200, 200, 401]),
    ("POST", "users", [201, 403, 403, 403, 401]),
    ("GET", "user:teammate", [200, 200, 404, 200, 401]),  # mem_a is the teammate itself
    ("PATCH", "user:teammate", [200, 403, 404, 200, 401]),  # mem_a: its own name
    ("DELETE", "user:fresh", [200, 403, 404, 404, 401]),
    ("GET", "teams", [200, 200, 200, 200, 401]),
    ("POST", "teams", [201, 403, 403, 403, 401]),
    ("GET", "team:a", [200, 200, 200, 200, 401]),
    ("PATCH", "team:a", [200, 403, 403, 403, 401]),
    ("DELETE", "team:empty", [200, 403, 404, 404, 401]),
    ("GET", "keys", [200, 200, 200, 200, 401]),
    ("POST", "keys", [201, 403, 201, 403, 401]),
    ("GET", "key:team_a", [200, 200, 200, 404, 401]),
    ("PATCH", "key:team_a", [200, 403, 200, 404, 401]),
    ("DELETE", "key:team_a", [200, 403, 200, 404, 401]),
]


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "nokey")
@pytest.mark.parametrize("method,what,expected", MATRIX,
                         ids=["%s %s" % (m, t) for m, t, _ in MATRIX])
def test_role_endpoint_matrix(world, caller, method, what, expected):
    path = target(world, what)
    if callable(path):
        path = path()
    body = BODY.get(what) if method in ("POST", "PATCH") else None
    r = call(world.h, method, path, world.key[caller], body)
    want = expected[CALLERS.index(caller)]
    assert r.status == want, (caller, method, path, r)
    if want >= 400:
        err = r.json()["error"]
        assert err["code"] == {401: "invalid_api_key", 403: "permission_denied",
                               404: "not_found"}[want], err
        assert err["message"]


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c or "nokey")
def test_model_calls_by_role(world, caller):
    r = world.h.chat(chat_body("echo", "hi"), headers=bearer(world.key[caller]))
    if caller == "auditor":  # read-only: no model calls
        assert r.status == 403 and r.json()["error"]["code"] == "permission_denied", r
        assert "auditor" in r.json()["error"]["message"]
    else:  # no key: a loopback client without static keys is served (anonymous member)
        assert r.status == 200, r


def test_everyone_reads_their_own_profile_and_only_that(world):
    for who in ("dev_a", "mem_a", "dev_b"):
        me = world.user[who]
        d = ok(call(world.h, "GET", "/api/v1/users", world.key[who]))
        assert [u["id"] for u in d["data"]] == [me]
        assert ok(call(world.h, "GET", "/api/v1/users/" + me, world.key[who]))["id"] == me
    assert len(ok(call(world.h, "GET", "/api/v1/users?limit=200", world.key["auditor"]))["data"]) >= 7


def test_another_teams_objects_answer_404(world):
    """dev_b guessing team a's ids: each answers as if it did not exist, and lists hide them."""
    w = world
    team_key = w.new_team_key("a")
    for path in ("/api/v1/keys/" + w.key_id["dev_a"], "/api/v1/keys/" + team_key,
                 "/api/v1/users/" + w.user["dev_a"], "/api/v1/teams/" + w.team["a"]):
        for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
            r = call(w.h, method, path, w.key["dev_b"], body)
            assert r.status == 404, (method, path, r)
            missing = call(w.h, method, path[:path.rindex("/") + 1] + "key_nope", w.key["dev_b"],
                           body)
            # the same answer as for an id that does not exist, but for the id itself
            assert r.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    ids = [k["id"] for k in ok(call(w.h, "GET", "/api/v1/keys?limit=200", w.key["dev_b"]))["data"]]
    assert w.key_id["dev_b"] in ids
    assert w.key_id["dev_a"] not in ids and team_key not in ids
    assert ok(call(w.h, "GET", "/api/v1/keys/" + w.key_id["dev_a"], w.key["dev_a"]))["id"]
    # dev_a sees its team's key but not a teammate's personal key
    assert call(w.h, "GET", "/api/v1/keys/" + team_key, w.key["dev_a"]).status == 200
    assert call(w.h, "GET", "/api/v1/keys/" + w.key_id["mem_a"], w.key["dev_a"]).status == 404
    # nor can dev_b create a key for team a or for a user of team a
    for body in ({"team_id": w.team["a"]}, {"user_id": w.user["mem_a"]}):
        r = call(w.h, "POST", "/api/v1/keys", w.key["dev_b"], body)
        assert r.status == 400 and "no " in r.json()["error"]["message"], r


def test_developers_cannot_mint_stronger_keys(world):
    for role in ("admin", "auditor"):
        r = call(world.h, "POST", "/api/v1/keys", world.key["dev_a"], {"role": role})
        assert r.status == 403 and r.json()["error"]["param"] == "role", r
    k = ok(call(world.h, "POST", "/api/v1/keys", world.key["dev_a"], {"role": "member"}), 201)
    assert k["role"] == "member" and k["user_id"] == world.user["dev_a"]
    assert k["team_id"] == world.team["a"]


def test_keys_made_by_a_limited_key_are_no_wider(world):
    h = world.h
    lim = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY,
                  {"user_id": world.user["dev_a"], "allowed_models": ["echo"],
                   "expires_at": "2998-01-01T00:00:00Z"}), 201)
    for body, param in (({"expires_at": "2998-01-01T00:00:00Z"}, "allowed_models"),
                        ({"allowed_models": ["echo", "embed"],
                          "expires_at": "2998-01-01T00:00:00Z"}, "allowed_models"),
                        ({"allowed_models": ["echo"]}, "expires_at"),
                        ({"allowed_models": ["echo"], "expires_at": "2999-01-01T00:00:00Z"},
                         "expires_at")):
        r = call(h, "POST", "/api/v1/keys", lim["key"], body)
        assert r.status == 403 and r.json()["error"]["param"] == param, (body, r)
    k = ok(call(h, "POST", "/api/v1/keys", lim["key"],
                {"allowed_models": ["echo"], "expires_at": "2997-01-01T00:00:00Z"}), 201)
    r = call(h, "PATCH", "/api/v1/keys/" + k["id"], lim["key"], {"allowed_models": None})
    assert r.status == 403, r  # nor can it lift the limit later
    r = call(h, "PATCH", "/api/v1/keys/" + k["id"], ADMIN_KEY, {"allowed_models": None})
    assert r.status == 200, r  # an admin can


def test_pagination_walks_every_key_once(world):
    h, seen, after = world.h, [], None
    while True:
        d = ok(call(h, "GET", "/api/v1/keys?limit=2" + ("&after=" + after if after else ""),
                    ADMIN_KEY))
        assert len(d["data"]) <= 2
        seen += [k["id"] for k in d["data"]]
        after = d["next"]
        if after is None:
            break
    everything = [k["id"] for k in ok(call(h, "GET", "/api/v1/keys?limit=200", ADMIN_KEY))["data"]]
    assert seen == everything and len(seen) == len(set(seen)) >= 7
    r = call(h, "GET", "/api/v1/keys?limit=0", ADMIN_KEY)
    assert r.status == 400 and r.json()["error"]["param"] == "limit"


def test_key_is_shown_once_and_never_stored(world):
    h = world.h
    k = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY, {"user_id": world.user["mem_b"]}), 201)
    secret = k["key"]
    assert KEY_RE.fullmatch(secret), secret
    assert k["prefix"] == secret[:11] and k["prefix"] in secret
    for r in (call(h, "GET", "/api/v1/keys/" + k["id"], ADMIN_KEY),
              call(h, "GET", "/api/v1/keys?limit=200", ADMIN_KEY)):
        assert r.status == 200 and secret not in r.text and secret[11:] not in r.text
    assert h.chat(chat_body("echo", "hi"), headers=bearer(secret)).status == 200
    written = everything_written(h)
    for s in list(world.key.values())[:-1] + [secret, ADMIN_KEY]:
        if s:
            assert s not in written and s[11:] not in written, "a key secret was written"


def test_revoke_is_immediate(world):
    h = world.h
    k = ok(call(h, "POST", "/api/v1/keys", world.key["dev_a"], {}), 201)
    assert h.chat(chat_body("echo", "hi"), headers=bearer(k["key"])).status == 200
    d = ok(call(h, "DELETE", "/api/v1/keys/" + k["id"], world.key["dev_a"]))
    assert d["revoked_at"]
    r = h.chat(chat_body("echo", "hi"), headers=bearer(k["key"]))
    assert r.status == 401 and "revoked" in r.json()["error"]["message"], r
    assert call(h, "GET", "/api/v1/keys", k["key"]).status == 401


def test_expiry(world):
    h = world.h
    k = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY,
                {"user_id": world.user["mem_a"], "expires_at": "2999-01-01T00:00:00Z"}), 201)
    assert k["expires_at"] == "2999-01-01T00:00:00Z"
    assert h.chat(chat_body("echo", "hi"), headers=bearer(k["key"])).status == 200
    ok(call(h, "PATCH", "/api/v1/keys/" + k["id"], ADMIN_KEY,
            {"expires_at": "2020-01-01T00:00:00Z"}))
    r = h.chat(chat_body("echo", "hi"), headers=bearer(k["key"]))
    assert r.status == 401, r
    assert "expired at 2020-01-01T00:00:00Z" in r.json()["error"]["message"]
    r = call(h, "POST", "/api/v1/keys", ADMIN_KEY, {"expires_at": "tomorrow"})
    assert r.status == 400 and r.json()["error"]["param"] == "expires_at"


def test_allow_lists(world):
    h = world.h
    k = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY,
                {"user_id": world.user["mem_a"], "allowed_models": ["echo-details", "embed"],
                 "allowed_tasks": ["pair"]}), 201)
    key = bearer(k["key"])
    assert h.model_ids(headers=key) == ["echo-details", "embed"]  # what it may use
    assert "echo" in h.model_ids()
    assert h.chat(chat_body("echo-details", "hi"), headers=key).status == 200
    r = h.chat(chat_body("echo", "hi"), headers=key)
    assert r.status == 403, r
    err = r.json()["error"]
    assert err["code"] == "permission_denied" and err["param"] == "model"
    assert "'echo'" in err["message"] and "allowed_models" in err["message"]
    # a task: the candidates outside the list are skipped
    r = h.chat(chat_body("task:pair", "hi"), headers=key)
    assert r.status == 200 and r.header("X-Hearth-Model") == "echo-details", r
    assert "allowed_models" in r.header("X-Hearth-Route")
    r = h.chat(chat_body("auto", "hi"), headers=key)
    assert r.status == 403 and "task 'auto'" in r.json()["error"]["message"], r
    r = http_request(h.port, "POST", "/v1/messages",
                     {"model": "echo", "max_tokens": 5,
                      "messages": [{"role": "user", "content": "hi"}]},
                     headers={"x-api-key": k["key"]})
    assert r.status == 403 and r.json()["error"]["type"] == "permission_error", r
    r = http_request(h.port, "POST", "/v1/embeddings", {"model": "embed", "input": "x"},
                     headers=key)
    assert r.status == 200, r
    ok(call(h, "PATCH", "/api/v1/keys/" + k["id"], ADMIN_KEY, {"allowed_models": ["echo"]}))
    r = http_request(h.port, "POST", "/v1/embeddings", {"model": "embed", "input": "x"},
                     headers=key)
    assert r.status == 403 and "'embed'" in r.json()["error"]["message"], r


def test_disabled_user_keys_stop(world):
    h = world.h
    uid = world.new_user("b")
    k = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY, {"user_id": uid}), 201)
    assert h.chat(chat_body("echo", "hi"), headers=bearer(k["key"])).status == 200
    assert ok(call(h, "DELETE", "/api/v1/users/" + uid, ADMIN_KEY))["disabled"] is True
    r = h.chat(chat_body("echo", "hi"), headers=bearer(k["key"]))
    assert r.status == 401 and "disabled" in r.json()["error"]["message"], r
    ok(call(h, "PATCH", "/api/v1/users/" + uid, ADMIN_KEY, {"disabled": False}))
    assert h.chat(chat_body("echo", "hi"), headers=bearer(k["key"])).status == 200


def test_bad_bodies(world):
    h = world.h
    for path, body, param in (("/api/v1/users", {"name": "x", "role": "root"}, "role"),
                              ("/api/v1/users", {"name": "x", "team_id": "team_nope"}, "team_id"),
                              ("/api/v1/users", {"nam": "x"}, "nam"),
                              ("/api/v1/keys", {"allowed_models": "echo"}, "allowed_models"),
                              ("/api/v1/keys", {"metadata": [1]}, "metadata"),
                              ("/api/v1/teams", {}, "name")):
        r = call(h, "POST", path, ADMIN_KEY, body)
        assert r.status == 400 and r.json()["error"]["param"] == param, (path, body, r)
    r = call(h, "POST", "/api/v1/users", ADMIN_KEY, "not json")
    assert r.status == 400 and r.json()["error"]["code"] == "invalid_json"
    r = call(h, "POST", "/api/v1/users", ADMIN_KEY, {"name": "d", "email": "dev_a@example.com"})
    assert r.status == 409 and r.json()["error"]["code"] == "conflict", r
    r = call(h, "DELETE", "/api/v1/teams/" + world.team["a"], ADMIN_KEY)
    assert r.status == 409 and "still has" in r.json()["error"]["message"], r
    r = call(h, "PUT", "/api/v1/keys/" + world.key_id["dev_a"], ADMIN_KEY, {})
    assert r.status == 405 and "PATCH" in r.header("Allow"), r


def test_changes_are_audited_with_their_actor(world):
    h = world.h
    k = ok(call(h, "POST", "/api/v1/keys", world.key["dev_a"], {"name": "audited"}), 201)
    ok(call(h, "DELETE", "/api/v1/keys/" + k["id"], world.key["dev_a"]))
    p = h.cli("audit", "export", "--config", h.config_path)
    assert p.returncode == 0, p.stderr
    events = [json.loads(line) for line in p.stdout.splitlines()]
    by = {(e["action"], e["object"]): e for e in events}
    assert by[("key.create", k["id"])]["actor"] == world.key_id["dev_a"]
    assert by[("key.revoke", k["id"])]["actor"] == world.key_id["dev_a"]
    admin_key_id = by[("key.create", world.key_id["dev_a"])]["actor"]
    assert admin_key_id.startswith("key_")
    assert by[("user.create", world.user["dev_a"])]["actor"] == admin_key_id
    assert by[("team.create", world.team["a"])]["actor"] == admin_key_id
    boot = [e for e in events if e["actor"] == "bootstrap"]
    assert [e["action"] for e in boot] == ["user.create", "key.create"]
    assert all(ADMIN_KEY not in json.dumps(e) for e in events)
    p = h.cli("audit", "verify", "--config", h.config_path)
    assert p.returncode == 0 and p.stdout.startswith("ok:"), p.stdout + p.stderr


def test_usage_records_who(world):
    h = world.h
    r = h.chat(chat_body("echo", "who"), headers=bearer(world.key["dev_a"]))
    assert r.status == 200
    rec = h.wait_record(r.header("X-Request-Id"))
    assert (rec["key_id"], rec["user_id"], rec["team_id"]) == (
        world.key_id["dev_a"], world.user["dev_a"], world.team["a"])
    k = ok(call(h, "GET", "/api/v1/keys/" + world.key_id["dev_a"], ADMIN_KEY))
    assert k["last_used_at"] and k["last_used_at"] >= k["created_at"], k
    never = ok(call(h, "GET", "/api/v1/keys/" + world.new_team_key("b"), ADMIN_KEY))
    assert never["last_used_at"] is None
    r = h.chat(chat_body("echo", "anonymous"))
    rec = h.wait_record(r.header("X-Request-Id"))
    assert (rec["key_id"], rec["user_id"], rec["team_id"]) == (None, None, None)


# ---- the first start ----------------------------------------------------------------------

def test_bootstrap_prints_a_generated_key_once(hearth_factory):
    h = hearth_factory()
    keys = KEY_RE.findall(h.stderr_text())
    assert len(keys) == 1, h.stderr_text()
    key = keys[0]
    d = ok(call(h, "GET", "/api/v1/keys", key))
    assert [k["role"] for k in d["data"]] == ["admin"]
    assert key not in everything_written(h).replace(h.stderr_text(), "")
    for f in h.data_dir.iterdir():  # not in any file of the data directory, WAL included
        assert key.encode() not in f.read_bytes(), f
    assert (h.data_dir / "pepper").stat().st_mode & 0o777 == 0o600
    h.stop()
    h.start()
    assert KEY_RE.findall(h.stderr_text()) == [key]  # never printed again
    assert call(h, "GET", "/api/v1/keys", key).status == 200  # the pepper persisted


def test_bootstrap_from_env_and_master_key(hearth_factory):
    h = hearth_factory(env={"HEARTH_ADMIN_KEY": ADMIN_KEY, "HEARTH_MASTER_KEY": "m" * 40})
    assert not KEY_RE.findall(h.stderr_text().replace(ADMIN_KEY, ""))
    assert ok(call(h, "GET", "/api/v1/users", ADMIN_KEY))["data"][0]["role"] == "admin"
    assert not (h.data_dir / "pepper").exists()  # derived from the master key instead
    assert call(h, "GET", "/api/v1/users", ADMIN_KEY[:-1] + "x").status == 401


def test_bad_admin_key_refuses_to_start(hearth_factory):
    h = hearth_factory(env={"HEARTH_ADMIN_KEY": "hk_short"}, start=False)
    h.start(wait=False)
    assert h.wait_exit() == 1
    assert "HEARTH_ADMIN_KEY must start with 'hk_'" in h.stderr_text()


def test_static_keys_are_the_operator(hearth_factory):
    h = hearth_factory(env={"HEARTH_API_KEY": "static-operator-key-0123"})
    d = ok(call(h, "GET", "/api/v1/users", "static-operator-key-0123"))
    assert d["data"][0]["role"] == "admin"
    t = ok(call(h, "POST", "/api/v1/teams", "static-operator-key-0123", {"name": "t"}), 201)
    r = call(h, "POST", "/api/v1/keys", "static-operator-key-0123", {"team_id": t["id"]})
    k = ok(r, 201)
    assert h.chat(chat_body("echo", "hi"), headers=bearer(k["key"])).status == 200
    assert h.chat(chat_body("echo", "hi")).status == 401  # static keys: a key is required


# ---- the command line ---------------------------------------------------------------------

def test_cli_keys_users_teams(world):
    h, env = world.h, {"HEARTH_API_KEY": ADMIN_KEY}
    p = h.cli("teams", "create", "--name", "cli-team", env=env)
    assert p.returncode == 0 and p.stdout.startswith("created team team_"), p.stdout + p.stderr
    team = p.stdout.split()[2]
    p = h.cli("users", "create", "--name", "cli-user", "--role", "developer", "--team", team,
              "--email", "cli@example.com", "--json", env=env)
    assert p.returncode == 0, p.stderr
    user = json.loads(p.stdout)["id"]
    p = h.cli("keys", "create", "--user", user, "--name", "cli key", "--models", "echo,embed",
              env=env)
    assert p.returncode == 0, p.stderr
    [secret] = KEY_RE.findall(p.stdout)
    key_id = re.search(r"created key (key_\w+)", p.stdout).group(1)
    assert "shown only this once" in p.stdout
    assert h.chat(chat_body("echo", "hi"), headers=bearer(secret)).status == 200

    p = h.cli("keys", "list", env=env)
    assert p.returncode == 0, p.stderr
    [row] = [line for line in p.stdout.splitlines() if line.startswith(key_id)]
    assert secret[:11] in row and "developer" in row and "active" in row and user in row
    assert secret not in p.stdout
    p = h.cli("keys", "list", "--json", "--key", secret, env={})  # the key's own view
    assert p.returncode == 0, p.stderr
    assert [k["id"] for k in json.loads(p.stdout)] == [key_id]
    p = h.cli("users", "list", env=env)
    assert p.returncode == 0 and "cli@example.com" in p.stdout
    p = h.cli("teams", "list", "--json", env=env)
    assert team in [t["id"] for t in json.loads(p.stdout)]

    p = h.cli("keys", "update", key_id, "--models", "all", "--expires", "2999-01-01T00:00:00Z",
              "--json", env=env)
    assert p.returncode == 0, p.stderr
    k = json.loads(p.stdout)
    assert k["allowed_models"] is None and k["expires_at"] == "2999-01-01T00:00:00Z"
    p = h.cli("keys", "revoke", key_id, "--key", secret, env={})  # its own key: allowed
    assert p.returncode == 0 and p.stdout.strip() == "revoked key " + key_id, p.stdout
    assert h.chat(chat_body("echo", "hi"), headers=bearer(secret)).status == 401
    p = h.cli("keys", "get", key_id, env=env)
    assert p.returncode == 0 and "revoked" in p.stdout

    p = h.cli("users", "disable", user, env=env)
    assert p.returncode == 0 and p.stdout.strip() == "disabled user " + user
    p = h.cli("teams", "delete", team, env=env)
    assert p.returncode == 1 and "still has users" in p.stderr and "hint:" in p.stderr


def test_cli_password_from_stdin(world):
    import subprocess
    from helpers import clean_env, hearth_bin
    h = world.h
    p = subprocess.run([str(hearth_bin()), "users", "create", "--name", "pw", "--email",
                        "pw@example.com", "--password-stdin", "--json"], cwd=h.root,
                       env=clean_env({"HEARTH_API_KEY": ADMIN_KEY}),
                       input="a password from stdin\n", capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["has_password"] is True
    r = call(h, "POST", "/api/v1/auth/login", None,
             {"email": "pw@example.com", "password": "a password from stdin"})
    assert r.status == 200, r


@pytest.mark.parametrize("args,env,code,needle", [
    (["keys", "list"], {}, 1, "HEARTH_API_KEY"),
    (["keys", "get", "key_nope"], {"HEARTH_API_KEY": ADMIN_KEY}, 1, "hearth keys list"),
    (["users", "create", "--name", "x"], {"HEARTH_API_KEY": "hk_wrong"}, 1, "--key"),
    (["keys", "frobnicate"], {}, 2, "subcommands"),
    (["keys", "revoke"], {}, 2, "give the id"),
    (["teams", "create"], {}, 2, "--name"),
    (["users", "update", "usr_x"], {}, 2, "at least one option"),
    (["keys", "create", "--user", "a", "--team", "b"], {}, 2, "not both"),
    (["keys", "create", "--password-stdin"], {}, 2, "users create"),
], ids=["no-key", "not-found", "bad-key", "verb", "no-id", "no-name", "nothing", "owner",
        "password-flag"])
def test_cli_failures_say_what_to_do(world, args, env, code, needle):
    p = world.h.cli(*args, env=env)
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert needle in p.stderr and "hint" in p.stderr, p.stderr


# ---- web sign-in --------------------------------------------------------------------------

def cookie_of(r):
    set_cookie = r.header("Set-Cookie") or ""
    return set_cookie, set_cookie.split(";")[0]


def test_web_sign_in_session_and_csrf(world):
    h = world.h
    password = "correct horse battery staple"
    uid = ok(call(h, "POST", "/api/v1/users", ADMIN_KEY,
                  {"name": "web", "email": "web@example.com", "role": "developer",
                   "team_id": world.team["a"], "password": password}), 201)["id"]
    assert ok(call(h, "GET", "/api/v1/users/" + uid, ADMIN_KEY))["has_password"] is True
    for email, pw in (("web@example.com", "wrong password!"), ("nobody@example.com", password)):
        r = call(h, "POST", "/api/v1/auth/login", None, {"email": email, "password": pw})
        assert r.status == 401 and "wrong email or password" in r.text, r
        assert r.header("Set-Cookie") is None
    r = call(h, "POST", "/api/v1/auth/login", None,
             {"email": "web@example.com", "password": password})
    d = ok(r)
    set_cookie, cookie = cookie_of(r)
    attrs = [a.strip() for a in set_cookie.split(";")]
    assert cookie.startswith("hearth_session=hs_")
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= set(attrs) and "Secure" not in attrs
    assert d["user"]["id"] == uid and len(d["csrf_token"]) == 64
    csrf = d["csrf_token"]
    r = http_request(h.port, "POST", "/api/v1/auth/login",
                     {"email": "web@example.com", "password": password},
                     headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in [a.strip() for a in r.header("Set-Cookie").split(";")]

    def with_cookie(method, path, body=None, extra=None):
        hdrs = {"Cookie": "theme=dark; " + cookie}
        hdrs.update(extra or {})
        return http_request(h.port, method, path, body, headers=hdrs)

    me = ok(with_cookie("GET", "/api/v1/auth/me"))
    assert (me["via"], me["role"], me["user_id"], me["team_id"]) == (
        "session", "developer", uid, world.team["a"])
    seen = ok(with_cookie("GET", "/api/v1/keys?limit=200"))["data"]
    assert all(k["user_id"] is None and k["team_id"] == world.team["a"] for k in seen), seen
    # a change needs the CSRF token: a cross-site form cannot send it
    r = with_cookie("POST", "/api/v1/keys", {})
    assert r.status == 403 and "X-CSRF-Token" in r.json()["error"]["message"], r
    r = with_cookie("POST", "/api/v1/keys", {}, {"X-CSRF-Token": "0" * 64})
    assert r.status == 403, r
    k = ok(with_cookie("POST", "/api/v1/keys", {"name": "from the web"},
                       {"X-CSRF-Token": csrf}), 201)
    assert k["user_id"] == uid
    p = h.cli("audit", "export", "--config", h.config_path)
    [ev] = [json.loads(x) for x in p.stdout.splitlines() if k["id"] in x]
    assert ev["action"] == "key.create" and ev["actor"] == uid
    # never written: the password, the session token
    written = everything_written(h)
    assert password not in written and cookie.split("=", 1)[1] not in written
    # sign out: the cookie stops at once
    assert with_cookie("POST", "/api/v1/auth/logout").status == 403  # CSRF here too
    r = with_cookie("POST", "/api/v1/auth/logout", None, {"X-CSRF-Token": csrf})
    assert ok(r)["signed_out"] is True and "Max-Age=0" in r.header("Set-Cookie")
    r = with_cookie("GET", "/api/v1/auth/me")
    assert r.status == 401 and "sign in again" in r.json()["error"]["message"], r


def test_users_change_their_own_name_and_password_only(world):
    h = world.h
    uid = ok(call(h, "POST", "/api/v1/users", ADMIN_KEY,
                  {"name": "self", "email": "self@example.com", "password": "first password"}),
             201)["id"]
    key = ok(call(h, "POST", "/api/v1/keys", ADMIN_KEY, {"user_id": uid}), 201)["key"]
    me = "/api/v1/users/" + uid
    assert ok(call(h, "PATCH", me, key, {"name": "Selma"}))["name"] == "Selma"
    for body, param in (({"role": "admin"}, "role"), ({"team_id": world.team["a"]}, "team_id"),
                        ({"disabled": True}, "disabled"),
                        ({"password": "second password"}, "current_password"),
                        ({"password": "second password", "current_password": "wrong one!"},
                         "current_password")):
        r = call(h, "PATCH", me, key, body)
        assert r.status == 403 and r.json()["error"]["param"] == param, (body, r)
    assert call(h, "PATCH", "/api/v1/users/" + world.user["mem_a"], key,
                {"name": "x"}).status == 404
    ok(call(h, "PATCH", me, key, {"password": "second password",
                                  "current_password": "first password"}))

    def login(pw):
        return call(h, "POST", "/api/v1/auth/login", None,
                    {"email": "self@example.com", "password": pw}).status
    assert (login("first password"), login("second password")) == (401, 200)
    # without a password yet, a key cannot give its user one (that is an admin's to set)
    r = call(h, "PATCH", "/api/v1/users/" + world.user["mem_b"], world.key["mem_b"],
             {"password": "a new password", "current_password": "anything at all"})
    assert r.status == 403 and r.json()["error"]["param"] == "password", r


def test_disabled_user_session_stops(world):
    h = world.h
    uid = ok(call(h, "POST", "/api/v1/users", ADMIN_KEY,
                  {"name": "web2", "email": "web2@example.com", "password": "another long pw"}),
             201)["id"]
    r = call(h, "POST", "/api/v1/auth/login", None,
             {"email": "web2@example.com", "password": "another long pw"})
    cookie = cookie_of(r)[1]
    assert http_request(h.port, "GET", "/api/v1/auth/me", headers={"Cookie": cookie}).status == 200
    ok(call(h, "DELETE", "/api/v1/users/" + uid, ADMIN_KEY))
    assert http_request(h.port, "GET", "/api/v1/auth/me", headers={"Cookie": cookie}).status == 401
    r = call(h, "POST", "/api/v1/users", ADMIN_KEY, {"name": "x", "password": "short"})
    assert r.status == 400 and r.json()["error"]["param"] == "password"
