"""Browser helpers for the portal test: tabs that refuse (and record) every request leaving
127.0.0.1, axe-core from node_modules, and screenshots saved as test artifacts."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "portal"
LOCAL_HOSTS = {"127.0.0.1"}
SIZES = {"desktop": (1280, 800), "mobile": (390, 844)}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}


class Tab:
    """One browser tab (its own sessionStorage) that records script errors, console
    errors, and any request to a host other than 127.0.0.1 (refused: the portal, its API
    reference and the management API's Swagger UI must work offline)."""

    def __init__(self, browser: Browser, stack: dict[str, Any], *, width: int = 1280,
                 height: int = 900, color_scheme: str = "light") -> None:
        self.context = browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US", timezone_id="UTC",
            color_scheme=color_scheme,  # type: ignore[arg-type]
        )
        self.context.set_default_timeout(15_000)
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)
        self.url = stack["portal_url"]
        self.stack = stack

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS:
            self.external.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        location = msg.location.get("url", "") if isinstance(msg.location, dict) else ""
        self.console_errors.append(f"{msg.text} [{location}]")
        # Expected noise: resources answering 4xx on purpose (a 404 document, a refused
        # log-in, a revoked key in "try it"). Each test that must have none checks
        # console_errors itself (the "try it" page: no 401 from a probe).
        if "Failed to load resource" not in msg.text:
            self.errors.append(msg.text)

    def go(self, route: str) -> Page:
        self.page.goto(f"{self.url}/#{route}")
        return self.page

    def login_as(self, session: dict[str, Any]) -> None:
        """Put a session in this tab's sessionStorage (as the log-in form would)."""
        self.page.goto(f"{self.url}/#/login")
        self.page.evaluate("s => sessionStorage.setItem('tollway.session', s)",
                           json.dumps(session))

    def close(self) -> None:
        self.context.close()
        assert not self.external, f"requests left 127.0.0.1: {self.external}"
        assert not self.errors, f"script errors in the portal: {self.errors}"


# --- axe-core ------------------------------------------------------------------------------


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.1 A/AA violations on the page as it is now. axe-core is
    evaluated over DevTools (not a <script>), so the portal's CSP stays as it is."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci` (make test does, mk/azure.mk)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                     resultTypes: ['violations']})""", AXE_TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [{"target": n["target"], "summary": n.get("failureSummary", "")}
                   for n in v["nodes"][:5]]}
        for v in result["violations"] if v["impact"] in BLOCKING
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)


# --- screenshots ---------------------------------------------------------------------------


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def screenshot(page: Page, name: str, size: str, scheme: str = "light") -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    path = ARTIFACTS / f"{slug(name)}-{width}x{height}-{scheme}.png"
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-page
    page.screenshot(path=str(path), full_page=True)
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless. Missing: a failure as root (``make test`` installs it,
    mk/portal.mk), a skip that says why otherwise (installing it needs root)."""
    import pytest

    if not CHROMIUM.exists():
        how = "install it with `sudo apt-get install -y chromium` (Debian/Ubuntu)"
        if os.geteuid() != 0:
            pytest.skip(f"Chromium is missing at {CHROMIUM} and installing it needs root: {how}")
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make test` (mk/portal.mk "
                    f"installs it) or {how}")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
