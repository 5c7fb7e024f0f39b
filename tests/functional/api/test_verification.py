"""E-mail verification: sign-up mails a link once; the token works once, for 24 hours, is
stored only as its SHA-256; re-sending is limited; an unverified developer may browse but
not create keys or subscribe when TOLLWAY_REQUIRE_VERIFIED_EMAIL is on."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.management import account_tokens, notifications, records, verification
from shared.ports import Notice, NotifyFailed
from shared.settings import SettingsError, from_env
from tests.functional.api.harness import PASSWORD, PORTAL, Dev, Harness, harness


def notices(h: Harness, kind: str, to: str | None = None) -> list[dict[str, Any]]:
    return [n for n in notifications.outbox(h.store, 100)
            if n["kind"] == kind and (to is None or n["recipient"] == to)]


def token_in(notice: dict[str, Any]) -> str:
    url = notice["data"]["url"]
    assert url in notice["text"]
    return parse_qs(urlsplit(url).fragment.split("?", 1)[1])["token"][0]


def verify_token(h: Harness, dev: Dev) -> str:
    [notice] = notices(h, "verify-email", dev.email)
    return token_in(notice)


def me(h: Harness, dev: Dev) -> dict[str, Any]:
    return dict(h.ok("GET", "/v1/me", headers=dev.headers))


def test_signup_mails_one_verification_link_to_the_portal_201(h):
    dev = h.signup()

    [notice] = notices(h, "verify-email")
    assert notice["recipient"] == dev.email
    assert notice["data"]["url"].startswith(f"{PORTAL}/#/verify?token=")
    assert len(token_in(notice)) == 43
    assert me(h, dev)["email_verified"] is False


def test_the_link_verifies_the_address_200_and_is_audited(h):
    dev = h.signup()

    body = h.ok("POST", "/v1/auth/verify", json={"token": verify_token(h, dev)})

    assert body == {"email": dev.email, "email_verified": True}
    assert me(h, dev)["email_verified"] is True
    [entry] = h.admin("GET", f"/v1/admin/audit?action=account.verify&target_id={dev.account_id}")[
        "items"]
    assert entry["actor"] == dev.account_id
    assert entry["before"]["email_verified"] is False and entry["after"]["email_verified"]


def test_a_second_use_of_the_link_409(h):
    dev = h.signup()
    token = verify_token(h, dev)
    h.ok("POST", "/v1/auth/verify", json={"token": token})

    resp = h.client.post("/v1/auth/verify", json={"token": token})

    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == verification.USED


def test_the_link_expires_after_24_hours_422(h):
    dev = h.signup()
    token = verify_token(h, dev)
    h.clock.advance(24 * 3600)

    resp = h.client.post("/v1/auth/verify", json={"token": token})

    assert resp.status_code == 422
    assert resp.json()["detail"] == verification.EXPIRED
    assert resp.json()["errors"][0]["field"] == "body.token"
    assert records.get_account(h.store, dev.account_id).email_verified is False


def test_a_link_just_inside_its_24_hours_still_works_200(h):
    dev = h.signup()
    token = verify_token(h, dev)
    h.clock.advance(24 * 3600 - 1)

    assert h.ok("POST", "/v1/auth/verify", json={"token": token})["email_verified"] is True


@pytest.mark.parametrize("token", ["nope", "x" * 43, "A" * 256])
def test_a_made_up_or_mangled_token_422_says_not_valid(h, token):
    h.signup()

    resp = h.client.post("/v1/auth/verify", json={"token": token})

    assert resp.status_code == 422
    assert resp.json()["detail"] == verification.NOT_VALID


def test_a_reset_token_does_not_verify_422(h):
    dev = h.signup()
    h.ok("POST", "/v1/auth/password-reset", json={"email": dev.email}, status=202)
    [reset] = notices(h, "password-reset", dev.email)

    resp = h.client.post("/v1/auth/verify", json={"token": token_in(reset)})

    assert resp.status_code == 422
    assert me(h, dev)["email_verified"] is False


def test_the_token_is_stored_only_as_its_sha256(h):
    dev = h.signup()
    token = verify_token(h, dev)

    stored = {key: str(item.data) for key, item in h.store._items.items()
              if key[0] != "OUTBOX"}  # the outbox is the developer's mailbox
    assert not [key for key, text in stored.items() if token in text or token in key[0]]
    assert ("AUTHTOKEN#" + hashlib.sha256(token.encode()).hexdigest(), "TOKEN") in stored


def test_resending_mails_a_new_link_202_each_once(h):
    dev = h.signup()
    first = verify_token(h, dev)

    body = h.ok("POST", "/v1/me/verification", headers=dev.headers, status=202)

    assert body["sent"] is True
    links = [token_in(n) for n in notices(h, "verify-email", dev.email)]
    assert len(links) == 2 and first in links
    second = next(t for t in links if t != first)
    h.ok("POST", "/v1/auth/verify", json={"token": second})
    assert me(h, dev)["email_verified"] is True


def test_resending_is_limited_to_5_an_hour_per_account_429(h):
    dev = h.signup()
    other = h.signup()
    for _ in range(5):
        h.ok("POST", "/v1/me/verification", headers=dev.headers, status=202)

    resp = h.client.post("/v1/me/verification", headers=dev.headers)

    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert len(notices(h, "verify-email", dev.email)) == 6  # sign-up's and five re-sends
    h.ok("POST", "/v1/me/verification", headers=other.headers, status=202)  # per account
    h.clock.advance(3600)
    session = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})
    fresh = {"Authorization": f"Bearer {session['access_token']}"}
    h.ok("POST", "/v1/me/verification", headers=fresh, status=202)


def test_resending_to_a_verified_address_409(h):
    dev = h.signup()
    h.ok("POST", "/v1/auth/verify", json={"token": verify_token(h, dev)})

    resp = h.client.post("/v1/me/verification", headers=dev.headers)

    assert resp.status_code == 409
    assert resp.json()["detail"] == verification.ALREADY_VERIFIED


def test_each_notice_goes_once_per_token(h):
    dev = h.signup()
    token = verify_token(h, dev)

    again = verification.send_verification(
        h.store, h.clock, h.app.state.notifier, PORTAL,
        records.get_account(h.store, dev.account_id), token)

    assert again is False
    assert len(notices(h, "verify-email", dev.email)) == 1


class Refusing:
    def send(self, notice: Notice) -> str:
        raise NotifyFailed("the e-mail service is down")


def test_sign_up_succeeds_when_the_mail_is_refused_and_the_link_can_be_asked_again():
    with harness() as h:
        h.app.state.notifier = Refusing()
        dev = h.signup()

        resp = h.client.post("/v1/me/verification", headers=dev.headers)
        assert resp.status_code == 202 and resp.json()["sent"] is False

        del h.app.state.notifier
        assert h.ok("POST", "/v1/me/verification", headers=dev.headers, status=202)["sent"]
        assert len(notices(h, "verify-email", dev.email)) == 1


def test_links_use_the_configured_portal_url():
    with harness(portal_url="https://portal.example.com") as h:
        dev = h.signup()
        [notice] = notices(h, "verify-email", dev.email)
        assert notice["data"]["url"].startswith("https://portal.example.com/#/verify?token=")


# --- what an unverified developer may do ------------------------------------------------------


def test_when_required_an_unverified_developer_browses_but_cannot_get_keys_or_plans_403():
    with harness(require_verified_email=True) as h:
        plan = h.world()["plan"]
        dev = h.signup()
        h.ok("GET", "/v1/me", headers=dev.headers)
        h.ok("GET", "/v1/plans")
        h.ok("GET", "/v1/me/keys", headers=dev.headers)

        key = h.client.post("/v1/me/keys", json={"name": "app"}, headers=dev.headers)
        sub = h.client.post("/v1/me/subscriptions", json={"plan_id": plan["id"]},
                            headers=dev.headers)

        for resp in (key, sub):
            assert resp.status_code == 403
            assert "Verify your e-mail address first" in resp.json()["detail"]
        h.ok("POST", "/v1/auth/verify", json={"token": verify_token(h, dev)})
        h.subscribe(dev, plan["id"])
        h.create_key(dev)


def test_when_not_required_an_unverified_developer_gets_keys_201(h):
    assert h.settings.require_verified_email is False
    dev = h.signup()
    h.create_key(dev)


def test_verification_is_required_by_default_except_in_the_local_stack():
    assert from_env({}).require_verified_email is True
    assert from_env({}, local=True).require_verified_email is False
    assert from_env({"TOLLWAY_REQUIRE_VERIFIED_EMAIL": "off"}).require_verified_email is False
    on = {"TOLLWAY_REQUIRE_VERIFIED_EMAIL": "on"}
    assert from_env(on, local=True).require_verified_email is True
    with pytest.raises(SettingsError, match="TOLLWAY_REQUIRE_VERIFIED_EMAIL"):
        from_env({"TOLLWAY_REQUIRE_VERIFIED_EMAIL": "maybe"})


def test_the_portal_url_setting_is_an_http_url():
    assert from_env({"TOLLWAY_PORTAL_URL": "https://p.example/"}).portal_url == "https://p.example"
    with pytest.raises(SettingsError, match="TOLLWAY_PORTAL_URL"):
        from_env({"TOLLWAY_PORTAL_URL": "javascript:alert(1)"})


def test_token_ttls_are_24_hours_and_30_minutes():
    assert account_tokens.TTL == {"verify": 86_400.0, "reset": 1800.0}
