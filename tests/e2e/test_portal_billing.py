"""The portal's money views in a real browser (issue 14): a developer's statements, CSV and
quota meter (their own only); an administrator's per-consumer billing: closing a month and
the reconciliation table with a real difference and its cause. Every new page passes axe
light and dark. Runs against ``tollway local`` like tests/e2e/test_portal_browser.py."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import portal_insight_support as support
from tests.e2e.portal_insight_support import (
    admin_tab,
    call,
    calls_until_admitted,
    cents,
    developer,
    every_page_passes_axe,
    heading,
    management,
    until,
)

pytestmark = pytest.mark.slow

# The module's own local stack (Chromium and tabs: tests/e2e/conftest.py).
stack = support.stack

people: dict[str, Any] = {}  # what the module's tests share (file order; -x stops early)


def counted(statement: dict[str, Any]) -> int:
    """Units on the statement: billed on its lines plus unbilled. An hour's units go to the
    plan in force at HH:30:00 (docs/billing.md), so calls in the hour someone subscribed
    after its midpoint are unbilled: both are shown, the test reads which from the API."""
    return sum(x["units"] for x in statement["lines"]) + sum(
        statement["unbilled_units_by_api"].values())


def last_month() -> str:
    now = datetime.now(UTC)
    y, m = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{y}-{m:02d}"


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def month_name(period: str) -> str:
    y, m = period.split("-")
    return f"{MONTHS[int(m) - 1]} {y}"


@pytest.fixture(scope="module")
def metered(stack) -> dict[str, Any]:
    """Ada on a metered plan (quota 10 a month) with 7 calls; Grace on free with one."""
    plan = management(stack, "POST", "/v1/admin/plans", json={
        "name": "Metered", "apis": ["demo"], "rate_per_second": 50, "quota_per_month": 10,
        "monthly_fee_cents": 3000, "included_requests": 2, "overage_cents_per_1000": 100000})
    ada = developer(stack, "ada@example.com", plan["id"])
    grace = developer(stack, "grace@example.com", "free")
    calls_until_admitted(stack, ada["key"], 7)
    calls_until_admitted(stack, grace["key"], 1)
    until(lambda: counted(management(stack, "GET", "/v1/me/billing/preview", ada["token"]))
          == 7, "Ada's 7 calls metered")
    people.update(ada=ada, grace=grace, plan=plan)
    return people


def test_a_developer_sees_their_quota_meter_and_only_their_own_statement(tab, stack, metered):
    ada, grace = metered["ada"], metered["grace"]
    t = tab()
    t.login_as(ada["session"])
    page = t.go("/usage")
    heading(page, "Usage")
    meter = page.get_by_role("meter")
    expect(meter).to_have_count(1)
    expect(meter).to_have_attribute("aria-valuenow", "70")
    expect(page.get_by_test_id("quota")).to_contain_text("70 % of this month's quota used")
    expect(page.get_by_test_id("quota")).to_contain_text("7 of 10 units")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    heading(page, "Billing")
    preview = management(stack, "GET", "/v1/me/billing/preview", ada["token"])
    statement = page.get_by_test_id("statement")
    expect(statement.get_by_role("heading", level=2)).to_contain_text("preview")
    expect(statement.locator("tbody tr")).to_have_count(1)
    row = statement.locator("tbody tr")
    expect(row.locator("th")).to_contain_text("Metered")
    expect(row.locator("td").nth(2)).to_have_text(str(preview["lines"][0]["units"]))
    unbilled = preview["unbilled_units_by_api"].get("demo", 0)
    if unbilled:  # subscribed after this hour's midpoint
        expect(page.get_by_test_id("unbilled")).to_contain_text(f"demo: {unbilled} units")
    expect(row.locator("td").nth(3)).to_have_text(str(preview["lines"][0]["allowance"]))
    expect(page.get_by_test_id("statement-total")).to_have_text(cents(preview["total_cents"]))
    assert preview["total_cents"] > 0
    expect(page.locator("[data-period]")).to_have_count(1)  # the open month only

    with page.expect_download() as got:
        statement.get_by_role("button", name=re.compile("^Download CSV")).click()
    csv = got.value
    text = Path(csv.path()).read_text()
    assert ada["consumer"] in csv.suggested_filename
    assert "Metered" in text and "TOTAL" in text and str(preview["total_cents"]) in text
    assert grace["consumer"] not in text

    # Grace sees her own (free, nothing to pay), nothing of Ada's, and no monthly meter.
    g = tab()
    g.login_as(grace["session"])
    page = g.go("/billing")
    heading(page, "Billing")
    expect(page.get_by_test_id("statement")).to_contain_text("Free")
    expect(page.get_by_test_id("statement")).not_to_contain_text("Metered")
    expect(page.get_by_test_id("statement-total")).to_have_text("$0.00")
    page = g.go("/usage")
    heading(page, "Usage")
    expect(page.get_by_test_id("usage-totals")).to_be_visible()
    expect(page.get_by_role("meter")).to_have_count(0)


def a_cancelled_caller(stack) -> dict[str, Any]:
    """Hopper calls on pro, then cancels before the hour's midpoint: an hour's units go to
    the plan in force at HH:30:00 (docs/billing.md), so they end up unbilled — a real
    difference in reconciliation. Never straddle HH:30:00 while subscribed: within 30 s
    before it, subscribe just after it (a subscription made after the midpoint is not in
    force at it: docs/billing.md), at most a 31 s wait (65 s before)."""
    into_hour = time.time() % 3600
    if 1770 <= into_hour < 1801:
        time.sleep(1801 - into_hour)
    hopper = developer(stack, "hopper@example.com", "pro")
    calls_until_admitted(stack, hopper["key"], 3)
    period = datetime.now(UTC).strftime("%Y-%m")
    path = f"/v1/admin/billing/{hopper['consumer']}/reconciliation?period={period}"
    until(lambda: management(stack, "GET", path)["rows"][0]["metered"] == 3, "3 metered")
    management(stack, "DELETE", f"/v1/me/subscriptions/{hopper['subscription']}",
               hopper["token"])
    found = management(stack, "GET", path)
    assert [d["between"] for d in found["differences"]] == ["unbilled"], found
    return hopper


def test_admin_reconciles_closes_a_month_and_sees_a_difference_with_its_cause(tab, stack,
                                                                              metered):
    ada = metered["ada"]
    period = datetime.now(UTC).strftime("%Y-%m")
    recon = f"/v1/admin/billing/{ada['consumer']}/reconciliation?period={period}"
    found = until(lambda: (r := management(stack, "GET", recon))["rows"][0]["metered"] == 7
                  and r, "Ada's calls metered")
    t = admin_tab(tab, stack)
    page = t.go("/admin/billing")
    heading(page, "Admin · Billing")
    page.get_by_role("link", name="Billing of ada").click()
    statement = page.get_by_test_id("statement")
    expect(statement).to_contain_text("Metered")
    expect(statement.get_by_role("heading", level=2)).to_contain_text("preview")
    table = page.get_by_test_id("reconciliation")
    row = found["rows"][0]
    expect(table.locator("tr[data-api=demo] td")).to_have_text(
        [re.compile(f"^{row[k]}") for k in ("admitted", "metered", "billed", "unbilled")])
    if found["differences"]:  # units of this hour went unbilled (subscribed after HH:30)
        expect(table.locator("tr[data-difference]")).to_have_count(len(found["differences"]))
    else:
        expect(page.get_by_test_id("recon-agrees")).to_be_visible()

    # Close last month (ended: allowed) after a confirmation; it is listed as final.
    last = last_month()
    page.get_by_label("Month to close (UTC)").fill(last)
    page.get_by_role("button", name="Close month…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Close {month_name(last)}")
    dialog.get_by_role("button", name="Close the month").click()
    expect(page.locator("#flash")).to_contain_text(f"{month_name(last)} is closed")
    expect(page.get_by_test_id("statement").get_by_role("heading", level=2)).to_contain_text(
        f"{month_name(last)} final", ignore_case=True)
    expect(page.locator(f"tr[data-period='{last}']")).to_contain_text("final", ignore_case=True)
    closed = management(stack, "GET", f"/v1/admin/billing/{ada['consumer']}/statements")
    assert [s["status"] for s in closed["items"] if s["period"] == last] == ["closed"]

    # The current month cannot be closed yet: the API's 409 is shown as it is.
    page.get_by_label("Month to close (UTC)").evaluate(
        "(el, p) => { el.removeAttribute('max'); el.value = p; }", period)
    page.get_by_role("button", name="Close month…").click()
    page.get_by_role("dialog").get_by_role("button", name="Close the month").click()
    expect(page.get_by_role("alert")).to_contain_text("has not ended yet")

    # A consumer whose usage no subscription covered: the difference and its cause.
    hopper = a_cancelled_caller(stack)
    people["hopper"] = hopper
    page = t.go(f"/admin/billing?consumer={hopper['consumer']}")
    table = page.get_by_test_id("reconciliation")
    expect(table.locator("tr.has-diff[data-api=demo]")).to_have_count(1)
    expect(table.locator("tr[data-api=demo] td.diff")).to_contain_text("3")
    diff = table.locator("tr[data-difference=unbilled]")
    expect(diff).to_contain_text("+3")
    expect(diff).to_contain_text("no active subscription")
    expect(page.get_by_test_id("unbilled")).to_contain_text("demo: 3 units")


def test_every_billing_page_passes_axe_light_and_dark(tab, stack, metered):
    ada = metered["ada"]
    hopper = people.get("hopper") or a_cancelled_caller(stack)
    pages = [
        (ada["session"], [("billing", "/billing"), ("usage-quota", "/usage")]),
        ({"kind": "admin", "token": stack["admin_token"], "role": "admin",
          "email": "Administrator"},
         [("admin-billing", "/admin/billing"),
          ("admin-billing-consumer", f"/admin/billing?consumer={ada['consumer']}"),
          ("admin-billing-difference", f"/admin/billing?consumer={hopper['consumer']}")]),
    ]
    assert every_page_passes_axe(tab, pages) == 3 * 5
    assert call(stack, ada["key"]) in (200, 429)  # the stack still serves
