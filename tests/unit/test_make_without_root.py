"""`make test` without root: what it cannot install is named, with the command to install
it, and only what needs it is left out — never an obscure apt-get failure."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True, timeout=60)


def test_a_missing_chromium_without_root_is_named_and_the_run_goes_on():
    done = _make("portal-browser", "CHROMIUM=/nonexistent/chromium", "AS_ROOT=")
    assert done.returncode == 0, done.stderr
    assert "Chromium (/nonexistent/chromium) is missing and installing it needs root" in done.stdout
    assert "sudo apt-get install -y chromium" in done.stdout
    assert "skips the portal browser tests" in done.stdout


def test_as_root_a_missing_chromium_is_installed_from_debian():
    plan = _make("-n", "portal-browser", "CHROMIUM=/nonexistent/chromium", "AS_ROOT=yes").stdout
    assert "apt-get install -y -qq chromium" in plan


@pytest.mark.parametrize(("uid", "outcome"), [(1000, "skip"), (0, "fail")])
def test_the_browser_tests_skip_without_root_and_fail_as_root(monkeypatch, uid, outcome):
    from _pytest.outcomes import Failed, Skipped

    from tests.e2e import portal_support

    monkeypatch.setattr(portal_support, "CHROMIUM", ROOT / "no-such-chromium")
    monkeypatch.setattr(portal_support.os, "geteuid", lambda: uid)
    expected = Skipped if outcome == "skip" else Failed
    with pytest.raises(expected) as raised, portal_support.chromium():
        pass
    assert "sudo apt-get install -y chromium" in str(raised.value)
