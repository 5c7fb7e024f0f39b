"""The administrator's insight views in a real browser (issues 13 and 14): analytics
(requests per hour by status class, p50/p95/p99, routes with error rates), deprecated
callers with "notify" and the local outbox, and the policies editor: a change round-trips
to the gateway within the cache TTL, an invalid one shows the server's 422 next to the
field. Every new page passes axe light and dark."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import portal_insight_support as support
from tests.e2e.portal_insight_support import (
    DEADLINE,
    admin_session,
    admin_tab,
    call,
    calls_until_admitted,
    developer,
    every_page_passes_axe,
    heading,
    management,
    until,
)
from tests.servers import client

pytestmark = pytest.mark.slow

# The module's own local stack (Chromium and tabs: tests/e2e/conftest.py).
stack = support.stack

HEADER = "X-Portal-Test"


@pytest.fixture(scope="module")
def traffic(stack) -> dict[str, Any]:
    """Linus calls v2 (200s and one 500) and the deprecated v1; metering records them."""
    linus = developer(stack, "linus@example.com", "pro")
    calls_until_admitted(stack, linus["key"], 4)
    assert call(stack, linus["key"], "/demo/v2/status/500") == 500
    calls_until_admitted(stack, linus["key"], 2, "/demo/v1/echo/old")

    def recorded() -> bool:
        rows = management(stack, "GET", "/v1/admin/analytics?by=route")["rows"]
        mine = {(r["api_id"], r["route"]): r["requests"] for r in rows}
        return mine.get(("demo-v2", "/status/{code}"), 0) >= 1 and \
            mine.get(("demo-v1", "/echo/*"), 0) >= 2
    until(recorded, "the calls in analytics")
    return linus


def test_admin_sees_analytics_by_hour_route_and_latency(tab, stack, traffic):
    t = admin_tab(tab, stack)
    page = t.go("/admin")
    page.get_by_role("navigation", name="Admin sections").get_by_role(
        "link", name="Analytics").click()
    heading(page, "Admin · Analytics")
    report = management(stack, "GET", "/v1/admin/analytics?by=api")["rows"]
    total = sum(r["requests"] for r in report)
    expect(page.get_by_test_id("analytics-totals").locator("[data-stat=requests] dd")).to_have_text(
        f"{total:,}")
    expect(page.get_by_role("img", name="Requests per hour to all APIs")).to_be_visible()
    routes = page.get_by_role("region", name="Per route, busiest first")
    failing = routes.locator("tr[data-api=demo-v2][data-route='/status/{code}']")
    expect(failing).to_have_class("has-diff")
    expect(failing.locator("td").nth(2)).to_contain_text("100.0 %")
    versions = page.get_by_role("region", name="Per API version")
    v2 = versions.locator("tr[data-api=demo-v2]")
    expect(v2.locator("td")).to_have_count(7)  # requests, errors, rate, avg, p50, p95, p99
    for cell in v2.locator("td").all()[4:]:
        expect(cell).to_contain_text("ms")

    # One version: p50/p95/p99 per day as lines, with the numbers behind them.
    page.get_by_label("API", exact=True).select_option("demo-v2")
    page.get_by_role("button", name="Show").click()
    latency = page.get_by_role("img", name="Latency of demo v2 per day (p50, p95, p99)")
    expect(latency).to_be_visible()
    expect(page.get_by_role("img", name="Requests per hour to demo v2")).to_be_visible()
    assert "api=demo-v2" in page.url

    # A bad period: the API's 422 detail is shown.
    page.get_by_label("From (UTC)").fill("2020-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_contain_text("at most 31 days apart")


def test_deprecated_callers_are_notified_once_and_the_outbox_shows_it(tab, stack, traffic):
    t = admin_tab(tab, stack)
    page = t.go("/admin/analytics")
    callers = page.get_by_test_id("deprecated-callers").locator("[data-api=demo-v1]")
    expect(callers).to_contain_text("linus")
    outbox = page.get_by_test_id("outbox")
    deprecation = outbox.locator("tr").filter(has=page.locator("code", has_text="deprecation"))
    expect(outbox.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(deprecation).to_have_count(0)  # (sign-up verification notices may be there)
    callers.get_by_role("button", name="Notify callers of demo v1").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Tell the callers of demo v1?")
    dialog.get_by_role("button", name="Send notices").click()
    expect(page.locator("#flash")).to_contain_text("Notices for demo v1: 1 sent")
    expect(deprecation).to_have_count(1)
    expect(deprecation).to_contain_text("linus@example.com")
    # Again: each consumer is told once.
    callers.get_by_role("button", name="Notify callers of demo v1").click()
    page.get_by_role("dialog").get_by_role("button", name="Send notices").click()
    expect(page.locator("#flash")).to_contain_text("0 sent, 1 already sent")
    expect(deprecation).to_have_count(1)


def gateway_header(stack: dict[str, Any], key: str) -> str | None:
    with client() as c:
        r = c.get(stack["gateway_url"] + "/demo/v2/echo/p", headers={"X-Api-Key": key})
    return r.headers.get(HEADER) if r.status_code == 200 else "?"


def until_header(stack: dict[str, Any], key: str, wanted: str | None) -> None:
    deadline = time.monotonic() + DEADLINE
    seen = []
    while time.monotonic() < deadline:
        seen.append(gateway_header(stack, key))
        if seen[-1] == wanted:
            return
        time.sleep(0.3)
    raise AssertionError(f"the gateway never answered with {HEADER}={wanted}: {seen[-5:]}")


def stored_header(stack: dict[str, Any]) -> Any:
    found = management(stack, "GET", "/v1/admin/apis/demo-v2")["policies"] or {}
    return ((found.get("transform") or {}).get("response_headers") or {}).get("set")


def save(page: Page, api_json: str | None = None, routes_json: str | None = None) -> None:
    if api_json is not None:
        page.get_by_label("API-wide policies of demo v2 (JSON)").fill(api_json)
    if routes_json is not None:
        page.get_by_label("Route policies (JSON)").fill(routes_json)
    page.get_by_role("button", name="Save policies").click()


def test_the_policies_editor_round_trips_to_the_gateway_and_shows_the_servers_422(
        tab, stack, traffic):
    key = traffic["key"]
    t = admin_tab(tab, stack)
    page = t.go("/admin/apis")
    page.get_by_role("link", name="Policies of demo v2").click()
    heading(page, "Admin · Policies")
    summary = page.get_by_test_id("policy-summary")
    expect(summary).to_contain_text("None.")
    api_field = page.get_by_label("API-wide policies of demo v2 (JSON)")
    expect(api_field).to_have_value("{}")

    policies = {"transform": {"response_headers": {"set": {HEADER: "yes"}}},
                "ip": {"deny": ["203.0.113.0/24"]}}
    save(page, json.dumps(policies))
    expect(page.locator("#flash")).to_contain_text(
        "saved. Gateways apply them within their cache TTL")
    expect(summary).to_contain_text(f"response headers: set {HEADER}: yes")
    expect(summary).to_contain_text("except 203.0.113.0/24 (403)")
    assert stored_header(stack) == {HEADER: "yes"}
    until_header(stack, key, "yes")  # within the cache TTL

    # Invalid: the server's 422 detail next to the field; nothing changes.
    save(page, json.dumps({"transform": {"request_headers": {"set": {"Authorization": "x"}}}}))
    expect(api_field).to_have_attribute("aria-invalid", "true")
    error = page.locator(".field-error").first
    expect(error).to_contain_text(
        "policies.transform.request_headers.set: Authorization carries credentials")
    assert stored_header(stack) == {HEADER: "yes"}

    # A route's own policy that the server refuses: named by its route.
    save(page, json.dumps(policies), json.dumps({"POST /echo/*": {"cache": {"ttl_seconds": 5}}}))
    expect(page.locator(".field-error").nth(1)).to_contain_text(
        "POST /echo/*: only GET and HEAD responses are cached")
    # Not JSON: said before anything is sent.
    save(page, "{")
    expect(page.locator(".field-error").first).to_contain_text("Not valid JSON")

    # A valid route policy, then clearing the API's: the gateway stops adding the header.
    page.reload()
    save(page, "{}", json.dumps({"GET /status/{code}": {"cost": 0}}))
    expect(page.locator("#flash")).to_contain_text("saved")
    expect(summary).to_contain_text("GET /status/{code}")
    expect(summary).to_contain_text("Free: requests count 0 units.")
    found = management(stack, "GET", "/v1/admin/apis/demo-v2")
    assert not found["policies"]
    own = next(r["policies"] for r in found["routes"] if r["path"] == "/status/{code}")
    assert own["cost"] == 0
    until_header(stack, key, None)


def test_every_insight_page_passes_axe_light_and_dark(tab, stack, traffic):
    management(stack, "PATCH", "/v1/admin/apis/demo-v2", json={"policies": {
        "cors": {"origins": ["https://app.example.com"]}, "cost": 2,
        "limits": [{"by": "header", "header": "X-Client", "rate_per_minute": 100,
                    "shadow": True}]}})
    pages = [(admin_session(stack), [
        ("admin-analytics", "/admin/analytics"),
        ("admin-analytics-api", "/admin/analytics?api=demo-v2"),
        ("admin-policies", "/admin/policies"),
        ("admin-policies-api", "/admin/policies?api=demo-v2"),
    ])]
    assert every_page_passes_axe(tab, pages) == 3 * 4
