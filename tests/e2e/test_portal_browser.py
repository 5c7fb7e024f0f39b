"""The developer portal in a real browser: Debian's Chromium driven by Playwright against
``tollway local`` (gateway, management API, portal) started as a subprocess.

One developer's journey runs through the module in order: sign up, catalog and docs,
subscribe, a key shown once, a call through the gateway, usage, try it (on its page and
inside the API reference, with code samples), rotate, revoke. A second developer changes
plan instead of holding two, and an administrator (admin token) manages plans, APIs,
approvals, looks at a consumer's subscriptions and the audit log, and suspends the first
developer. Every page then passes axe-core (WCAG 2.1 A/AA: no serious or critical
violation) in light and dark mode, and is saved as a screenshot at 1280x800 and 390x844
under test-artifacts/portal/ (git-ignored; CI keeps it as an artifact).

Every tab refuses and records any request to a host other than 127.0.0.1: the portal, its
API reference and the management API's Swagger UI (/v1/docs) work offline, or this fails.

Chromium is not optional here: without /usr/bin/chromium the tests fail (``make test``
installs it first, see mk/portal.mk).
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.portal_support import (
    ARTIFACTS,
    SIZES,
    Tab,
    axe_violations,
    describe,
    screenshot,
)
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow

PORTAL = Path(__file__).resolve().parents[2] / "portal_static"
PASSWORD = "correct horse battery staple"
DEV1 = "ada@example.com"
DEV2 = "grace@example.com"
SHOTS = ARTIFACTS / "journey"
DEADLINE = 20.0  # seconds; the stack's cache TTL is 1 s and metering is a background thread

DEMO_DOC = {
    "openapi": "3.1.0",
    "info": {"title": "Demo echo", "version": "2.0.0", "description": "Echoes what it gets."},
    "paths": {
        "/echo/{message}": {
            "parameters": [
                {"name": "message", "in": "path", "required": True,
                 "schema": {"type": "string"}, "description": "Anything to echo back."}
            ],
            "get": {
                "summary": "Echo a message",
                "operationId": "echoGet",
                "parameters": [{"$ref": "#/components/parameters/Verbose"}],
                "responses": {
                    "200": {"description": "The request as the upstream saw it.",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Echo"}}}},
                    "429": {"description": "Over the plan's rate limit."},
                },
            },
            "post": {
                "summary": "Echo a JSON body",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "object"}}}},
                "responses": {"200": {"description": "The body, echoed."}},
            },
        },
        "/status/{code}": {
            "get": {
                "summary": "Answer with a status code",
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "integer", "format": "int32"}}],
                "responses": {"default": {"description": "Whatever status was asked for."}},
            }
        },
    },
    "components": {
        "parameters": {"Verbose": {"name": "verbose", "in": "query",
                                   "schema": {"type": "boolean", "default": False},
                                   "description": "Include headers in the echo."}},
        "schemas": {"Echo": {"type": "object"}},
    },
}

# Two shared cores and a stack under other tests' load: be patient, but bounded.
expect.set_options(timeout=15_000)

# What the journey learns as it goes (tests run in file order; -x stops at the first failure).
journey: dict[str, Any] = {}


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("portal") / "data"
    with local_stack(data) as state:
        with client() as c:
            r = c.put(f"{state['management_url']}/v1/admin/apis/demo-v2/openapi", json=DEMO_DOC,
                      headers=admin_headers(state))
            assert r.status_code == 200, r.text
        yield state



@pytest.fixture(scope="module")
def dev(browser, stack) -> Iterator[Tab]:
    """The first developer's tab, kept across the journey."""
    tab = Tab(browser, stack)
    yield tab
    tab.close()



# --- helpers ---------------------------------------------------------------------------------


def admin_headers(stack: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack['admin_token']}"}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def gateway_get(stack: dict[str, Any], key: str) -> httpx.Response:
    with client() as c:
        return c.get(stack["gateway_url"] + "/demo/v2/echo/hello", headers={"X-Api-Key": key})


def until_status(stack: dict[str, Any], key: str, wanted: int, passing: set[int]) -> None:
    """Call the gateway until it answers ``wanted`` (the cache TTL bounds how long)."""
    deadline = time.monotonic() + DEADLINE
    seen = []
    while time.monotonic() < deadline:
        status = gateway_get(stack, key).status_code
        seen.append(status)
        if status == wanted:
            return
        assert status in passing, seen
        time.sleep(0.25)
    raise AssertionError(f"the gateway never answered {wanted}: {seen}")


def sign_up(page: Page, email: str, name: str | None = None) -> None:
    page.locator("#account").get_by_role("link", name="Sign up").click()
    page.get_by_label("E-mail").fill(email)
    if name:
        page.get_by_label("Name (optional)").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1, name="Plans")).to_be_visible()


def session_token(page: Page) -> str:
    return page.evaluate("JSON.parse(sessionStorage.getItem('tollway.session')).token")


def key_row(page: Page, key: str):
    """The keys-table row whose hint ends with the key's last four characters."""
    return page.locator("tbody tr").filter(has=page.locator("code", has_text=f"…{key[-4:]}"))


def admin_section(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Admin · {name}")


def admin_login(t: Tab, stack: dict[str, Any]) -> Page:
    page = t.go("/login")
    page.get_by_label("Admin token").fill("adm_not-the-token")
    page.get_by_role("button", name="Log in as administrator").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid")
    page.get_by_label("Admin token").fill(stack["admin_token"])
    page.get_by_role("button", name="Log in as administrator").click()
    expect(page.get_by_role("heading", level=1, name="Admin · Plans")).to_be_visible()
    return page


# --- the developer's journey -------------------------------------------------------------------


def test_catalog_lists_published_and_deprecated_apis_with_sunset_and_renders_openapi(dev, stack):
    page = dev.go("/")
    cards = page.locator(".api-card")
    expect(cards).to_have_count(2)  # v0 is retired: not in the catalog
    v2, v1 = page.locator("[data-api=demo-v2]"), page.locator("[data-api=demo-v1]")
    expect(v2).to_contain_text("published")
    expect(v1).to_contain_text("deprecated")
    sunset = httpx.get(f"{stack['management_url']}/v1/catalog/demo-v1").json()["sunset_at"]
    expect(v1.locator("time")).to_have_attribute("datetime", sunset)
    checklist = page.get_by_test_id("getting-started")
    expect(checklist).to_contain_text("0 of 4 steps done.")
    expect(checklist.get_by_role("link")).to_have_text(
        ["Sign up", "Pick a plan", "Create a key", "Try it"])
    shot(page, "catalog")

    v2.get_by_role("link", name="Read the docs for demo v2").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("demo v2")
    expect(page.get_by_text(f"{stack['gateway_url']}/demo/v2", exact=True)).to_be_visible()
    get_echo = page.locator("[data-operation='GET /echo/{message}']")
    expect(get_echo).to_contain_text("Echo a message")
    get_echo.locator("summary").click()
    params = get_echo.locator("table").first
    expect(params).to_contain_text("message")  # from the path item
    expect(params).to_contain_text("verbose")  # through a $ref
    expect(params).to_contain_text("boolean, default false")
    expect(get_echo).to_contain_text("The request as the upstream saw it.")
    post_echo = page.locator("[data-operation='POST /echo/{message}']")
    expect(post_echo).to_contain_text("Echo a JSON body")
    shot(page, "api-doc")

    # The deprecated version shows its notice and the document `make run` seeded for it.
    page = dev.go("/catalog/demo-v1")
    expect(page.get_by_role("note")).to_contain_text("deprecated")
    expect(page.locator("[data-operation='GET /echo/{rest}']")).to_contain_text("Echo a GET")


def test_developer_signs_up_subscribes_to_free_and_gets_a_key_shown_once(dev, stack):
    page = dev.go("/")
    sign_up(page, DEV1, name="Ada's app")
    expect(page.locator(".who")).to_have_text(DEV1)
    shot(page, "plans")

    free = page.locator("[data-plan=free]")
    free.get_by_role("button", name="Subscribe to Free").click()
    expect(page.locator("[data-plan=free] .sub-state")).to_contain_text("subscribed")
    expect(page.locator("#flash")).to_contain_text("You are subscribed to Free")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
    expect(page.get_by_text("You have no keys yet.")).to_be_visible()
    page = dev.go("/")  # the checklist follows along
    checklist = page.get_by_test_id("getting-started")
    expect(checklist).to_contain_text("2 of 4 steps done.")
    expect(checklist.locator("li.done")).to_have_count(2)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    panel = page.locator(".secret-panel")
    expect(panel).to_contain_text("only time the key is shown")
    key = page.get_by_test_id("new-key").input_value()
    assert re.fullmatch(r"tw_[A-Za-z0-9]{20,}", key), key
    row = key_row(page, key)
    expect(row).to_contain_text("laptop")
    expect(row).to_contain_text("active")
    assert key not in page.locator("table").inner_text()  # the list shows the hint only
    journey.update(key=key, key_id=row.get_attribute("data-key"))
    shot(page, "keys")

    panel.get_by_role("button", name=re.compile("dismiss")).click()
    expect(panel).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1, name="API keys")).to_be_visible()
    expect(key_row(page, key)).to_be_visible()  # still logged in: the session survives reload
    assert key not in page.content()
    storage = page.evaluate("JSON.stringify([{...sessionStorage}, {...localStorage}])")
    assert key not in storage and journey["key_id"]

    assert gateway_get(stack, key).status_code == 200


def test_usage_view_shows_the_call(dev):
    page = dev.go("/usage")
    requests = page.locator("[data-stat=requests] dd")
    deadline = time.monotonic() + DEADLINE
    while requests.inner_text() == "0" and time.monotonic() < deadline:
        time.sleep(0.5)
        page.get_by_role("button", name="Refresh").click()
        expect(page.get_by_role("button", name="Refresh")).to_be_enabled()
    expect(requests).to_have_text("1")
    chart = page.locator("svg.chart")
    expect(chart.locator("rect.s2xx")).to_have_count(1)
    expect(chart.locator("desc")).to_contain_text("1 request over")
    shot(page, "usage")

    page.get_by_text("By hour, last 48 hours").click()
    expect(page.locator("svg.chart title").first).to_contain_text("By hour")
    expect(page.locator("svg.chart rect.s2xx")).to_have_count(1)

    # Every getting-started step is done now: the checklist steps aside.
    page = dev.go("/")
    expect(page.locator(".api-card").first).to_be_visible()
    expect(page.get_by_test_id("getting-started")).to_have_count(0)


def test_try_it_calls_the_gateway_from_the_browser_and_offers_working_code(dev, stack):
    page = dev.go("/try")
    expect(page.get_by_label("Route")).to_contain_text("GET /demo/v2/echo/*")
    # No probe call: loading the page logs nothing (it used to log a 401 in the console).
    expect(page.get_by_role("tab", name="curl")).to_be_visible()
    assert not [e for e in dev.console_errors if "401" in e], dev.console_errors
    page.get_by_label("API key").fill(journey["key"])
    curl = page.get_by_role("tabpanel").locator("pre").inner_text()
    assert f"{stack['gateway_url']}/demo/v2/echo/hello" in curl and "$TOLLWAY_KEY" in curl
    assert journey["key"] not in page.locator("pre").all_inner_texts()  # samples read the env
    send = page.get_by_role("button", name="Send request")
    send.click()
    status = page.locator(".status-line .status")
    expect(status).to_have_text(re.compile(r"^(200|429)$"))
    expect(page.get_by_test_id("cors-note")).to_have_count(0)
    expect(page.get_by_role("table", name="Response headers")).to_contain_text("ratelimit")
    body = page.get_by_role("region", name="Response body")
    expect(body).to_have_attribute("tabindex", "0")  # a scrolled body is keyboard-reachable
    shot(page, "try")

    # The command is ready to run: replay exactly what it says, with the key from the env.
    argv = shlex.split(curl.replace("$TOLLWAY_KEY", journey["key"]))
    assert argv[:2] == ["curl", "-i"] and argv[2] == "-H"
    name, value = argv[3].split(": ", 1)
    with client() as c:
        assert c.get(argv[4], headers={name: value}).status_code in (200, 429)

    # Python and JavaScript, one tab away (arrow keys move between the tabs).
    page.get_by_role("tab", name="curl").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Python")).to_be_focused()
    expect(page.get_by_role("tabpanel")).to_contain_text('requests.request(\n    "GET"')
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tabpanel")).to_contain_text("await fetch(")

    page.get_by_label("Method").select_option("POST")
    page.get_by_label("Request body (JSON)").fill('{"it\'s": 1}')
    page.get_by_role("tab", name="curl").click()
    argv = shlex.split(page.get_by_role("tabpanel").locator("pre").inner_text())
    assert argv[argv.index("--data") + 1] == '{"it\'s": 1}'
    assert argv[argv.index("-X") + 1] == "POST"
    page.get_by_role("tab", name="Python").click()
    expect(page.get_by_role("tabpanel")).to_contain_text('json={"it\'s":1}')


def test_the_api_reference_has_code_samples_and_try_it_per_operation(dev, stack):
    page = dev.go("/catalog/demo-v2")
    op = page.locator("[data-operation='GET /status/{code}']")
    op.locator("summary").click()
    samples = op.get_by_test_id("code-samples")
    expect(samples.get_by_role("tab")).to_have_text(["curl", "Python", "JavaScript"])
    expect(samples.get_by_role("tabpanel")).to_contain_text(
        f"{stack['gateway_url']}/demo/v2/status/200")
    op.get_by_label("code (path)").fill("418")
    expect(samples.get_by_role("tabpanel")).to_contain_text("/demo/v2/status/418")
    samples.get_by_role("tab", name="JavaScript").click()
    expect(samples.get_by_role("tabpanel")).to_contain_text(
        f'fetch("{stack["gateway_url"]}/demo/v2/status/418"')

    # Try it, inside the reference, with the key entered once above it.
    op.get_by_role("button", name="Send request").click()
    expect(op.get_by_role("alert")).to_contain_text("Enter an API key")
    page.get_by_label("API key for “Try it”").fill(journey["key"])
    op.get_by_label("code (path)").fill("201")
    op.get_by_role("button", name="Send request").click()
    expect(op.locator(".status-line .status")).to_have_text(re.compile(r"^(201|429)$"))
    shot(page, "api-doc-try")


def test_the_management_api_reference_works_offline(tab, stack):
    t = tab()
    page = t.page
    page.goto(f"{stack['management_url']}/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tollway management API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/v1/auth/signup")
    screenshot(page, "management-api-docs", "desktop")
    assert not t.external  # and Tab.close() fails the test on any


def test_rotate_with_grace_then_revoke_with_confirmation(dev, stack):
    page = dev.go("/keys")
    old = journey["key"]
    key_row(page, old).get_by_role("button", name=re.compile("^Rotate")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Grace period for the old key").select_option(label="1 hour")
    shot(page, "rotate-dialog")
    dialog.get_by_role("button", name="Rotate key").click()
    expect(dialog).to_have_count(0)
    new = page.get_by_test_id("new-key").input_value()
    assert new != old and new.startswith("tw_")
    expect(page.locator(".secret-panel")).to_contain_text("keeps working until")
    # The two keys share a name: the old one says it was replaced and when it stops.
    old_row = key_row(page, old)
    expect(old_row).to_contain_text("old key")
    expect(old_row).to_contain_text("Replaced by a rotation")
    expires = old_row.get_by_test_id("expires")
    expect(expires).to_contain_text(re.compile(r"^expires \w{3} \d+, \d{4}, .* UTC$"))
    expect(key_row(page, new)).not_to_contain_text("old key")
    expect(key_row(page, new)).not_to_contain_text("expires")
    expect(page.locator("tbody tr")).to_have_count(2)
    # "Last used", per key from metering: the old key made the calls above, the new none.
    last_used = old_row.get_by_test_id("last-used")
    expect(last_used).to_contain_text(re.compile(r"\d{2}:00\u2013\d{2}:00 UTC"))
    expect(key_row(page, new).get_by_test_id("last-used")).to_have_text("Not yet")
    shot(page, "keys-rotated")
    assert gateway_get(stack, new).status_code in (200, 429)
    assert gateway_get(stack, old).status_code in (200, 429)  # the grace period

    # Cancelling the confirmation revokes nothing.
    key_row(page, new).get_by_role("button", name=re.compile("^Revoke")).click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(key_row(page, new)).to_contain_text("active")

    key_row(page, new).get_by_role("button", name=re.compile("^Revoke")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("cannot be undone")
    dialog.get_by_role("button", name="Revoke key").click()
    expect(key_row(page, new)).to_contain_text("revoked")
    expect(key_row(page, new).get_by_role("button")).to_have_count(0)
    until_status(stack, new, 401, passing={200, 429})
    journey["new_key"] = new


def test_a_second_developer_cannot_see_the_first_ones_keys(tab, stack):
    t = tab()
    page = t.go("/")
    sign_up(page, DEV2)
    expect(page.locator("[data-plan=free] .sub-state")).to_have_count(0)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Keys").click()
    expect(page.get_by_text("You have no keys yet.")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("no active subscription")
    assert journey["key"][-4:] not in page.locator("main").inner_text()

    bearer = {"Authorization": f"Bearer {session_token(page)}"}
    with client() as c:
        url = f"{stack['management_url']}/v1/me/keys/{journey['key_id']}"
        assert c.get(url, headers=bearer).status_code == 404
        assert c.delete(url, headers=bearer).status_code == 404
        assert c.get(f"{stack['management_url']}/v1/me/keys", headers=bearer).json()["items"] == []


def log_in(page: Page, email: str) -> None:
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="API keys")).to_be_visible()


def test_a_developer_changes_plan_instead_of_holding_two_for_one_api(tab, stack):
    t = tab()
    page = t.go("/login")
    log_in(page, DEV2)
    page = t.go("/plans")
    expect(page.locator("[data-plan=pro]")).to_be_visible()
    names = page.locator(".plan-card h2").all_inner_texts()
    assert names.index("Free") < names.index("Pro"), names  # cheapest first, not by name
    page.locator("[data-plan=free]").get_by_role("button", name="Subscribe to Free").click()
    expect(page.locator("[data-plan=free] .sub-state")).to_contain_text("subscribed")

    pro = page.locator("[data-plan=pro]")
    expect(pro.get_by_role("button", name="Subscribe to Pro")).to_have_count(0)
    pro.get_by_role("button", name="Switch to Pro").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("moves from Free to Pro")
    dialog.get_by_role("button", name="Switch to Pro").click()
    expect(page.locator("#flash")).to_contain_text("You switched from Free to Pro.")
    expect(page.locator("[data-plan=pro] .sub-state")).to_contain_text("subscribed")
    expect(page.locator("[data-plan=free] .sub-state")).to_have_count(0)
    free = page.locator("[data-plan=free]")
    expect(free.get_by_role("button", name="Switch to Free")).to_be_visible()
    shot(page, "plans-switched")

    bearer = {"Authorization": f"Bearer {session_token(page)}"}
    subs = httpx.get(f"{stack['management_url']}/v1/me/subscriptions", headers=bearer).json()
    assert [(s["plan_id"], s["status"]) for s in subs["items"]] == [("pro", "active")]


def test_problem_documents_are_shown_as_readable_messages(tab):
    t = tab()
    page = t.go("/login")
    page.get_by_label("E-mail").fill(DEV1)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("The e-mail address or password is wrong.")

    page = t.go("/signup")
    page.get_by_label("E-mail").fill(DEV1)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("An account with this e-mail address exists")

    # Routes for developers send an anonymous visitor to the log-in page.
    page = t.go("/keys")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    expect(page.locator("#flash")).to_contain_text("Log in to see that page.")


def test_admin_manages_plans_and_approves_a_subscription(tab, dev, stack):
    t = tab()
    page = admin_login(t, stack)
    page.get_by_role("button", name="New plan").click()
    form = page.locator(".plan-form")
    form.get_by_label("Name").fill("Partner")
    form.get_by_label("APIs granted").fill("demo")
    form.get_by_label("Per minute").fill("100")
    form.get_by_label("Monthly fee").fill("10")
    form.get_by_label("Overage per 1,000").fill("0.25")
    form.get_by_label("Subscriptions need an administrator\u2019s approval").check()
    form.get_by_role("button", name="Create plan").click()
    row = page.locator("tbody tr").filter(has_text="Partner")
    expect(row).to_contain_text("$10.00 / month")
    expect(row).to_contain_text("100 requests per minute")
    expect(row).to_contain_text("required")
    shot(page, "admin-plans")

    row.get_by_role("button", name="Edit Partner").click()
    page.locator(".plan-form").get_by_label("Per minute").fill("120")
    page.locator(".plan-form").get_by_role("button", name="Save changes").click()
    expect(row).to_contain_text("120 requests per minute")

    # The developer (on Free, which grants the same API) asks to switch: Free keeps
    # working until an administrator approves, and approval replaces it.
    dpage = dev.go("/plans")
    expect(dpage.locator("[data-plan=pro]")).to_be_visible()
    names = dpage.locator(".plan-card h2").all_inner_texts()
    assert names.index("Free") < names.index("Partner") < names.index("Pro"), names  # by price
    partner = dpage.locator(".plan-card").filter(has_text="Partner")
    expect(partner).to_contain_text("$10.00 / month")
    expect(partner.get_by_role("button", name="Request Partner")).to_have_count(0)
    partner.get_by_role("button", name="Request a switch to Partner").click()
    dialog = dpage.get_by_role("dialog")
    expect(dialog).to_contain_text("Your Free plan keeps working until then")
    dialog.get_by_role("button", name="Request a switch to Partner").click()
    partner = dpage.locator(".plan-card").filter(has_text="Partner")
    expect(partner).to_contain_text("pending approval")
    expect(partner).to_contain_text("your Free plan keeps working")
    expect(dpage.locator("[data-plan=free] .sub-state")).to_contain_text("subscribed")
    expect(dpage.locator("#flash")).to_contain_text("pending approval")
    shot(dpage, "plans-pending")

    admin_section(page, "Approvals")
    pending = page.locator("tbody tr").filter(has_text="Ada's app")
    expect(pending).to_contain_text(DEV1)  # who asked, by e-mail
    expect(pending).to_contain_text("Partner")
    pending.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("No subscription is waiting for approval.")).to_be_visible()
    dpage.reload()
    expect(dpage.locator(".plan-card").filter(has_text="Partner")).to_contain_text("subscribed")
    expect(dpage.locator("[data-plan=free] .sub-state")).to_have_count(0)  # replaced
    expect(dpage.locator("[data-plan=free]").get_by_role(
        "button", name="Switch to Free")).to_be_visible()

    # Retire it: gone from the developers' list of plans open for subscription.
    admin_section(page, "Plans")
    page.locator("tbody tr").filter(has_text="Partner").get_by_role(
        "button", name="Retire Partner").click()
    page.get_by_role("dialog").get_by_role("button", name="Retire plan").click()
    expect(page.locator("tbody tr").filter(has_text="Partner")).to_contain_text("retired")
    # The developer still sees (and may cancel) a subscription to the retired plan.
    dpage.reload()
    expect(dpage.locator(".plan-card").filter(has_text="Partner")).to_have_count(0)
    retired = dpage.get_by_role("region", name="Your subscriptions to retired plans")
    expect(retired.locator("tbody tr")).to_have_count(1)
    expect(retired).to_contain_text("subscribed")


def test_admin_moves_an_api_along_its_lifecycle(tab, stack):
    with client() as c:
        r = c.post(f"{stack['management_url']}/v1/admin/apis", headers=admin_headers(stack), json={
            "name": "weather", "version": "v1", "base_path": "/weather/v1",
            "upstreams": [{"url": stack["upstream_url"]}], "description": "Forecasts."})
        assert r.status_code == 201, r.text
    t = tab()
    page = admin_login(t, stack)
    admin_section(page, "APIs")
    row = page.locator("tr[data-api]").filter(has_text="weather")
    expect(row).to_contain_text("draft")
    row.get_by_role("button", name="Publish weather v1").click()
    page.get_by_role("dialog").get_by_role("button", name="Publish").click()
    expect(row).to_contain_text("published")

    row.get_by_role("button", name="Deprecate weather v1").click()
    dialog = page.get_by_role("dialog")
    sunset_year = time.gmtime().tm_year + 2  # in the future, within the API's 10-year bound
    dialog.get_by_label("Sunset date (UTC)").fill(f"{sunset_year}-12-31")
    dialog.get_by_role("button", name="Deprecate").click()
    expect(row).to_contain_text("deprecated")
    expect(row).to_contain_text(f"Dec 31, {sunset_year}")
    shot(page, "admin-apis")

    # Its OpenAPI document, pasted as JSON: a typo is reported, then the fixed one stored.
    upload = row.get_by_role("button", name="Upload the OpenAPI document of weather v1")
    upload.click()
    page.get_by_role("dialog").get_by_label("Document (JSON)").fill("{not json")
    page.get_by_role("dialog").get_by_role("button", name="Store document").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    upload.click()
    doc = ('{"openapi": "3.0.3", "info": {"title": "Weather", "version": "1"}, "paths": '
           '{"/forecast": {"get": {"summary": "Tomorrow\'s forecast", "responses": '
           '{"200": {"description": "A forecast."}}}}}}')
    page.get_by_role("dialog").get_by_label("Document (JSON)").fill(doc)
    page.get_by_role("dialog").get_by_role("button", name="Store document").click()
    expect(page.locator("#flash")).to_contain_text("Stored the OpenAPI document")

    page = t.go("/")
    weather = page.locator(".api-card").filter(has_text="weather")
    expect(weather).to_contain_text(f"sunset Dec 31, {sunset_year}")
    weather.get_by_role("link", name="Read the docs for weather v1").click()
    expect(page.locator("[data-operation='GET /forecast']")).to_contain_text("Tomorrow's forecast")


def test_admin_sees_usage_and_audit_and_suspends_the_developer(tab, dev, stack):
    t = tab()
    page = admin_login(t, stack)
    admin_section(page, "Usage")
    top = page.locator("tbody tr").filter(has_text="Ada's app")
    expect(top).to_be_visible()
    top.get_by_role("link", name="Ada's app").click()
    expect(page.get_by_role("heading", name="Usage of Ada's app")).to_be_visible()
    expect(page.locator("svg.chart rect.s2xx").first).to_be_visible()
    shot(page, "admin-usage")

    # A consumer's subscriptions and per-consumer overrides, one click from the list.
    admin_section(page, "Consumers")
    row = page.locator("tr[data-consumer]").filter(has_text="Ada's app")
    expect(row).to_contain_text(DEV1)  # the owner by e-mail, not an account id
    consumer_id = row.get_attribute("data-consumer")
    subs = httpx.get(f"{stack['management_url']}/v1/admin/consumers/{consumer_id}/subscriptions",
                     headers=admin_headers(stack)).json()["items"]
    partner = next(s for s in subs if s["status"] == "active")
    with client() as c:
        r = c.patch(f"{stack['management_url']}/v1/admin/consumers/{consumer_id}/subscriptions/"
                    f"{partner['id']}", json={"overrides": {"rate_per_minute": 300}},
                    headers=admin_headers(stack))
        assert r.status_code == 200, r.text
    row.get_by_role("link", name="Subscriptions of Ada's app").click()
    detail = page.get_by_test_id("consumer-detail")
    expect(detail).to_contain_text(DEV1)
    subs_table = page.get_by_role("region", name="Subscriptions of Ada's app")
    active = subs_table.locator("tr[data-subscription]").filter(has_text="active")
    expect(active).to_contain_text("Partner")
    expect(active.get_by_test_id("overrides")).to_have_text("300 requests per minute (plan: 120)")
    expect(subs_table.locator("tr[data-subscription]").filter(has_text="Free")).to_contain_text(
        "cancelled")
    shot(page, "admin-consumer")

    admin_section(page, "Consumers")
    row = page.locator("tr[data-consumer]").filter(has_text="Ada's app")
    row.get_by_role("button", name="Suspend Ada's app").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason (recorded in the audit log)").fill("unpaid invoice")
    dialog.get_by_role("button", name="Suspend consumer").click()
    expect(row).to_contain_text("suspended")
    expect(row.get_by_role("button", name="Resume Ada's app")).to_be_visible()
    shot(page, "admin-consumers")
    # The old key is still inside its grace period: only the suspension refuses it now.
    until_status(stack, journey["key"], 403, passing={200, 429})

    admin_section(page, "Audit log")
    page.get_by_label("Action").fill("consumer.suspend")
    page.get_by_role("button", name="Filter").click()
    entry = page.locator("tr[data-audit]")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("unpaid invoice")
    expect(entry.get_by_test_id("actor")).to_have_text("Admin token")
    expect(entry).to_contain_text(DEV1)  # the consumer's owner, by e-mail
    # Developers' own actions show their e-mail, and the log filters by it too.
    page.get_by_label("Action").fill("key.rotate")
    page.get_by_label("Actor (e-mail or id)").fill(DEV1)
    page.get_by_role("button", name="Filter").click()
    entry = page.locator("tr[data-audit]")
    expect(entry).to_have_count(1)
    expect(entry.get_by_test_id("actor")).to_have_text(DEV1)
    entry.get_by_role("button", name=re.compile("^Changes")).click()
    expect(page.get_by_role("region", name="After key.rotate")).to_be_visible()
    # Readable at 1280 px: the table fits the page, nothing scrolls sideways.
    wrap = page.get_by_role("region", name="Audit log")
    assert wrap.evaluate("e => e.scrollWidth <= e.clientWidth"), "the audit log scrolls at 1280"
    shot(page, "admin-audit")

    # The suspended developer gets a readable 403 when creating a key.
    dpage = dev.go("/keys")
    dpage.get_by_label("Name").fill("another")
    dpage.get_by_role("button", name="Create key").click()
    expect(dpage.get_by_role("alert")).to_have_text(
        "This consumer is suspended; new keys cannot be created.")


def test_server_strings_are_shown_as_text_never_markup(tab, stack):
    markup = '<img src=x onerror="window.__pwned=1"><b>Bold</b>'
    with client() as c:
        r = c.post(f"{stack['management_url']}/v1/admin/plans", headers=admin_headers(stack),
                   json={"name": markup[:100], "description": markup, "apis": ["demo"]})
        assert r.status_code == 201, r.text
    t = tab()
    page = t.go("/plans")
    card = page.locator(".plan-card").filter(has_text="onerror")
    expect(card.get_by_role("heading", level=2)).to_have_text(markup[:100])
    expect(card).to_contain_text(markup)
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_the_portal_never_parses_html_and_keeps_keys_out_of_storage():
    scripts = {p.name: p.read_text() for p in PORTAL.rglob("*.js")}
    sources = "\n".join(scripts.values())
    sinks = r"\.(inner|outer)HTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function"
    assert not re.findall(sinks, sources)
    assert not re.search(r"localStorage\.\w|localStorage\[|document\.cookie", sources)
    # The session is the only thing stored, in one module.
    stored = [name for name, text in scripts.items() if re.search(r"sessionStorage\.\w", text)]
    assert stored == ["api.js"]


def test_small_screens_get_a_usable_layout(tab, stack):
    t = tab(width=390, height=844)
    page = t.go("/login")
    log_in(page, DEV2)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Try it")).to_be_attached()
    # Nothing wider than the screen but the scrollable table wrappers.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, overflow
    shot(page, "mobile-keys")
    page = t.go("/")
    expect(page.locator(".api-card").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shot(page, "mobile-catalog")


# --- every page: axe-core in light and dark, screenshots at two sizes --------------------------

ANONYMOUS_PAGES = [("catalog", "/"), ("api-reference", "/catalog/demo-v2"), ("plans", "/plans"),
                   ("login", "/login"), ("signup", "/signup")]
DEVELOPER_PAGES = [("catalog-developer", "/"), ("api-reference-developer", "/catalog/demo-v2"),
                   ("plans-developer", "/plans"), ("keys", "/keys"), ("usage", "/usage"),
                   ("try-it", "/try")]
ADMIN_PAGES = [("admin-plans", "/admin/plans"), ("admin-apis", "/admin/apis"),
               ("admin-consumers", "/admin/consumers"),
               ("admin-consumer", "/admin/consumers?id={consumer}"),
               ("admin-approvals", "/admin/approvals"),
               ("admin-usage", "/admin/usage?consumer={consumer}"),
               ("admin-audit", "/admin/audit")]


def a_developer_with_history(stack: dict[str, Any]) -> dict[str, Any]:
    """A developer who subscribed, rotated a key and called the API (through the API, so
    the pages have something to show), as the session the portal would keep."""
    m = stack["management_url"]
    with client() as c:
        r = c.post(f"{m}/v1/auth/signup", json={"email": "linus@example.com", "password": PASSWORD,
                                                 "name": "Linus's tools"})
        assert r.status_code == 201, r.text
        s = r.json()
        bearer = {"Authorization": f"Bearer {s['access_token']}"}
        assert c.post(f"{m}/v1/me/subscriptions", json={"plan_id": "free"},
                      headers=bearer).status_code == 201
        key = c.post(f"{m}/v1/me/keys", json={"name": "ci"}, headers=bearer).json()
        rotated = c.post(f"{m}/v1/me/keys/{key['id']}/rotate", json={"grace_seconds": 3600},
                         headers=bearer).json()
        until_status(stack, rotated["key"], 200, passing={401, 403})
    return {"kind": "developer", "token": s["access_token"], "role": s["role"],
            "expiresAt": s["expires_at"], "accountId": s["account_id"],
            "consumerId": s["consumer_id"], "email": "linus@example.com"}


def open_page(t: Tab, route: str) -> Page:
    page = t.go(route)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main .loading")).to_have_count(0)
    # The reference: code samples and try it are inside each operation, so open them all.
    page.evaluate("document.querySelectorAll('details.operation').forEach(d => { d.open = true })")
    return page


def test_every_page_passes_axe_in_light_and_dark_and_is_screenshotted(tab, stack):
    session = a_developer_with_history(stack)
    admin = {"kind": "admin", "token": stack["admin_token"], "role": "admin",
             "email": "Administrator"}
    pages = [(None, ANONYMOUS_PAGES), (session, DEVELOPER_PAGES), (admin, ADMIN_PAGES)]
    failures: dict[str, list[dict[str, Any]]] = {}
    shots = 0
    # axe is really looking: a nameless button on a portal page is a critical violation.
    probe = tab()
    page = open_page(probe, "/login")
    page.evaluate("document.querySelector('main').append(document.createElement('button'))")
    assert "button-name" in [v["id"] for v in axe_violations(page)]
    for who, routes in pages:
        t = tab(width=SIZES["desktop"][0], height=SIZES["desktop"][1])
        if who is not None:
            t.login_as(who)
        for name, route in routes:
            route = route.format(consumer=session["consumerId"])
            for scheme in ("light", "dark"):
                # The scheme is switched on the loaded page: the portal's dark theme is CSS
                # (prefers-color-scheme) alone, no script reads it and nothing transitions,
                # so the page is restyled as a fresh load in dark would be, without a second
                # load and axe injection per page.
                t.page.emulate_media(color_scheme=scheme)
                page = open_page(t, route) if scheme == "light" else t.page
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
    assert shots == 3 * sum(len(r) for _, r in pages)
    assert len(list(ARTIFACTS.glob("*-390x844-light.png"))) >= shots // 3
