"""Fault injection on the DynamoDB client (botocore event hooks): a key lookup that fails
always denies with 503 — never a 500, never a hang — in the router and in the authorizer."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from shared.core import keys as keymod
from shared.core.models import FailMode
from shared.management import records
from shared.settings import from_env
from shared.wiring import build_store
from tests.functional.aws.conftest import FREE, body

FAULTS = {
    "connection refused": lambda: EndpointConnectionError(endpoint_url="https://dynamodb.test"),
    "read timeout": lambda: ReadTimeoutError(endpoint_url="https://dynamodb.test"),
    "throttled": lambda: ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "GetItem",
    ),
    "internal error": lambda: ClientError(
        {"Error": {"Code": "InternalServerError", "Message": "oops"}}, "GetItem"
    ),
}


def inject(world, operation: str, fault):
    def hook(**kw):
        if kw["model"].name == operation:
            raise fault()

    world.client.meta.events.register("before-call.dynamodb", hook)


@pytest.fixture
def route(handlers, ctx, monkeypatch):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )
    return lambda ev: handlers["router"].handler(ev, ctx)


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_503_when_the_key_lookup_fails(world, route, fault):
    inject(world, "GetItem", FAULTS[fault])
    fresh = keymod.generate("tw").plaintext  # not cached: the lookup must go to DynamoDB
    started = time.monotonic()
    resp = route(world.proxy(key=fresh))
    assert time.monotonic() - started < 5
    assert resp["statusCode"] == 503
    assert resp["headers"]["Retry-After"] == "1"
    assert body(resp)["status"] == 503


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_authorizer_hands_a_store_failure_to_the_router_which_answers_503(
    world, handlers, ctx, fault
):
    # API Gateway turns every authorizer deny into a bare 403, which would read as "bad
    # key": a store failure is handed on and the router renders 503 + Retry-After instead.
    inject(world, "GetItem", FAULTS[fault])
    key = keymod.generate("tw").plaintext
    answer = handlers["authorizer"].handler(world.authorizer_event(key=key), ctx)
    assert answer["isAuthorized"] is True
    assert answer["context"]["outcome"] == "store-unavailable"
    resp = handlers["router"].handler(world.proxy(key=key, authorizer=answer["context"]), ctx)
    assert resp["statusCode"] == 503 and resp["headers"]["Retry-After"] == "1"
    assert body(resp)["status"] == 503


def test_authorizer_denies_rather_than_raising_on_a_bug(world, handlers, ctx, monkeypatch):
    def boom(req):
        raise RuntimeError("bug")

    monkeypatch.setattr(handlers["authorizer"].gateway, "decide", boom)
    answer = handlers["authorizer"].handler(world.authorizer_event(key=world.keys["a"]), ctx)
    assert answer["isAuthorized"] is False


def test_503_when_the_limiter_fails_on_a_fail_closed_plan(world, route):
    route(world.proxy(key=world.keys["a"]))  # caches warm; only the limiter call remains
    inject(world, "UpdateItem", FAULTS["connection refused"])
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["statusCode"] == 503


def test_200_and_a_fail_open_metric_on_a_fail_open_plan(world, route, capsys):
    import dataclasses

    records.save_unaudited(
        world.store, [records.put_plan_write(dataclasses.replace(FREE, fail_mode=FailMode.OPEN))]
    )
    route(world.proxy(key=world.keys["a"]))
    inject(world, "UpdateItem", FAULTS["read timeout"])
    capsys.readouterr()
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["statusCode"] == 200
    assert '"FailOpen"' in capsys.readouterr().out


def test_the_deployed_store_cannot_hang_a_request(monkeypatch):
    """The store a handler builds from its settings has one-second timeouts and at most two
    attempts: a black-holed DynamoDB costs a few seconds and a 503, never the Lambda timeout."""
    settings = from_env({"TOLLWAY_STORE": "dynamodb", "TOLLWAY_TABLE": "tollway-test"})
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = build_store(settings)
    wire = store._client  # the store's own DynamoDB client (shared/adapters/dynamodb_http.py)
    assert wire.connect_timeout <= 1 and wire.read_timeout <= 1
    assert wire.max_attempts <= 2
