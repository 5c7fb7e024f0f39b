"""Issue 9: no server-side session revocation (a stolen session works for its whole TTL).

``POST /v1/auth/logout`` refuses this session from now on; ``POST /v1/auth/logout-all``
refuses every session of the account issued so far. Both 204, both by outcome: the
revoked token gets the same 401 as any bad token; a new log-in works.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.api.harness import ADMIN, PASSWORD, Dev, Harness, harness


@pytest.fixture
def h() -> Iterator[Harness]:
    with harness() as world:
        yield world


def login(h: Harness, dev: Dev) -> dict[str, str]:
    s = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {s['access_token']}"}


def test_logout_revokes_this_session_only_204(h):
    dev = h.signup()
    other = login(h, dev)

    assert h.client.post("/v1/auth/logout", headers=dev.headers).status_code == 204

    refused = h.client.get("/v1/me", headers=dev.headers)
    assert refused.status_code == 401 and refused.json()["type"].endswith("/unauthorized")
    assert h.client.post("/v1/auth/logout", headers=dev.headers).status_code == 401
    h.ok("GET", "/v1/me", headers=other)  # the account's other session keeps working
    h.ok("GET", "/v1/me", headers=login(h, dev))  # and a new log-in works


def test_logout_stays_in_force_until_the_session_would_have_expired(h):
    dev = h.signup()
    h.ok("POST", "/v1/auth/logout", headers=dev.headers, status=204)

    h.clock.advance(h.settings.session_ttl - 1)

    assert h.client.get("/v1/me", headers=dev.headers).status_code == 401


def test_logout_all_revokes_every_earlier_session_of_the_account_204(h):
    dev = h.signup()
    phone, laptop = login(h, dev), login(h, dev)
    bystander = h.signup()

    assert h.client.post("/v1/auth/logout-all", headers=phone).status_code == 204

    for headers in (dev.headers, phone, laptop):
        assert h.client.get("/v1/me", headers=headers).status_code == 401
    h.ok("GET", "/v1/me", headers=bystander.headers)  # other accounts are untouched
    fresh = login(h, dev)
    h.ok("GET", "/v1/me", headers=fresh)
    audit = h.admin("GET", "/v1/admin/audit")["items"]
    assert any(e["action"] == "account.logout-all" and e["target_id"] == dev.account_id
               for e in audit)


def test_logout_all_applies_to_admin_sessions_too(h):
    dev = h.signup()
    h.admin("PUT", f"/v1/admin/accounts/{dev.account_id}/role", json={"role": "admin"})
    admin = login(h, dev)
    h.ok("GET", "/v1/admin/plans", headers=admin)

    h.ok("POST", "/v1/auth/logout-all", headers=admin, status=204)

    assert h.client.get("/v1/admin/plans", headers=admin).status_code == 401


@pytest.mark.parametrize("path", ["/v1/auth/logout", "/v1/auth/logout-all"])
def test_logout_without_a_session_401_and_with_the_admin_token_403(h, path):
    assert h.client.post(path).status_code == 401
    assert h.client.post(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    resp = h.client.post(path, headers=ADMIN)
    assert resp.status_code == 403 and "TOLLWAY_ADMIN_TOKEN" in resp.json()["detail"]


@pytest.mark.parametrize("path", ["/v1/auth/logout", "/v1/auth/logout-all"])
def test_logout_routes_are_documented_with_explicit_responses(h, path):
    op = h.ok("GET", "/v1/openapi.json")["paths"][path]["post"]
    assert {"204", "401", "403"} <= set(op["responses"])
    assert op["security"] == [{"bearer": []}]
