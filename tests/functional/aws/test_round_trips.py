"""DynamoDB requests per gateway request, counted with a botocore event hook on the very
client the store uses: exactly one (the rate-limit UpdateItem) in steady state, and the
usage event adds none (it is a log line)."""

from __future__ import annotations

from dataclasses import replace

import pytest


@pytest.fixture
def route(handlers, ctx):
    return lambda ev: handlers["router"].handler(ev, ctx)


def test_exactly_one_dynamodb_request_per_gateway_request_in_steady_state(
    world, route, handlers, monkeypatch, capsys
):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )
    route(world.proxy(key=world.keys["a"]))  # warm: key, consumer, plan, routes cached
    world.calls.clear()
    for i in range(3):  # 200, 200, 429: the limiter's one call either way
        world.clock.advance(1)
        route(world.proxy(key=world.keys["a"]))
        assert dict(world.calls) == {"UpdateItem": 1}, f"request {i}"
        world.calls.clear()
    out = capsys.readouterr().out
    assert out.count("TOLLWAY_USAGE ") == 4  # metered, with no DynamoDB request for it


def test_behind_the_authorizer_the_one_request_is_the_authorizers(world, handlers, ctx):
    authorize = handlers["authorizer"].handler
    route = handlers["router"].handler
    from tests.functional.aws.test_authorizer import behind

    auth = world.authorizer_event(key=world.keys["a"])
    route(behind(world, auth, authorize(auth, ctx)), ctx)  # warm both
    world.calls.clear()
    auth = world.authorizer_event(key=world.keys["a"])
    answer = authorize(auth, ctx)
    assert dict(world.calls) == {"UpdateItem": 1}
    world.calls.clear()
    assert route(behind(world, auth, answer), ctx)["statusCode"] == 200
    assert dict(world.calls) == {}


def test_denials_before_the_limiter_cost_nothing_once_cached(world, route, handlers, monkeypatch):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )
    route(world.proxy("/billing/v1/echo/x", key=world.keys["a"]))
    route(world.proxy(headers={"x-api-key": "tw_garbage"}))
    world.calls.clear()
    assert route(world.proxy("/billing/v1/echo/x", key=world.keys["a"]))["statusCode"] == 403
    assert route(world.proxy(headers={"x-api-key": "tw_garbage"}))["statusCode"] == 401
    assert world.dynamodb_calls() == 0
