"""The mailed links in a real browser: "Forgot password?" on the log-in form, the link from
the local outbox, a new password, the old session refused; and e-mail verification from
the banner's "re-send" to the link. Each page passes axe-core (WCAG 2.1 A/AA).

Starts its own ``tollway local`` and drives Debian's Chromium, like test_portal_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.portal_support import axe_violations, describe
from tests.e2e.test_portal_browser import PASSWORD, admin_headers
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

NEW_PASSWORD = "violet anchor drifting quietly"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict[str, Any]]:
    with local_stack(tmp_path_factory.mktemp("portal-reset") / "data") as state:
        yield state




def links(stack: dict[str, Any], kind: str, to: str) -> list[str]:
    """The links mailed to ``to``, newest first, read from the local outbox."""
    with client() as c:
        r = c.get(f"{stack['management_url']}/v1/admin/notifications/outbox",
                  headers=admin_headers(stack))
        assert r.status_code == 200, r.text
    return [n["data"]["url"] for n in r.json()["items"]
            if n["kind"] == kind and n["recipient"] == to]


def no_violations(page: Page) -> None:
    found = axe_violations(page)
    assert not found, describe(found)


def test_a_developer_resets_a_forgotten_password_from_the_login_form(tab, stack):
    email = "hedy@example.com"
    with client() as c:
        r = c.post(f"{stack['management_url']}/v1/auth/signup",
                   json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        old_session = {"Authorization": f"Bearer {r.json()['access_token']}"}

    t = tab()
    page = t.go("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", level=1, name="Forgot password")).to_be_visible()
    no_violations(page)
    page.get_by_label("E-mail").fill("nobody@example.com")
    page.get_by_role("button", name="Send the link").click()
    unknown = page.get_by_test_id("reset-requested").get_by_role("status").inner_text()
    page.get_by_role("link", name="ask again").click()
    page.get_by_label("E-mail").fill(email)
    page.get_by_role("button", name="Send the link").click()
    done = page.get_by_test_id("reset-requested")
    expect(done.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    assert done.get_by_role("status").inner_text() == unknown  # no account enumeration
    no_violations(page)

    [url] = links(stack, "password-reset", email)
    assert url.startswith(f"{stack['portal_url']}/#/reset?token=")
    page.goto(url)
    expect(page.get_by_role("heading", level=1, name="Choose a new password")).to_be_visible()
    no_violations(page)
    page.get_by_label("New password").fill("password1234")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("commonly used passwords")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator("#flash")).to_contain_text("Your password is changed")
    expect(page.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    with client() as c:  # every earlier session is refused
        assert c.get(f"{stack['management_url']}/v1/me", headers=old_session).status_code == 401

    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("You are logged in.")
    # The reset proved the address: no verification banner.
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)

    page.goto(url)  # the link works once
    page.get_by_label("New password").fill("another fine passphrase here")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("used already")


def test_a_new_developer_verifies_the_address_from_the_banner(tab, stack):
    email = "katherine@example.com"
    t = tab()
    page = t.go("/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1, name="Plans")).to_be_visible()
    banner = page.get_by_role("region", name="E-mail verification")
    expect(banner).to_contain_text(f"Please verify {email}")
    no_violations(page)

    banner.get_by_role("button", name="Re-send the link").click()
    expect(banner.get_by_role("status")).to_contain_text("A new verification link is on its way")
    mailed = links(stack, "verify-email", email)
    assert len(mailed) == 2  # sign-up's and the re-sent one, each once

    page.goto(mailed[0])
    expect(page.get_by_test_id("verified")).to_have_text(f"{email} is verified. Thank you!")
    assert "token=" not in page.url  # the token leaves the address bar
    no_violations(page)
    page.get_by_role("link", name="Pick a plan").click()
    expect(page.get_by_role("heading", level=1, name="Plans")).to_be_visible()
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)

    page.goto(mailed[1])  # the older link still works once; the address is verified anyway
    expect(page.get_by_test_id("verified")).to_be_visible()
    page.goto(mailed[1])
    expect(page.get_by_role("alert")).to_contain_text("used already")
