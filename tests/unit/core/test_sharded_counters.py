"""Sharded counters for hot consumers (issue 11 item 5): the over-admission bound, held
deterministically (manual clock, every shard choice), and the plan field's validation."""

from __future__ import annotations

import itertools

import pytest

from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.core.models import Algorithm, Plan
from shared.core.ratelimit import schedule_of, shard_bucket
from shared.gateway.throttle import Limiter
from shared.management.errors import Invalid
from shared.management.plans import _check_shards

T0 = 1_767_225_600.0


def _admitted(limiters, schedule, n) -> int:
    return sum(
        isinstance(limiters[i % len(limiters)].charge("b", schedule), dict) for i in range(n)
    )


@pytest.mark.parametrize(("limit", "shards"), [(10, 4), (7, 3), (100, 16), (5, 8), (1, 2)])
def test_a_window_admits_at_most_n_times_ceil_limit_over_n(limit, shards):
    clock = ManualClock(T0)
    store = MemoryStore(clock)
    schedule = schedule_of(Plan("p", "P", rate_per_minute=limit, counter_shards=shards))
    bound = shards * -(-limit // shards)
    assert bound <= limit + shards - 1
    # several instances, each starting its turns on a different shard
    limiters = []
    for start in range(3):
        lim = Limiter(store, clock)
        lim._turn = itertools.count(start)
        limiters.append(lim)
    for window in range(3):
        admitted = _admitted(limiters, schedule, 10 * limit + 20)
        assert limit <= admitted <= bound  # never over the bound, never under the limit
        clock.set(T0 + 60 * (window + 1))


def test_every_shard_choice_respects_the_bound():
    # Adversarial: all traffic on one shard first, then the rest: per-shard ceilings hold.
    clock = ManualClock(T0)
    store = MemoryStore(clock)
    plan = Plan("p", "P", rate_per_second=9, counter_shards=3)
    schedule = schedule_of(plan)
    limiter = Limiter(store, clock)
    total = 0
    for shard in (0, 0, 0, 1, 2, 1, 2, 0):
        limiter._turn = itertools.repeat(shard)  # type: ignore[assignment]
        total += sum(isinstance(limiter.charge("b", schedule), dict) for _ in range(5))
    assert total <= 3 * -(-9 // 3)


def test_one_shard_is_the_plain_bucket():
    assert shard_bucket("CON#a#API#x", 0) == "CON#a#API#x"
    assert shard_bucket("CON#a#API#x", 3) == "CON#a#API#x#S3"
    assert schedule_of(Plan("p", "P", rate_per_second=5)).shards == 1


def test_headers_report_the_plans_limit_not_a_shards():
    clock = ManualClock(T0)
    schedule = schedule_of(Plan("p", "P", rate_per_minute=100, counter_shards=4))
    headers = Limiter(MemoryStore(clock), clock).charge("b", schedule)
    assert isinstance(headers, dict)
    assert headers["RateLimit-Policy"] == '"per-minute";q=100;w=60'
    assert headers["RateLimit"].startswith('"per-minute";r=96;')  # (25 - 1) x 4


def test_sharding_needs_fixed_windows():
    _check_shards(Plan("p", "P", counter_shards=4))
    _check_shards(Plan("p", "P", algorithm=Algorithm.SLIDING))
    with pytest.raises(Invalid):
        _check_shards(Plan("p", "P", algorithm=Algorithm.SLIDING, counter_shards=2))
