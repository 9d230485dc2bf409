# test_secrets.py - provider credentials stored encrypted at rest: `hearth secrets set` seals
# a key read from stdin under the master key, a provider's api_key: secret:NAME sends exactly
# that key, no byte of the data directory holds it in clear, and a missing or wrong master
# key (or a key file others may read) stops start-up with a message saying what to do.
import json
import os
import subprocess

from helpers import FAKE_KEY, chat_body, clean_env, everything_written, hearth_bin, to_yaml

KEY = "sk-stored-e2e-4c1d9a7f3b2e8d6c5a0f"
MASTER = "6f" * 32  # 32 bytes in hex
OTHER_MASTER = "aa" * 32


def secrets(root, *args, env=None, value=None):
    return subprocess.run([str(hearth_bin()), "secrets"] + list(args) +
                          ["--config", str(root / "hearth.yaml")],
                          cwd=str(root), env=clean_env(env), input=value,
                          capture_output=True, text=True, timeout=30)


def use_secret(cfg):
    cfg["providers"]["fake"]["api_key"] = "secret:FAKE_PROVIDER"


def test_a_stored_key_reaches_the_provider_and_nothing_else(hearth_factory, fake):
    h = hearth_factory(mutate=use_secret, env={"HEARTH_MASTER_KEY": MASTER,
                                               "FAKE_KEY": "not-used"}, start=False)
    h.write_config()
    h.data_dir.mkdir(parents=True, exist_ok=True)
    p = secrets(h.root, "set", "FAKE_PROVIDER", env={"HEARTH_MASTER_KEY": MASTER},
                value=KEY + "\n")
    assert p.returncode == 0 and "secret:FAKE_PROVIDER" in p.stdout, p.stderr
    assert KEY not in p.stdout + p.stderr
    h.start()
    before = len(fake.requests)
    r = h.chat(chat_body("echo", "hi"))
    assert r.status == 200, r
    r = h.chat(chat_body("unauthorized", "hi"))  # an error path: the key is not echoed
    assert KEY not in r.text
    got = [q["headers"].get("authorization") for q in fake.requests[before:]]
    assert got[0] == "Bearer " + KEY, got
    p = secrets(h.root, "list", "--json")
    assert p.returncode == 0, p.stderr
    (entry,) = json.loads(p.stdout)["data"]
    assert entry["name"] == "FAKE_PROVIDER" and entry["created_at"].endswith("Z"), entry
    assert KEY not in p.stdout
    # no file of the data directory holds the key in clear, nor does any log or table
    for dirpath, _, files in os.walk(h.data_dir):
        for f in files:
            data = open(os.path.join(dirpath, f), "rb").read()
            assert KEY.encode() not in data and KEY[8:].encode() not in data, f
    assert os.stat(h.data_dir / "secrets").st_mode & 0o077 == 0
    written = everything_written(h)
    assert KEY not in written and KEY[8:] not in written


def serve_fails(h, env):
    p = subprocess.run([str(hearth_bin()), "serve", "--config", str(h.config_path)],
                       cwd=str(h.root), env=clean_env(env), capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1, (p.returncode, p.stderr)
    return p.stderr


def test_a_missing_or_wrong_master_key_stops_start_up(hearth_factory, tmp_path):
    h = hearth_factory(mutate=use_secret, start=False)
    h.write_config()
    h.data_dir.mkdir(parents=True, exist_ok=True)
    assert secrets(h.root, "set", "FAKE_PROVIDER", env={"HEARTH_MASTER_KEY": MASTER},
                   value=KEY).returncode == 0
    err = serve_fails(h, {"HEARTH_MASTER_KEY": OTHER_MASTER})
    assert "providers.fake.api_key" in err and "'FAKE_PROVIDER'" in err, err
    assert "stored with another key" in err and "hearth secrets set FAKE_PROVIDER" in err, err
    err = serve_fails(h, {})
    assert "needs the master key" in err and "HEARTH_MASTER_KEY" in err, err
    err = serve_fails(h, {"HEARTH_MASTER_KEY": "too-short"})
    assert "not a key" in err, err
    # doctor says the same
    p = subprocess.run([str(hearth_bin()), "doctor", "--config", str(h.config_path)],
                       cwd=str(h.root), env=clean_env({"HEARTH_MASTER_KEY": OTHER_MASTER}),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "stored with another key" in p.stderr, p.stdout + p.stderr
    for text in (err, p.stdout, p.stderr):
        assert KEY not in text and MASTER not in text and OTHER_MASTER not in text
    # a new secret under another key is refused: one store, one key
    p = secrets(h.root, "set", "OTHER", env={"HEARTH_MASTER_KEY": OTHER_MASTER}, value="x")
    assert p.returncode == 1 and "does not open the secret 'FAKE_PROVIDER'" in p.stderr, p.stderr
    # an unknown name
    h.config["providers"]["fake"]["api_key"] = "secret:NOPE"
    h.write_config()
    err = serve_fails(h, {"HEARTH_MASTER_KEY": MASTER})
    assert "no secret 'NOPE'" in err and "hearth secrets set NOPE" in err, err


def test_a_master_key_file(hearth_factory, fake):
    h = hearth_factory(mutate=use_secret, start=False)
    keyfile = h.root / "master.key"
    h.root.mkdir(parents=True, exist_ok=True)
    keyfile.write_text(MASTER + "\n")
    os.chmod(keyfile, 0o644)
    h.config["server"]["master_key_file"] = str(keyfile)
    h.write_config()
    p = secrets(h.root, "set", "FAKE_PROVIDER", value=FAKE_KEY)
    assert p.returncode == 1 and "chmod 600" in p.stderr, p.stderr
    os.chmod(keyfile, 0o600)
    p = secrets(h.root, "set", "FAKE_PROVIDER", value=FAKE_KEY)
    assert p.returncode == 0, p.stderr
    h.start()
    assert h.chat(chat_body("echo", "hi")).status == 200
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer " + FAKE_KEY


def test_the_cli(tmp_path):
    (tmp_path / "hearth.yaml").write_text(to_yaml({"storage": {"data_dir": str(tmp_path / "d")}}))
    env = {"HEARTH_MASTER_KEY": MASTER}
    p = secrets(tmp_path, "set", "A", env=env, value="")
    assert p.returncode == 1 and "empty" in p.stderr, p.stderr
    p = secrets(tmp_path, "set", "bad name", env=env, value="x")
    assert p.returncode == 1 and "not a secret name" in p.stderr, p.stderr
    p = secrets(tmp_path, "set", "A", value="x")
    assert p.returncode == 1 and "keygen" in p.stderr, p.stderr
    for name in ("A", "B"):
        assert secrets(tmp_path, "set", name, env=env, value="v-" + name).returncode == 0
    p = secrets(tmp_path, "list")
    assert p.returncode == 0 and "A " in p.stdout and "B " in p.stdout, p.stdout
    assert secrets(tmp_path, "delete", "A").returncode == 0
    p = secrets(tmp_path, "delete", "A")
    assert p.returncode == 1 and "no secret 'A'" in p.stderr, p.stderr
    assert [e["name"] for e in json.loads(secrets(tmp_path, "list", "--json").stdout)["data"]] \
        == ["B"]
    p = subprocess.run([str(hearth_bin()), "secrets", "keygen"], capture_output=True, text=True)
    assert p.returncode == 0 and len(p.stdout.strip()) == 64, p.stdout
    p = subprocess.run([str(hearth_bin()), "secrets", "set", "A", "value-on-argv"],
                       capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
