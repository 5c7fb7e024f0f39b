"""Fixtures and helpers shared by the portal's billing and admin-insight browser tests
(tests/e2e/test_portal_billing.py, test_portal_admin_insight.py): each module starts its own
``tollway local`` and drives Debian's Chromium, like tests/e2e/test_portal_browser.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.portal_support import SIZES, Tab, axe_violations, describe, screenshot
from tests.e2e.test_portal_browser import (
    DEADLINE,
    PASSWORD,
    admin_headers,
    open_page,
)
from tests.servers import client, local_stack

__all__ = ["DEADLINE", "PASSWORD", "admin_headers", "open_page"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("portal-insight") / "data") as state:
        yield state




def admin_session(stack: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "admin", "token": stack["admin_token"], "role": "admin",
            "email": "Administrator"}


def management(stack: dict[str, Any], method: str, path: str, token: str | None = None,
               **kw: Any) -> Any:
    """One management API call (the admin token unless ``token``); the JSON body."""
    headers = {"Authorization": f"Bearer {token or stack['admin_token']}"}
    with client() as c:
        r = c.request(method, stack["management_url"] + path, headers=headers, **kw)
    assert r.status_code < 300, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


def developer(stack: dict[str, Any], email: str, plan_id: str) -> dict[str, Any]:
    """Sign up, subscribe to ``plan_id``, create a key; the portal session plus key and
    subscription id."""
    with client() as c:
        r = c.post(f"{stack['management_url']}/v1/auth/signup",
                   json={"email": email, "password": PASSWORD, "name": email.split("@")[0]})
        assert r.status_code == 201, r.text
    s = r.json()
    token = s["access_token"]
    sub = management(stack, "POST", "/v1/me/subscriptions", token, json={"plan_id": plan_id})
    key = management(stack, "POST", "/v1/me/keys", token, json={"name": "tests"})["key"]
    return {"session": {"kind": "developer", "token": token, "role": s["role"],
                        "expiresAt": s["expires_at"], "accountId": s["account_id"],
                        "consumerId": s["consumer_id"], "email": email},
            "token": token, "consumer": s["consumer_id"], "key": key, "subscription": sub["id"]}


def call(stack: dict[str, Any], key: str, path: str = "/demo/v2/echo/hello") -> int:
    with client() as c:
        return c.get(stack["gateway_url"] + path, headers={"X-Api-Key": key}).status_code


def calls_until_admitted(stack: dict[str, Any], key: str, n: int,
                         path: str = "/demo/v2/echo/hello") -> None:
    """``n`` calls that pass (a new key reaches the gateway within the cache TTL)."""
    deadline = time.monotonic() + DEADLINE
    passed = 0
    while passed < n:
        status = call(stack, key, path)
        if status < 300:
            passed += 1
        else:
            assert status in (401, 429), status  # not yet known; or over 2 a second
            assert time.monotonic() < deadline, f"only {passed} of {n} calls passed"
            time.sleep(0.3)


def until(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it is truthy (metering is a background batch)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


def cents(n: int) -> str:
    return f"${n / 100:,.2f}"


def every_page_passes_axe(tab: Callable[..., Tab], pages: list[tuple[dict[str, Any],
                                                                    list[tuple[str, str]]]]
                          ) -> int:
    """Each page light and dark: no serious or critical axe violation; screenshots at
    1280x800 (light, dark) and 390x844 (light), as test_portal_browser.py does."""
    failures: dict[str, Any] = {}
    shots = 0
    for who, routes in pages:
        t = tab(width=SIZES["desktop"][0], height=SIZES["desktop"][1])
        t.login_as(who)
        for name, route in routes:
            for scheme in ("light", "dark"):
                t.page.emulate_media(color_scheme=scheme)  # dark: restyles the loaded page
                if scheme == "light":  # (CSS only, as in test_portal_browser.py)
                    page = open_page(t, route)
                    expect(page.locator("main .loading")).to_have_count(0)
                found = axe_violations(page)
                if found:
                    failures[f"{name} ({scheme})"] = found
                screenshot(page, name, "desktop", scheme)
                shots += 1
                if scheme == "light":
                    page.set_viewport_size(dict(zip(("width", "height"), SIZES["mobile"])))
                    screenshot(page, name, "mobile", scheme)
                    shots += 1
                    page.set_viewport_size(dict(zip(("width", "height"), SIZES["desktop"])))
    assert not failures, describe(failures)  # type: ignore[arg-type]
    return shots


def admin_tab(tab: Callable[..., Tab], stack: dict[str, Any]) -> Tab:
    t = tab()
    t.login_as(admin_session(stack))
    return t


def heading(page: Page, text: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)
