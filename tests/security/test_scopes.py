"""Issue 9: scoped routes admit credentials without scopes.

A route that requires ``admin`` must refuse (403) a JWT with no ``scope``, an empty one,
or scopes that do not include it, in either claim form, and an API key without scopes;
it admits a credential that carries ``admin`` in ``scope`` or ``scp``. The rule is
``shared.core.scopes.allows`` (the pipeline's check in shared/gateway/identity.py states
the same rule).
"""

from __future__ import annotations

import jwt
import pytest

from shared.core.models import Api, Lifecycle, Route, Upstream
from shared.core.scopes import allows
from shared.core.tokens import Issuer
from shared.management import records
from tests.functional.conftest import T0, World, make_world

SECRET = "scope-test-secret-" + "s" * 24
ROUTES = (Route("*", "/admin/*", ("admin",)), Route("*", "/open/*", ()))


def world() -> World:
    w = make_world()
    api = Api("scoped-v1", "demo", "scoped", "/scoped/v1", (Upstream("http://upstream.test"),),
              ROUTES, Lifecycle.PUBLISHED)
    records.save_unaudited(w.store, [records.put_api_write(api)])
    w.gateway.issuers = {"https://idp": Issuer("https://idp", "tollway", ("HS256",),
                                               lambda kid: SECRET)}
    return w


def call(w: World, path: str, **claims) -> int:
    body = {"iss": "https://idp", "aud": "tollway", "sub": "con_a", "exp": T0 + 300, **claims}
    token = jwt.encode(body, SECRET, algorithm="HS256")
    return w.request(path=path, headers=[("authorization", f"Bearer {token}")]).status


@pytest.mark.parametrize("claims", [
    pytest.param({"scope": "admin"}, id="scope-string"),
    pytest.param({"scope": "read admin"}, id="scope-several"),
    pytest.param({"scp": ["admin"]}, id="scp-list"),
    pytest.param({"scp": "admin"}, id="scp-string"),
])
def test_a_token_carrying_the_scope_passes_200(claims):
    assert call(world(), "/scoped/v1/admin/x", **claims) == 200


@pytest.mark.parametrize("claims", [
    pytest.param({"scope": "read"}, id="other-scope"),
    pytest.param({"scp": ["read", "write"]}, id="scp-list-without-it"),
])
def test_a_token_with_other_scopes_is_refused_403(claims):
    assert call(world(), "/scoped/v1/admin/x", **claims) == 403


@pytest.mark.parametrize("claims", [
    pytest.param({}, id="no-scope-claim"),
    pytest.param({"scope": ""}, id="empty-scope"),
    pytest.param({"scope": "   "}, id="blank-scope"),
    pytest.param({"scp": []}, id="empty-scp"),
    pytest.param({"scope": ["x y"]}, id="malformed-list"),
])
def test_a_token_without_scopes_is_refused_by_a_scoped_route_403(claims):
    assert call(world(), "/scoped/v1/admin/x", **claims) == 403


def test_an_api_key_without_scopes_is_refused_by_a_scoped_route_403():
    w = world()
    assert w.request(path="/scoped/v1/admin/x", key=w.keys["a"]).status == 403


def test_credentials_without_scopes_pass_routes_that_require_none_200():
    w = world()
    assert w.request(path="/scoped/v1/open/x", key=w.keys["a"]).status == 200
    w.clock.advance(60)
    assert call(w, "/scoped/v1/open/x") == 200


def test_an_api_key_with_the_scope_passes_200():
    w = world()
    key = w.add_key("con_a", "admin", scopes=("admin",))
    assert w.request(path="/scoped/v1/admin/x", key=key).status == 200


def test_the_rule_itself():
    assert not allows(("admin",), frozenset()) and allows((), frozenset())
