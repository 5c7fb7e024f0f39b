"""Preflights with the authorizer on (issue 10 item 2, the template half) and reserved
concurrency that isolates the functions (item 6)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.functional.aws.conftest import MockUpstream
from tests.functional.aws.test_fixtures import resources

PORTAL = "https://d111111abcdef8.cloudfront.net"
PREFLIGHT = {"origin": PORTAL, "access-control-request-method": "GET",
             "access-control-request-headers": "x-api-key"}


@pytest.fixture
def router(world, handlers, monkeypatch):
    """The router as the template deploys it: authorizer in front, the portal's origin."""
    mod = handlers["router"]
    conf = replace(mod.settings, authorizer_in_front=True, cors_origins=(PORTAL,))
    monkeypatch.setattr(mod, "settings", conf)
    upstream = MockUpstream(lambda r: world.upstream_handler(r))
    monkeypatch.setattr(mod, "gateway", mod.build(conf, store=world.store, clock=world.clock,
                                                  upstream=upstream))
    return mod


def options_event(world, path: str, headers: dict[str, str]) -> dict:
    """An OPTIONS request on the template's GatewayPreflightRoute (no authorizer context)."""
    ev = world.proxy(path, method="OPTIONS", headers=headers)
    ev["routeKey"] = ev["requestContext"]["routeKey"] = "OPTIONS /{proxy+}"
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    return ev


def test_preflight_on_the_options_route_is_answered_by_the_router_without_a_key(
    world, router, ctx
):
    resp = router.handler(options_event(world, "/demo/v2/echo/hello", PREFLIGHT), ctx)
    assert resp["statusCode"] == 204
    assert resp["headers"]["Access-Control-Allow-Origin"] == PORTAL
    assert "X-Api-Key" in resp["headers"]["Access-Control-Allow-Headers"]
    assert world.dynamodb_calls() == 0  # before authentication: no lookup, no charge


def test_other_options_on_that_route_still_meet_the_whole_pipeline(world, router, ctx):
    stranger = dict(PREFLIGHT, origin="https://evil.example")
    assert router.handler(options_event(world, "/demo/v2/echo/x", stranger), ctx)[
        "statusCode"] == 401
    plain = options_event(world, "/demo/v2/echo/x", {})
    assert router.handler(plain, ctx)["statusCode"] == 401  # no authorizer: router checks


def test_template_routes_options_to_the_router_without_the_authorizer():
    res = resources()
    route = res["GatewayPreflightRoute"]["Properties"]
    assert route["RouteKey"] == "OPTIONS /{proxy+}"
    assert route["AuthorizationType"] == "NONE" and "AuthorizerId" not in route
    assert route["Target"] == res["GatewayRoute"]["Properties"]["Target"]  # the router
    # API Gateway's own CORS would override the pipeline's headers: the pipeline owns CORS.
    assert "CorsConfiguration" not in res["GatewayApi"]["Properties"]
    router_env = res["RouterFunction"]["Properties"]["Environment"]["Variables"]
    mgmt_env = res["ManagementFunction"]["Properties"]["Environment"]["Variables"]
    assert router_env["TOLLWAY_CORS_ORIGINS"] == mgmt_env["TOLLWAY_CORS_ORIGINS"]


FUNCTIONS = {
    "RouterFunction": "RouterReservedConcurrency",
    "AuthorizerFunction": "AuthorizerReservedConcurrency",
    "ManagementFunction": "ManagementReservedConcurrency",
    "MeteringFunction": "MeteringReservedConcurrency",
}


def test_every_function_has_reserved_concurrency_by_default_within_the_account_quota():
    import yaml

    from tests.functional.aws.test_fixtures import TEMPLATE
    from tests.functional.aws.test_template_policies import _CfnLoader

    doc = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    params, res = doc["Parameters"], doc["Resources"]
    defaults = {}
    for fn, param in FUNCTIONS.items():
        reserved = res[fn]["Properties"]["ReservedConcurrentExecutions"]
        assert param in str(reserved), fn  # !If [Reserve..., !Ref <param>, NoValue]
        defaults[fn] = params[param]["Default"]
        assert defaults[fn] > 0 and params[param]["MinValue"] == 0
    # The default account quota is 1,000 of which 100 must stay unreserved.
    assert sum(defaults.values()) <= 900
    # A gateway flood is capped below what management and metering keep for themselves.
    assert defaults["ManagementFunction"] >= 10 and defaults["MeteringFunction"] >= 5
