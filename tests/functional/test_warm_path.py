"""The gateway's warm path (issue 11 item 2): a key seen before on a method and path skips
every lookup, yet never outlives the cache TTL bound of what it was resolved from, and
the warm decision's cost is bounded by a CALL COUNT (deterministic, not a timing)."""

from __future__ import annotations

import sys

from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.core.models import Algorithm, KeyRecord, KeyState, Plan
from shared.core.ratelimit import (
    decide,
    limits_of,
    plan_counters,
    ratelimit_headers,
    schedule_of,
)
from shared.core.request import GatewayRequest
from shared.management import records
from tests.functional.conftest import T0, make_world

#: Python + C calls of one warm key-path decide() (60 when written): a regression that
#: adds lookups, parsing or objects to the warm path shows up here, without timing noise.
MAX_WARM_CALLS = 75


def _calls(fn) -> int:
    n = 0

    def prof(frame, event, arg):
        nonlocal n
        if event in ("call", "c_call"):
            n += 1

    sys.setprofile(prof)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return n - 1


def _big(world) -> None:
    big = Plan("free", "Free", apis=("demo",), rate_per_minute=10**9, quota_per_day=10**9)
    records.save_unaudited(world.store, [records.put_plan_write(big)])


def test_warm_decide_call_count_is_bounded():
    world = make_world(ttl=60)
    _big(world)
    req = GatewayRequest(
        "GET",
        "/demo/v2/echo/hi",
        "",
        (("x-api-key", world.keys["a"]), ("x-request-id", "abc-12345")),
    )
    assert world.gateway.decide(req).outcome.value == "ok"
    assert _calls(lambda: world.gateway.decide(req)) <= MAX_WARM_CALLS


def test_warm_entry_never_outlives_the_key_it_came_from():
    world = make_world(ttl=5)
    _big(world)
    key = world.keys["a"]
    assert world.request("/demo/v2/echo/a", key=key).status == 200  # key cached at T0
    world.clock.advance(3)
    assert world.request("/demo/v2/echo/b", key=key).status == 200  # warm entry for b
    rec = records.key_by_hash(world.store, _hash(key))
    records.save_unaudited(
        world.store,
        records.key_writes(KeyRecord(**{**_fields(rec), "state": KeyState.REVOKED})),
    )
    world.clock.advance(1)
    assert world.request("/demo/v2/echo/b", key=key).status == 200  # still within the TTL
    world.clock.advance(1.1)  # T0 + 5.1: the key's cache entry (T0 + 5) has expired
    assert world.request("/demo/v2/echo/b", key=key).status == 401


def test_warm_key_expiry_is_checked_on_every_request():
    world = make_world(ttl=60)
    _big(world)
    key = world.add_key("con_a", "short", expires_at=T0 + 10)
    assert world.request(key=key).status == 200
    assert world.request(key=key).status == 200  # warm
    world.clock.advance(10)
    assert world.request(key=key).status == 401


def test_schedule_charge_decides_as_plan_counters_decide_and_headers():
    for plan in (
        Plan("p", "P", rate_per_second=3, rate_per_minute=5, quota_per_day=7),
        Plan("q", "Q", rate_per_minute=2, quota_per_month=4),
        Plan("r", "R", quota_per_day=3, algorithm=Algorithm.SLIDING, request_cost=2),
    ):
        clock = ManualClock(T0 + 0.25)
        a, b = MemoryStore(clock), MemoryStore(clock)
        sched = schedule_of(plan)
        assert sched.fixed
        for i in range(12):
            now = clock.now()
            cp = plan_counters(limits_of(plan), Algorithm.FIXED, now, plan.request_cost, {})
            expected = decide(cp, a.hit("b", cp.slots, (), cp.cost))
            got = sched.charge(b.hit, "b", now)
            if expected.admitted:
                assert got == ratelimit_headers(expected.states)
            else:
                assert got == expected
            clock.advance(0.4 if i % 3 else 17)


def _hash(key: str) -> str:
    from shared.core.keys import hash_key

    return hash_key(key)


def _fields(rec) -> dict:
    import dataclasses

    return {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec)}
