"""The gateway pipeline end to end over the memory store, named by the status it proves."""

from __future__ import annotations

import dataclasses
import json

import pytest

from shared.core.models import ConsumerStatus, FailMode, KeyState, Subscription, SubscriptionStatus
from shared.management import records
from shared.ports import StoreUnavailable, UpstreamFailure, UpstreamTimeout
from tests.functional.conftest import FREE


def test_200_forwards_with_ratelimit_headers_and_request_id(world):
    resp = world.request(key=world.keys["a"], headers=[("x-request-id", "req-12345678")])
    assert resp.status == 200
    assert resp.headers["RateLimit-Policy"] == '"per-minute";q=3;w=60'
    assert resp.headers["RateLimit"].startswith('"per-minute";r=2;t=')
    assert resp.headers["X-Request-Id"] == "req-12345678"
    sent = world.upstream.requests[0]
    assert sent.url == "http://upstream.test/echo/hi"
    sent_names = {k for k, _ in sent.headers}
    assert "x-api-key" not in sent_names  # credentials never go upstream
    assert ("x-request-id", "req-12345678") in sent.headers
    assert ("x-tollway-consumer", "con_a") in sent.headers
    assert "connection" not in {k.lower() for k in resp.headers}  # hop-by-hop stripped


def test_429_past_the_limit_with_retry_after(world):
    statuses = [world.request(key=world.keys["a"]).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = world.request(key=world.keys["a"])
    assert resp.headers["Retry-After"] == "50"
    assert '"per-minute";r=0' in resp.headers["RateLimit"]
    assert json.loads(resp.body)["status"] == 429
    world.clock.advance(50)
    assert world.request(key=world.keys["a"]).status == 200


def test_401_bodies_are_identical_for_every_credential_failure(world):
    revoked = world.add_key("con_a", "revoked", state=KeyState.REVOKED)
    expired = world.add_key("con_a", "expired", expires_at=world.clock.now() - 1)
    from shared.core import keys as keymod

    unknown = keymod.generate("tw").plaintext
    cases = {
        "missing": [],
        "malformed": [("x-api-key", "tw_nope")],
        "empty": [("x-api-key", "")],
        "unknown": [("x-api-key", unknown)],
        "revoked": [("x-api-key", revoked)],
        "expired": [("x-api-key", expired)],
        "bad bearer": [("authorization", "Bearer a.b.c")],
        "basic": [("authorization", "Basic Zm9vOmJhcg==")],
    }
    responses = {n: world.request(headers=h) for n, h in cases.items()}
    assert {r.status for r in responses.values()} == {401}
    assert len({r.body for r in responses.values()}) == 1
    assert (
        len(
            {
                tuple(sorted((k, v) for k, v in r.headers.items() if k != "X-Request-Id"))
                for r in responses.values()
            }
        )
        == 1
    )


def test_401_before_routing_so_the_catalog_cannot_be_probed(world):
    assert world.request(path="/nope").status == 401


def test_404_for_unknown_route_and_draft_api_never_forwarded(world):
    for path in ["/nope", "/demo/v2/unknown", "/draft/v1/echo/x"]:
        assert world.request(path=path, key=world.keys["a"]).status == 404
    assert world.upstream.requests == []


def test_405_with_allow_for_a_known_path_and_wrong_method(world):
    resp = world.request(method="DELETE", key=world.keys["a"])
    assert resp.status == 405 and resp.headers["Allow"] == "GET, POST"


def test_410_for_a_retired_version(world):
    resp = world.request(path="/demo/v0/echo/x", key=world.keys["a"])
    assert resp.status == 410 and world.upstream.requests == []


def test_deprecated_version_carries_deprecation_and_sunset(world):
    resp = world.request(path="/demo/v1/echo/x", key=world.keys["a"])
    assert resp.status == 200
    assert resp.headers["Deprecation"].startswith("@")
    assert resp.headers["Sunset"].endswith("GMT")


def test_403_when_no_plan_grants_the_api(world):
    resp = world.request(path="/billing/v1/echo/x", key=world.keys["a"])
    assert resp.status == 403 and json.loads(resp.body)["type"].endswith("not-subscribed")


def test_403_while_a_subscription_awaits_approval(world):
    records.save_unaudited(
        world.store,
        [
            records.put_subscription_write(
                Subscription("sub_b", "con_a", "other", SubscriptionStatus.PENDING)
            )
        ],
    )
    resp = world.request(path="/billing/v1/echo/x", key=world.keys["a"])
    assert resp.status == 403 and b"awaiting approval" in resp.body


def test_403_for_a_suspended_consumer_after_the_cache_ttl(world):
    assert world.request(key=world.keys["a"]).status == 200
    con = records.get_consumer(world.store, "con_a")
    records.save_unaudited(
        world.store,
        [records.put_consumer_write(dataclasses.replace(con, status=ConsumerStatus.SUSPENDED))],
    )
    assert world.request(key=world.keys["a"]).status == 200  # cached
    world.clock.advance(5.01)
    assert world.request(key=world.keys["a"]).status == 403


def test_revocation_reaches_the_gateway_within_the_cache_ttl(world):
    assert world.request(key=world.keys["a"]).status == 200
    rec = records.key_by_hash(
        world.store, __import__("hashlib").sha256(world.keys["a"].encode()).hexdigest()
    )
    revoked = dataclasses.replace(rec, state=KeyState.REVOKED)
    records.save_unaudited(world.store, records.key_writes(revoked))
    world.clock.advance(5.01)
    assert world.request(key=world.keys["a"]).status == 401


def test_per_consumer_override_changes_the_limit(world):
    records.save_unaudited(
        world.store,
        [
            records.put_subscription_write(
                Subscription("sub_a", "con_a", "free", overrides={"rate_per_minute": 1})
            )
        ],
    )
    assert [world.request(key=world.keys["a"]).status for _ in range(2)] == [200, 429]


def test_all_keys_of_a_consumer_share_its_limits(world):
    second = world.add_key("con_a", "second")
    statuses = [world.request(key=k).status for k in (world.keys["a"], second) * 2]
    assert statuses == [200, 200, 200, 429]


def test_400_for_ambiguous_credentials(world):
    resp = world.request(key=world.keys["a"], headers=[("x-api-key", world.keys["a"])])
    assert resp.status == 400
    resp = world.request(key=world.keys["a"], headers=[("authorization", "Bearer x.y.z")])
    assert resp.status == 400


def test_bad_input_gets_a_specific_4xx(world):
    k = world.keys["a"]
    assert world.request(key=k, headers=[("x-bad", "a\x00b")]).status == 400
    assert world.request(key=k, headers=[("x-bad", "caf\u00e9")]).status == 400
    assert world.request(key=k, headers=[("x-big", "a" * 17_000)]).status == 431
    assert world.request(key=k, method="POST", body=b"x" * 2048).status == 413
    assert world.request(path="/demo/v2/echo/../../admin", key=k).status == 400
    # An encoded NUL has no canonical path (core.paths): refused, not passed on to decode.
    assert world.request(path="/demo/v2/echo/%00", key=k).status == 400
    assert world.request(path="/demo/v2/echo/%41%7e", key=k).status == 200
    assert world.request(key=k, method="G(T").status == 400


def test_504_and_502_for_upstream_timeout_and_failure(world):
    world.upstream.fail = UpstreamTimeout("slow")
    assert world.request(key=world.keys["a"]).status == 504
    world.upstream.fail = UpstreamFailure("refused")
    assert world.request(key=world.keys["a"]).status == 502


class FlakyStore:
    """Wraps a store; fails chosen operations with StoreUnavailable."""

    def __init__(self, inner, fail_on):
        self.inner, self.fail_on = inner, set(fail_on)
        self.capabilities = inner.capabilities

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name in self.fail_on:

            def boom(*a, **kw):
                raise StoreUnavailable(name)

            return boom
        return attr


def _rewire(world, store, plan=FREE):
    from shared.gateway.directory import Directory
    from shared.gateway.service import Gateway
    from shared.gateway.throttle import Limiter

    records.save_unaudited(world.store, [records.put_plan_write(plan)])
    return Gateway(
        Directory(store, world.clock),
        Limiter(store, world.clock),
        world.clock,
        upstream=world.upstream,
        usage=world.usage,
    )


def test_503_when_the_counter_store_fails_and_the_plan_fails_closed(world):
    world.gateway = _rewire(world, FlakyStore(world.store, {"hit"}))
    resp = world.request(key=world.keys["a"])
    assert resp.status == 503 and resp.headers["Retry-After"] == "1"


def test_fail_open_plan_admits_when_the_counter_store_fails(world):
    world.gateway = _rewire(
        world, FlakyStore(world.store, {"hit"}), dataclasses.replace(FREE, fail_mode=FailMode.OPEN)
    )
    assert world.request(key=world.keys["a"]).status == 200


def test_key_lookup_failure_always_denies_even_for_fail_open_plans(world):
    world.gateway = _rewire(
        world, FlakyStore(world.store, {"get"}), dataclasses.replace(FREE, fail_mode=FailMode.OPEN)
    )
    assert world.request(key=world.keys["a"]).status == 503
    assert world.upstream.requests == []


def test_one_store_round_trip_per_request_in_steady_state(world):
    world.request(key=world.keys["a"])  # warms the caches
    before = world.store.round_trips
    world.request(key=world.keys["a"])
    assert world.store.round_trips - before == 1


def test_one_usage_event_per_authenticated_request_and_none_for_anonymous(world):
    world.request(key=world.keys["a"], headers=[("x-request-id", "req-00000001")])
    world.request(path="/nope", key=world.keys["a"])
    world.request()
    assert [e.status for e in world.usage.events] == [200, 404]
    e = world.usage.events[0]
    assert (e.consumer_id, e.key_id, e.api_id, e.method) == ("con_a", "key_a", "demo-v2", "GET")


def test_a_reused_client_request_id_cannot_merge_usage_events(world):
    # GIVEN a caller who sends the same X-Request-Id twice (metering dedups by request id)
    for _ in range(2):
        resp = world.request(key=world.keys["a"], headers=[("x-request-id", "req-same-0001")])
        assert resp.headers["X-Request-Id"] == "req-same-0001"  # still echoed for tracing
    # THEN the two requests are two events with the gateway's own, distinct ids
    ids = [e.request_id for e in world.usage.events]
    assert len(set(ids)) == 2 and "req-same-0001" not in ids


@pytest.mark.parametrize("change", ["cancel and re-subscribe", "move to another plan"])
def test_a_spent_limit_stays_spent_across_subscription_changes(world, change):
    """Counters are per consumer and API, not per subscription (issue 9: cancelling and
    re-subscribing used to reset a spent quota)."""
    from shared.management import subscriptions
    from shared.management.entities import ADMIN_TOKEN_ACTOR as ADMIN

    # GIVEN con_a has used up its limit on the free plan
    assert [world.request(key=world.keys["a"]).status for _ in range(4)][-1] == 429
    # WHEN its subscription changes within the same window
    if change == "cancel and re-subscribe":
        subscriptions.cancel(world.store, world.clock, ADMIN, "con_a", "sub_a")
        subscriptions.grant(world.store, world.clock, ADMIN,
                            records.get_consumer(world.store, "con_a"), "free", {})
    else:
        records.save_unaudited(world.store, [records.put_plan_write(
            dataclasses.replace(FREE, id="free2", name="Free 2"))])
        subscriptions.update(world.store, world.clock, ADMIN, "con_a", "sub_a",
                             {"plan_id": "free2"})
    world.clock.advance(6)  # past the cache TTL, still inside the minute
    # THEN the gateway sees the new subscription and still refuses: the count was kept
    resp = world.request(key=world.keys["a"])
    assert resp.status == 429, resp.body
