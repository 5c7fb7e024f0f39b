"""Sign-up, log-in, sessions: argon2id, rate limits, rotation of signing keys."""

import jwt
import pytest

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from shared.management import records
from shared.management.accounts import Passwords
from shared.settings import SettingsError
from tests.functional.api.harness import PASSWORD, SESSION_KEYS, settings


def test_signup_returns_session_and_creates_owned_consumer_201(h):
    resp = h.client.post("/v1/auth/signup",
                         json={"email": "Ada@Example.com", "password": PASSWORD, "name": "Ada"})

    assert resp.status_code == 201
    body = resp.json()
    assert body["token_type"] == "bearer" and body["role"] == "developer"
    assert body["expires_in"] == h.settings.session_ttl
    me = h.ok("GET", "/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me["email"] == "ada@example.com"
    assert me["consumer"] == {"id": body["consumer_id"], "name": "Ada", "status": "active",
                              "owner": body["account_id"], "created_at": me["created_at"]}


def test_signup_stores_an_argon2id_hash_never_the_password_201(h):
    dev = h.signup()

    account = records.get_account(h.store, dev.account_id)
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in str(h.store._items)


def test_signup_with_an_existing_email_in_any_case_409(h):
    h.signup("grace@example.com")

    resp = h.client.post("/v1/auth/signup",
                         json={"email": "GRACE@example.com", "password": PASSWORD})

    assert resp.status_code == 409
    assert resp.headers["content-type"] == "application/problem+json"


def test_signup_with_short_password_422_names_the_field_without_echoing_it(h):
    resp = h.client.post("/v1/auth/signup", json={"email": "a@example.com", "password": "short1"})

    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["body.password"]
    assert resp.json()["errors"][0]["detail"] == "Passwords have at least 12 characters"
    assert "short1" not in resp.text


def test_signup_with_an_overlong_password_422_says_characters(h):
    resp = h.client.post("/v1/auth/signup", json={"email": "a@example.com", "password": "x" * 257})
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["detail"] == "Passwords have at most 256 characters"


def test_signup_is_rate_limited_per_client_address_429(h):
    for n in range(20):
        h.signup(f"many{n}@example.com")

    resp = h.client.post("/v1/auth/signup", json={"email": "one@example.com",
                                                  "password": PASSWORD})

    assert resp.status_code == 429
    assert int(resp.headers["retry-after"]) > 0


def test_login_returns_session_200(h):
    dev = h.signup("lin@example.com")

    body = h.ok("POST", "/v1/auth/login", json={"email": "LIN@example.com", "password": PASSWORD})

    assert body["account_id"] == dev.account_id and body["consumer_id"] == dev.consumer_id


def test_login_wrong_password_and_unknown_email_answer_the_same_401(h):
    h.signup("known@example.com")

    wrong = h.client.post("/v1/auth/login", json={"email": "known@example.com",
                                                 "password": "not the password"})
    unknown = h.client.post("/v1/auth/login", json={"email": "nobody@example.com",
                                                   "password": "not the password"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.headers["www-authenticate"].startswith("Bearer")


def test_login_attempts_are_rate_limited_per_email_429_then_allowed_after_window(h):
    h.signup("target@example.com")
    bad = {"email": "target@example.com", "password": "guess guess guess"}
    for _ in range(10):
        assert h.client.post("/v1/auth/login", json=bad).status_code == 401

    blocked = h.client.post("/v1/auth/login", json={**bad, "password": PASSWORD})

    assert blocked.status_code == 429
    retry = int(blocked.headers["retry-after"])
    assert 0 < retry <= 900
    h.clock.advance(retry)
    h.ok("POST", "/v1/auth/login", json={**bad, "password": PASSWORD})


def test_session_expires_after_its_ttl_401(h):
    dev = h.signup()
    h.clock.advance(h.settings.session_ttl)

    resp = h.client.get("/v1/me", headers=dev.headers)

    assert resp.status_code == 401


def test_session_signed_with_an_older_configured_key_still_works_200(h):
    dev = h.signup()
    claims = jwt.decode(dev.token, SESSION_KEYS[0], algorithms=["HS256"],
                        audience="tollway-management", options={"verify_exp": False})
    older = jwt.encode(claims, SESSION_KEYS[1], algorithm="HS256")

    h.ok("GET", "/v1/me", headers={"Authorization": f"Bearer {older}"})


@pytest.mark.parametrize("forge", ["unknown-key", "alg-none", "no-role", "wrong-audience",
                                   "unknown-account", "garbage"])
def test_forged_or_incomplete_session_tokens_401(h, forge):
    dev = h.signup()
    claims = jwt.decode(dev.token, SESSION_KEYS[0], algorithms=["HS256"],
                        audience="tollway-management", options={"verify_exp": False})
    key = SESSION_KEYS[0]
    if forge == "unknown-key":
        key = "an-attacker-chosen-signing-key-" + "z" * 16
    elif forge == "no-role":
        claims.pop("role")
    elif forge == "wrong-audience":
        claims["aud"] = "tollway-gateway"
    elif forge == "unknown-account":
        claims["sub"] = "acc_nobody"
    if forge == "alg-none":
        token = jwt.encode({**claims, "role": "admin"}, None, algorithm="none")
    elif forge == "garbage":
        token = "not-a-jwt"
    else:
        token = jwt.encode(claims, key, algorithm="HS256")

    resp = h.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert resp.status_code == 401


def test_create_app_without_session_keys_refuses_to_start():
    clock = ManualClock()

    with pytest.raises(SettingsError, match="TOLLWAY_SESSION_KEYS"):
        create_app(store=MemoryStore(clock), clock=clock, settings=settings(session_keys=()))


def test_the_production_hasher_is_argon2id_with_at_least_rfc9106_low_memory_parameters():
    stored = Passwords().hash(PASSWORD)

    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("field", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "2000000000", True])
def test_session_tokens_with_non_finite_or_non_numeric_dates_401(h, field, value):
    """A NaN ``exp`` compares false against every clock reading: it must not mean
    "never expires"."""
    dev = h.signup()
    claims = jwt.decode(dev.token, SESSION_KEYS[0], algorithms=["HS256"],
                        audience="tollway-management", options={"verify_exp": False})
    claims[field] = value
    token = jwt.encode(claims, SESSION_KEYS[0], algorithm="HS256")

    resp = h.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert resp.status_code == 401
    h.ok("GET", "/v1/me", headers=dev.headers)  # the genuine token still works


def test_session_token_with_an_unknown_crit_extension_401(h):
    dev = h.signup()
    claims = jwt.decode(dev.token, SESSION_KEYS[0], algorithms=["HS256"],
                        audience="tollway-management", options={"verify_exp": False})
    token = jwt.encode(claims, SESSION_KEYS[0], algorithm="HS256",
                       headers={"crit": ["x-tollway"], "x-tollway": 1})

    assert h.client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("password", ["passwordpassword", "123456789012", "qwertyuiop123",
                                      "Password2024!", "iloveyou1234", "abcabcabcabc",
                                      "abcdefghijklmnop", "000000000000", "1234567890!!"])
def test_signup_with_a_common_or_predictable_password_422_without_echoing_it(h, password):
    resp = h.client.post("/v1/auth/signup", json={"email": "weak@example.com",
                                                  "password": password})

    assert resp.status_code == 422, resp.text
    doc = resp.json()
    assert doc["errors"][0]["field"] == "body.password"
    assert "hard to guess" in doc["detail"] and password not in resp.text
    assert records.account_by_email(h.store, "weak@example.com") is None


def test_the_common_password_list_ships_in_the_package_and_is_read_without_network():
    from shared.management.password_policy import common_passwords

    listed = common_passwords()
    assert len(listed) == 10_000 and "password" in listed and "123456" in listed
    assert not any(p.startswith("# ") for p in listed)
