"""In a real browser on ``tollway local``: the keys page shows each key's own "last used"
hour (from metering, per key: the unused key says "Not yet"), and the usage page shows my
own p50/p95/p99 per API in an accessible table. Both pages pass axe-core (WCAG 2.1 A/AA).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.portal_support import axe_violations, describe
from tests.e2e.test_portal_browser import PASSWORD, gateway_get, key_row, until_status
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)
DEADLINE = 30.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("portal-last-used") / "data") as state:
        yield state


def developer_with_two_keys(stack: dict[str, Any]) -> dict[str, Any]:
    """Signed up, subscribed, two keys; only "used" calls the API (3 times), and metering
    has recorded those calls."""
    m = stack["management_url"]
    with client() as c:
        r = c.post(f"{m}/v1/auth/signup", json={"email": "grace@example.com",
                                                 "password": PASSWORD})
        assert r.status_code == 201, r.text
        s = r.json()
        bearer = {"Authorization": f"Bearer {s['access_token']}"}
        assert c.post(f"{m}/v1/me/subscriptions", json={"plan_id": "free"},
                      headers=bearer).status_code == 201
        used = c.post(f"{m}/v1/me/keys", json={"name": "used"}, headers=bearer).json()
        idle = c.post(f"{m}/v1/me/keys", json={"name": "idle"}, headers=bearer).json()
        until_status(stack, used["key"], 200, passing={401, 403})
        for _ in range(2):
            gateway_get(stack, used["key"])
        deadline = time.monotonic() + DEADLINE  # metering runs off the request path
        while time.monotonic() < deadline:
            keys = c.get(f"{m}/v1/me/keys", headers=bearer).json()["items"]
            if any(k["last_used_at"] for k in keys):
                break
            time.sleep(0.25)
        else:
            raise AssertionError("metering never recorded the calls")
    session = {"kind": "developer", "token": s["access_token"], "role": s["role"],
               "expiresAt": s["expires_at"], "accountId": s["account_id"],
               "consumerId": s["consumer_id"], "email": "grace@example.com"}
    return {"session": session, "used": used["key"], "idle": idle["key"]}


def test_keys_show_their_own_last_use_and_usage_shows_my_percentiles(tab, stack):
    world = developer_with_two_keys(stack)
    t = tab()
    t.login_as(world["session"])
    page = t.go("/keys")

    used = key_row(page, world["used"]).get_by_test_id("last-used")
    expect(used).to_have_text(re.compile(r"^\w{3} \d+, \d{4}, \d{2}:00\u2013\d{2}:00 UTC$"))
    expect(used.locator("time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00\.000Z$"))
    expect(key_row(page, world["idle"]).get_by_test_id("last-used")).to_have_text("Not yet")
    found = axe_violations(page)
    assert not found, describe(found)

    page = t.go("/usage")
    latency = page.get_by_role("region", name="Your latency percentiles per API")
    expect(latency.get_by_role("columnheader")).to_have_text(
        ["API", "Requests", "Errors", "p50", "p95", "p99"])
    row = latency.get_by_role("row").filter(has=page.get_by_role("rowheader", name="demo v2"))
    expect(row.get_by_role("cell")).to_have_count(5)
    expect(row.get_by_role("cell").nth(0)).to_have_text(re.compile(r"^[3-9]$"))
    for i in (2, 3, 4):
        expect(row.get_by_role("cell").nth(i)).to_have_text(re.compile(r"^[\d.,]+ ms$"))
    found = axe_violations(page)
    assert not found, describe(found)
