"""Password reset: the request answers the same for known and unknown addresses; the link
works once, for 30 minutes; confirming sets the new password (policy applies), logs out
every session, verifies the address, and is audited; each link is mailed once."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared.management import records, verification
from tests.functional.api.harness import PASSWORD, Dev, Harness
from tests.functional.api.test_verification import notices, token_in

NEW_PASSWORD = "violet anchor drifting quietly"


def ask(h: Harness, email: str) -> Any:
    return h.client.post("/v1/auth/password-reset", json={"email": email})


def reset_token(h: Harness, dev: Dev) -> str:
    assert ask(h, dev.email).status_code == 202
    return token_in(notices(h, "password-reset", dev.email)[0])


def confirm(h: Harness, token: str, password: str = NEW_PASSWORD) -> Any:
    return h.client.post("/v1/auth/password-reset/confirm",
                         json={"token": token, "new_password": password})


def login(h: Harness, email: str, password: str) -> int:
    return h.client.post("/v1/auth/login",
                         json={"email": email, "password": password}).status_code


def test_known_and_unknown_addresses_get_the_same_202(h):
    dev = h.signup()

    known = ask(h, dev.email)
    unknown = ask(h, "nobody@example.com")

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert {k: v for k, v in known.headers.items() if k != "date"} == {
        k: v for k, v in unknown.headers.items() if k != "date"}
    assert [n["recipient"] for n in notices(h, "password-reset")] == [dev.email]


def test_the_link_points_to_the_portal_and_is_mailed_once(h):
    dev = h.signup()
    token = reset_token(h, dev)

    [notice] = notices(h, "password-reset")
    assert notice["data"]["url"] == f"http://localhost:5173/#/reset?token={token}"
    # the dedup claim names the token's hash, never the token
    claim = [item.data for (pk, _), item in h.store._items.items() if pk.startswith("NOTICE#")
             and item.data["kind"] == "password-reset"]
    assert claim == [{**claim[0], "key": "password-reset:"
                      + hashlib.sha256(token.encode()).hexdigest()}]


def test_confirming_sets_the_password_and_logs_out_every_session_204(h):
    dev = h.signup()
    other = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})
    token = reset_token(h, dev)

    resp = confirm(h, token)

    assert resp.status_code == 204
    for bearer in (dev.token, other["access_token"]):
        gone = h.client.get("/v1/me", headers={"Authorization": f"Bearer {bearer}"})
        assert gone.status_code == 401
    assert login(h, dev.email, PASSWORD) == 401
    assert login(h, dev.email, NEW_PASSWORD) == 200


def test_a_reset_verifies_the_address_and_is_audited(h):
    dev = h.signup()

    confirm(h, reset_token(h, dev))

    assert records.get_account(h.store, dev.account_id).email_verified is True
    actions = {e["action"] for e in h.admin(
        "GET", f"/v1/admin/audit?target_id={dev.account_id}")["items"]}
    assert actions == {"account.create", "account.password-reset-request",
                       "account.password-reset"}
    [entry] = h.admin("GET", "/v1/admin/audit?action=account.password-reset&target_id="
                      + dev.account_id)["items"]
    assert "password_hash" not in str(entry)


def test_a_second_use_of_the_link_409(h):
    dev = h.signup()
    token = reset_token(h, dev)
    confirm(h, token)

    resp = confirm(h, token, "another fine passphrase here")

    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == verification.USED
    assert login(h, dev.email, NEW_PASSWORD) == 200


def test_the_link_expires_after_30_minutes_422(h):
    dev = h.signup()
    token = reset_token(h, dev)
    h.clock.advance(30 * 60)

    resp = confirm(h, token)

    assert resp.status_code == 422
    assert resp.json()["detail"] == verification.EXPIRED
    assert login(h, dev.email, PASSWORD) == 200


def test_one_reset_spends_every_other_reset_link_of_the_account_409(h):
    dev = h.signup()
    ask(h, dev.email)
    ask(h, dev.email)
    first, second = (token_in(n) for n in notices(h, "password-reset", dev.email))
    assert first != second

    assert confirm(h, first).status_code == 204
    resp = confirm(h, second, "another fine passphrase here")

    assert resp.status_code == 409
    assert resp.json()["detail"] == verification.SUPERSEDED


def test_log_out_everywhere_spends_pending_reset_links_409(h):
    dev = h.signup()
    token = reset_token(h, dev)
    h.ok("POST", "/v1/auth/logout-all", headers=dev.headers, status=204)

    assert confirm(h, token).status_code == 409


def test_the_password_policy_applies_and_a_refused_password_keeps_the_link_422(h):
    dev = h.signup()
    token = reset_token(h, dev)

    weak = confirm(h, token, "password1234")
    short = confirm(h, token, "short")

    assert weak.status_code == short.status_code == 422
    assert weak.json()["errors"][0]["field"] == "body.new_password"
    assert "password1234" not in weak.text
    assert confirm(h, token).status_code == 204


def test_a_verification_token_cannot_reset_422(h):
    dev = h.signup()
    [notice] = notices(h, "verify-email", dev.email)

    resp = confirm(h, token_in(notice))

    assert resp.status_code == 422
    assert resp.json()["detail"] == verification.NOT_VALID


def test_the_token_is_stored_only_as_its_sha256(h):
    dev = h.signup()
    token = reset_token(h, dev)
    confirm(h, token)

    stored = [(key, str(item.data)) for key, item in h.store._items.items()
              if key[0] != "OUTBOX"]  # the outbox is the developer's mailbox
    assert not [key for key, text in stored if token in text or token in key[0]]
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert any(key == (f"AUTHTOKEN#{digest}", "TOKEN") for key, _ in stored)


@pytest.mark.parametrize("who", ["known", "unknown"])
def test_requests_are_limited_per_address_alike_for_known_and_unknown_429(h, who):
    dev = h.signup()
    email = dev.email if who == "known" else "nobody@example.com"
    for _ in range(5):
        assert ask(h, email).status_code == 202

    refused = ask(h, email)

    assert refused.status_code == 429
    assert refused.json()["detail"].startswith("Too many attempts.")
    assert int(refused.headers["Retry-After"]) >= 1
    assert ask(h, "someone.else@example.com").status_code == 202  # another address
    h.clock.advance(3600)
    assert ask(h, email).status_code == 202


def test_requests_are_limited_per_client_address_429(h):
    for n in range(30):
        assert ask(h, f"dev{n}@example.org").status_code == 202

    assert ask(h, "one.more@example.org").status_code == 429


def test_an_address_is_matched_in_any_case(h):
    dev = h.signup("Mixed.Case@example.com".lower())

    assert ask(h, "MIXED.case@Example.com").status_code == 202

    assert [n["recipient"] for n in notices(h, "password-reset")] == [dev.email]
