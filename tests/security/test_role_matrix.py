"""Role x route, generated from the app's OpenAPI document: every admin route answers 401
to an anonymous caller and 403 to a developer; every developer route 401 to an anonymous
caller; forged or expired credentials are 401 everywhere."""

import jwt
import pytest

from tests.functional.api.harness import ADMIN, ADMIN_TOKEN, SESSION_KEYS
from tests.security.routes import DOC, OPERATIONS, PUBLIC, by_role, fill, has_body, ids, role

ADMIN_OPS = by_role("admin")
DEVELOPER_OPS = by_role("developer")
AUTHENTICATED = ADMIN_OPS + DEVELOPER_OPS


def call(h, method, path, headers=None):
    kwargs = {"json": {}} if has_body(method, path) else {}
    return h.client.request(method, fill(path), headers=headers or {}, **kwargs)


def test_the_matrix_covers_every_route_and_only_public_routes_skip_auth():
    assert len(ADMIN_OPS) >= 20 and len(DEVELOPER_OPS) >= 10
    unauthenticated = {(m, p) for m, p, op in OPERATIONS if not op.get("security")}
    assert unauthenticated == PUBLIC, "a route without auth must be listed as PUBLIC"
    for method, path, op in OPERATIONS:
        if role(method, path) != "public":
            assert {"401", "403"} <= set(op["responses"]), (method, path)


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED, ids=ids(AUTHENTICATED))
def test_anonymous_caller_401(sec, method, path):
    resp = call(sec, method, path)

    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("method", "path"), ADMIN_OPS, ids=ids(ADMIN_OPS))
def test_developer_on_an_admin_route_403(sec, method, path):
    dev = sec.signup()

    resp = call(sec, method, path, dev.headers)

    assert resp.status_code == 403
    assert resp.json()["detail"] == "This route is for administrators."


@pytest.mark.parametrize(("method", "path"), ADMIN_OPS, ids=ids(ADMIN_OPS))
def test_admin_token_passes_the_role_check_on_every_admin_route(sec, method, path):
    resp = call(sec, method, path, ADMIN)

    assert resp.status_code not in (401, 403), resp.text


@pytest.mark.parametrize(("method", "path"), ADMIN_OPS, ids=ids(ADMIN_OPS))
def test_admin_role_session_passes_the_role_check_on_every_admin_route(sec, method, path):
    dev = sec.signup()
    sec.admin("PUT", f"/v1/admin/accounts/{dev.account_id}/role", json={"role": "admin"})
    session = sec.ok("POST", "/v1/auth/login", json={"email": dev.email,
                                                      "password": "correct horse battery staple"})

    resp = call(sec, method, path, {"Authorization": f"Bearer {session['access_token']}"})

    assert resp.status_code not in (401, 403), resp.text


@pytest.mark.parametrize(("method", "path"), DEVELOPER_OPS, ids=ids(DEVELOPER_OPS))
def test_developer_passes_the_role_check_on_every_developer_route(sec, method, path):
    dev = sec.signup()

    resp = call(sec, method, path, dev.headers)

    assert resp.status_code not in (401, 403), resp.text


def forged(sec, kind):
    dev = sec.signup()
    claims = jwt.decode(dev.token, SESSION_KEYS[0], algorithms=["HS256"],
                        audience="tollway-management", options={"verify_exp": False})
    claims["exp"] = int(sec.clock.now()) + 10 * 86_400  # forged ones fail for the forgery
    if kind == "expired":
        sec.clock.advance(sec.settings.session_ttl + 1)
        return dev.token
    if kind == "self-signed-admin":
        return jwt.encode({**claims, "role": "admin"}, "attacker-key-" + "k" * 32,
                          algorithm="HS256")
    if kind == "alg-none-admin":
        return jwt.encode({**claims, "role": "admin"}, None, algorithm="none")
    if kind == "admin-token-prefix":
        return ADMIN_TOKEN[:-1]
    raise AssertionError(kind)


FORGERIES = ["self-signed-admin", "alg-none-admin", "admin-token-prefix", "expired"]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED, ids=ids(AUTHENTICATED))
def test_forged_or_expired_credentials_401(sec, method, path):
    tokens = {kind: forged(sec, kind) for kind in FORGERIES}  # "expired" moves the clock last

    statuses = {kind: call(sec, method, path, {"Authorization": f"Bearer {token}"}).status_code
                for kind, token in tokens.items()}

    assert statuses == dict.fromkeys(FORGERIES, 401)


@pytest.mark.parametrize("header", ["Basic " + ADMIN_TOKEN, ADMIN_TOKEN, "Bearer", "Bearer  "])
def test_malformed_authorization_headers_401(sec, header):
    resp = sec.client.get("/v1/admin/consumers", headers={"Authorization": header})

    assert resp.status_code == 401


def test_the_document_declares_one_bearer_scheme():
    schemes = DOC["components"]["securitySchemes"]

    assert schemes == {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                  "description": schemes["bearer"]["description"]}}
