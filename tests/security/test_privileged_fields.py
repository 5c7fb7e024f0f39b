"""A developer cannot set privileged fields through any body: every request body a
non-admin route takes forbids unknown fields, so plan, quota, owner, role, status … are a
422 naming the field, and nothing changes."""

import pytest

from tests.functional.api.harness import PASSWORD
from tests.security.routes import OPERATIONS, body_properties, fill, has_body, ids, role

WITH_BODIES = [(m, p) for m, p, _ in OPERATIONS if role(m, p) != "admin" and has_body(m, p)]

PRIVILEGED = [
    "plan", "plan_id", "quota", "quota_per_day", "quota_per_month", "rate_per_second",
    "rate_per_minute", "overrides", "owner", "consumer_id", "account_id", "role", "status",
    "state", "retired", "lifecycle", "requires_approval", "key", "key_hash", "hint",
    "expires_at", "created_at", "id", "admin", "is_admin", "scopes",
]


def mailed(pair, kind, email):
    """The token of the newest link of ``kind`` mailed to ``email`` (the local outbox)."""
    from tests.functional.api.test_verification import notices, token_in

    return token_in(notices(pair.h, kind, email)[0])


def reset_token(pair):
    """A reset link of B's account (a reset logs out every session: these tests call as A)."""
    if not hasattr(pair, "reset_token"):
        email = pair.b.dev.email
        pair.h.ok("POST", "/v1/auth/password-reset", json={"email": email}, status=202)
        pair.reset_token = mailed(pair, "password-reset", email)
    return pair.reset_token


def valid_body(method, path, pair, email):
    """A body the route accepts, for each non-admin route with a body."""
    bodies = {
        ("POST", "/v1/auth/signup"): {"email": email, "password": PASSWORD},
        ("POST", "/v1/auth/login"): {"email": pair.a.dev.email, "password": PASSWORD},
        ("POST", "/v1/auth/verify"): {"token": mailed(pair, "verify-email", pair.a.dev.email)},
        ("POST", "/v1/auth/password-reset"): {"email": email},
        ("POST", "/v1/auth/password-reset/confirm"): {
            "token": reset_token(pair), "new_password": "violet anchor drifting quietly"},
        ("PATCH", "/v1/me"): {"name": "Renamed"},
        ("POST", "/v1/me/keys"): {"name": "new"},
        ("POST", "/v1/me/keys/{key_id}/rotate"): {"grace_seconds": 60},
        ("POST", "/v1/me/subscriptions"): {"plan_id": pair.plan_id},
        ("POST", "/v1/me/subscriptions/{subscription_id}/change-plan"): {"plan_id": pair.plan_id},
    }
    return bodies[(method, path)]


def state(h, party):
    headers = party.dev.headers
    return (h.ok("GET", "/v1/me", headers=headers),
            h.ok("GET", "/v1/me/keys", headers=headers),
            h.ok("GET", "/v1/me/subscriptions", headers=headers),
            h.admin("GET", "/v1/admin/accounts")["items"])


def test_every_non_admin_body_has_a_valid_example(pair):
    for method, path in WITH_BODIES:
        valid_body(method, path, pair, "x@example.com")  # KeyError: add the new route above


@pytest.mark.parametrize(("method", "path"), WITH_BODIES, ids=ids(WITH_BODIES))
def test_privileged_fields_in_a_developer_body_422_and_nothing_changes(sec, pair, method, path):
    url = fill(path, pair.a.ids)
    allowed = body_properties(method, path)
    before = state(sec, pair.a)

    for n, name in enumerate(f for f in PRIVILEGED if f not in allowed):
        body = {**valid_body(method, path, pair, f"sneaky{n}@example.com"), name: "admin"}
        resp = sec.client.request(method, url, json=body, headers=pair.a.dev.headers)

        assert resp.status_code == 422, (name, resp.text)
        errors = resp.json()["errors"]
        assert {"field": f"body.{name}", "type": "extra_forbidden"} in [
            {"field": e["field"], "type": e["type"]} for e in errors]

    assert state(sec, pair.a) == before


def test_sign_up_as_admin_is_refused_and_creates_nothing_422(sec):
    resp = sec.client.post("/v1/auth/signup", json={
        "email": "mallory@example.com", "password": PASSWORD, "role": "admin"})

    assert resp.status_code == 422
    assert sec.client.post("/v1/auth/login", json={
        "email": "mallory@example.com", "password": PASSWORD}).status_code == 401


def test_the_body_examples_are_accepted_without_the_extra_field(sec, pair):
    for n, (method, path) in enumerate(WITH_BODIES):
        url = fill(path, pair.a.ids)
        body = valid_body(method, path, pair, f"fine{n}@example.com")

        resp = sec.client.request(method, url, json=body, headers=pair.a.dev.headers)

        assert resp.status_code < 400 or (resp.status_code == 409 and "subscriptions" in path), \
            (method, path, resp.text)
