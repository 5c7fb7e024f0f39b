"""The REQUEST authorizer (payload 2.0, simple responses), alone and in front of the router.

API Gateway turns every ``isAuthorized: false`` into its own 403, so the deny context is
only for logs and these tests: it carries the status the local stack would have answered.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from shared.adapters import log_usage as aws_usage
from shared.core import keys as keymod
from shared.core.models import KeyState
from tests.functional.aws.conftest import body, event, usage_lines


@pytest.fixture
def authorize(handlers, ctx):
    return lambda ev: handlers["authorizer"].handler(ev, ctx)


@pytest.fixture
def route(handlers, ctx):
    return lambda ev: handlers["router"].handler(ev, ctx)


def behind(world, auth_event, answer):
    """The proxy event API Gateway sends the router after ``answer`` allowed ``auth_event``."""
    ev = world.proxy(
        auth_event["rawPath"],
        name="http_api_v2_proxy_after_authorizer",
        method=auth_event["requestContext"]["http"]["method"],
    )
    ev["requestContext"]["requestId"] = auth_event["requestContext"]["requestId"]
    ev["headers"].update({k: v for k, v in auth_event["headers"].items()})
    ev["requestContext"]["authorizer"] = {"lambda": answer["context"]}
    return ev


def test_allow_carries_consumer_plan_key_and_ratelimit_context(world, authorize):
    answer = authorize(world.authorizer_event(key=world.keys["a"]))
    assert answer["isAuthorized"] is True
    c = answer["context"]
    assert (c["consumer"], c["plan"], c["keyId"], c["subscription"]) == (
        "con_a",
        "free",
        "key_a",
        "sub_a",
    )
    assert c["requestId"] == "KUs8BiEIIAM0001"
    assert all(isinstance(v, str | int | bool) for v in c.values())  # flat, as API GW needs
    assert json.loads(c["headers"])["RateLimit-Policy"] == '"per-minute";q=3;w=60'


def test_deny_401_identical_for_every_credential_failure(world, authorize):
    revoked = world.add_key("con_a", "revoked", state=KeyState.REVOKED)
    cases = [
        {},
        {"x-api-key": "tw_nope"},
        {"x-api-key": keymod.generate("tw").plaintext},
        {"x-api-key": revoked},
        {"authorization": "Bearer a.b.c"},
    ]
    answers = [authorize(world.authorizer_event(headers=h)) for h in cases]
    assert all(
        a == {"isAuthorized": False, "context": {"status": 401, "reason": "unauthorized"}}
        for a in answers
    )


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/billing/v1/echo/x", 403, "not-subscribed"),
        ("/nope", 404, "route-not-found"),
        ("/demo/v0/echo/x", 410, "api-retired"),
    ],
)
def test_deny_403_404_410(world, authorize, path, status, reason):
    answer = authorize(world.authorizer_event(path, key=world.keys["a"]))
    assert answer == {"isAuthorized": False, "context": {"status": status, "reason": reason}}


def test_deny_429_once_the_limit_is_spent_and_the_denial_is_metered(world, authorize, capsys):
    answers = [authorize(world.authorizer_event(key=world.keys["a"])) for _ in range(4)]
    assert [a["isAuthorized"] for a in answers] == [True, True, True, False]
    assert answers[-1]["context"] == {"status": 429, "reason": "rate-limited"}
    events = [aws_usage.parse(x) for x in usage_lines(capsys.readouterr().out)]
    assert [(e.status, e.cost) for e in events] == [(429, 0)]  # allows are metered by router


def test_no_policy_document_so_no_wildcard_allow_can_be_cached(world, authorize):
    answer = authorize(world.authorizer_event(key=world.keys["a"]))
    assert set(answer) == {"isAuthorized", "context"}


def test_chain_200_router_resumes_without_charging_the_limit_again(world, authorize, route):
    statuses = []
    for _ in range(4):
        auth = world.authorizer_event(key=world.keys["a"])
        answer = authorize(auth)
        if not answer["isAuthorized"]:
            statuses.append(answer["context"]["status"])
            continue
        resp = route(behind(world, auth, answer))
        statuses.append(resp["statusCode"])
        assert resp["headers"]["RateLimit-Policy"] == '"per-minute";q=3;w=60'
        assert resp["headers"]["X-Request-Id"] == auth["requestContext"]["requestId"].rstrip("=")
        sent = body(resp)
        assert sent["headers"]["x-tollway-consumer"] == "con_a"
        assert "x-api-key" not in sent["headers"]
    # Charged once per request: a second charge in the router would 429 the second call.
    assert statuses == [200, 200, 200, 429]


def test_chain_router_still_routes_and_checks_the_body(world, authorize, route, handlers):
    auth = world.authorizer_event(key=world.keys["a"], method="POST")
    answer = authorize(auth)
    assert answer["isAuthorized"] is True
    ev = behind(world, auth, answer)
    ev["body"] = "x" * (handlers["router"].gateway.max_body + 1)
    assert route(ev)["statusCode"] == 413


def test_chain_one_usage_line_per_request(world, authorize, route, capsys):
    auth = world.authorizer_event(key=world.keys["a"])
    route(behind(world, auth, authorize(auth)))
    events = [aws_usage.parse(x) for x in usage_lines(capsys.readouterr().out)]
    assert [(e.status, e.consumer_id, e.key_id, e.cost) for e in events] == [
        (200, "con_a", "key_a", 1)
    ]


def test_router_ignores_context_that_is_not_from_our_authorizer(world, route):
    ev = copy.deepcopy(event("http_api_v2_proxy_after_authorizer"))
    ev["requestContext"]["authorizer"]["lambda"]["mark"] = "someone-else"
    assert route(ev)["statusCode"] == 401  # no credential: the full pipeline ran


def test_router_ignores_authorizer_context_unless_configured_to_trust_it(
    world, route, handlers, monkeypatch
):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )
    ev = copy.deepcopy(event("http_api_v2_proxy_after_authorizer"))
    assert route(ev)["statusCode"] == 401


def test_fixture_context_resumes_to_200(world, route):
    resp = route(copy.deepcopy(event("http_api_v2_proxy_after_authorizer")))
    assert resp["statusCode"] == 200
    assert resp["headers"]["RateLimit"] == '"per-minute";r=2;t=50'
    assert resp["headers"]["X-Request-Id"] == "KUs8DkGKoAMEb_x"


def test_chain_propagates_the_callers_request_id_as_correlation(world, authorize, route):
    auth = world.authorizer_event(key=world.keys["a"])
    auth["headers"]["x-request-id"] = "caller-trace-42"
    resp = route(behind(world, auth, authorize(auth)))
    assert resp["statusCode"] == 200
    assert resp["headers"]["X-Request-Id"] == "caller-trace-42"
    assert body(resp)["headers"]["x-request-id"] == "caller-trace-42"


def test_chain_anonymous_route_allowed_without_credentials_and_counted_per_ip(
    world, authorize, route
):
    """EnableAuthorizer=true: a public route needs no key; the router applies its per-IP
    limit (2 a minute); the API's other routes still deny a request without credentials."""
    from shared.core.models import Route
    from shared.core.policy import parse
    from shared.management import records

    api = next(a for a in records.list_apis(world.store) if a.id == "demo-v2")
    public = Route("GET", "/public/*", (), parse({"anonymous": {"rate_per_minute": 2}}))
    records.save_unaudited(world.store, [records.put_api_write(
        replace(api, routes=(*api.routes, public)))])
    statuses = []
    for _ in range(3):
        auth = world.authorizer_event("/demo/v2/public/x")
        answer = authorize(auth)
        assert answer["isAuthorized"] is True
        assert answer["context"]["anonymous"] is True and answer["context"]["consumer"] == ""
        resp = route(behind(world, auth, answer))
        statuses.append(resp["statusCode"])
        if resp["statusCode"] == 200:
            assert body(resp)["headers"]["x-tollway-consumer"] == ""
    assert statuses == [200, 200, 429]
    denied = authorize(world.authorizer_event("/demo/v2/echo/x"))
    assert denied["isAuthorized"] is False and denied["context"]["status"] == 401
