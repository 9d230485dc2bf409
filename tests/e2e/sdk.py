# sdk.py - runs the official client SDKs (npm packages in tests/sdk/) against hearth: one node
# process per case, whose one-line JSON report the test_sdk_*.py tests assert on.
import json
import os
import shutil
import subprocess

import pytest

from helpers import REPO, SLOW

SDK_DIR = REPO / "tests" / "sdk"
RUN_TIMEOUT = 30 * SLOW
INSTALL_HINT = "run `make test` (or `scripts/install-deps.sh test`, then `make sdk-deps`)"
# What node itself says, not the SDK nor hearth: node >= 21 deprecates the `punycode` module
# that the SDKs' node-fetch pulls in. Debian 12's node 18 does not warn.
IGNORED_WARNING_CODES = {"DEP0040"}
# Client-side settings of the caller that would change what an SDK sends, or where.
_DROP_ENV = ("OPENAI_", "ANTHROPIC_", "NODE_OPTIONS", "NODE_EXTRA_CA_CERTS")


class SDK:
    """One SDK client script under node; call run(base_url, model, case) per case."""

    def __init__(self, node, script, api_key):
        self.node = node
        self.script = script
        self.api_key = api_key

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(_DROP_ENV) and k.lower() not in
               ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["SDK_API_KEY"] = self.api_key
        return env

    def run(self, base_url, model, case, ok=True):
        """The script's report (a dict). ok: the script must exit 0 (no SDK exception)."""
        cmd = [self.node, self.script, base_url, model, case]
        p = subprocess.run(cmd, cwd=str(SDK_DIR), env=self.env(), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        lines = p.stdout.strip().splitlines()
        where = "%s (exit %d)\nstdout:\n%s\nstderr:\n%s" % (" ".join(cmd[1:]), p.returncode,
                                                            p.stdout, p.stderr)
        if ok:
            assert p.returncode == 0, "the SDK raised: " + where
        assert lines, "no report from " + where
        try:
            out = json.loads(lines[-1])
        except ValueError:
            raise AssertionError("the report is not JSON: " + where)
        out["_where"] = where
        return out


def require(package, script, api_key):
    """An SDK runner, or a one-line failure when node or the package is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: %s" % INSTALL_HINT, pytrace=False)
    if not (SDK_DIR / "node_modules" / package / "package.json").is_file():
        pytest.fail("npm package %s is not installed in %s: %s"
                    % (package, SDK_DIR / "node_modules", INSTALL_HINT), pytrace=False)
    return SDK(node, str(SDK_DIR / script), api_key)


def warnings_of(report):
    return [w for w in report.get("warnings", []) if w.get("code") not in IGNORED_WARNING_CODES]


def assert_no_warnings(report):
    assert warnings_of(report) == [], "the SDK warned: %s\n%s" % (
        warnings_of(report), report["_where"])
