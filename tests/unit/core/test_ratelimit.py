import calendar

from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.core.models import Algorithm, Plan
from shared.core.ratelimit import (
    HitResult,
    Unit,
    decide,
    limits_of,
    plan_counters,
    ratelimit_headers,
)
from shared.gateway.throttle import Limiter

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_calendar_month_windows():
    feb = calendar.timegm((2026, 2, 14, 12, 0, 0))
    _, start, end = Unit.MONTH.window(feb)
    assert start == calendar.timegm((2026, 2, 1, 0, 0, 0))
    assert end - start == 28 * 86_400
    dec = calendar.timegm((2026, 12, 31, 23, 59, 59))
    assert Unit.MONTH.window(dec)[2] == calendar.timegm((2027, 1, 1, 0, 0, 0))


def test_fixed_minute_window_admits_exactly_max_then_resets():
    clock = ManualClock(T0 + 10)
    limiter = Limiter(MemoryStore(clock), clock)
    plan = Plan("p", "P", rate_per_minute=3)
    admitted = [limiter.check("b", plan).decision.admitted for _ in range(5)]
    assert admitted == [True, True, True, False, False]
    denied = limiter.check("b", plan).decision
    assert denied.retry_after == 50 and denied.exceeded.name == "per-minute"
    clock.advance(50)
    assert limiter.check("b", plan).decision.admitted


def test_quota_denial_is_reported_as_quota():
    clock = ManualClock(T0)
    limiter = Limiter(MemoryStore(clock), clock)
    plan = Plan("p", "P", rate_per_minute=100, quota_per_day=2)
    for _ in range(2):
        assert limiter.check("b", plan).decision.admitted
    d = limiter.check("b", plan).decision
    assert not d.admitted and d.exceeded.is_quota and d.retry_after == 86_400


def test_request_cost_counts_against_the_limit():
    clock = ManualClock(T0)
    limiter = Limiter(MemoryStore(clock), clock)
    plan = Plan("p", "P", rate_per_minute=10, request_cost=4)
    assert [limiter.check("b", plan).decision.admitted for _ in range(3)] == [True, True, False]


def test_sliding_window_carries_the_previous_window_weight():
    # GIVEN 10/min sliding, fully used in the previous minute
    clock = ManualClock(T0 + 59)
    store = MemoryStore(clock)
    plan = Plan("p", "P", rate_per_minute=10, algorithm=Algorithm.SLIDING)
    limiter = Limiter(store, clock)
    assert all(limiter.check("b", plan).decision.admitted for _ in range(10))
    # WHEN a quarter into the next minute (75% of the previous window still overlaps)
    clock.set(T0 + 60 + 15)
    results = [limiter.check("b", plan).decision.admitted for _ in range(5)]
    # THEN only 10 - floor(10 * 0.75) = 3 more are admitted
    assert results == [True, True, True, False, False]


def test_sliding_window_is_exact_when_another_process_filled_the_previous_window():
    clock = ManualClock(T0 + 30)
    store = MemoryStore(clock)
    plan = Plan("p", "P", rate_per_minute=10, algorithm=Algorithm.SLIDING)
    other = Limiter(store, clock)
    for _ in range(10):
        other.check("b", plan)
    clock.set(T0 + 60 + 30)  # half of the previous window overlaps: 5 remain
    fresh = Limiter(store, clock)  # knows nothing about the previous window
    admitted = [fresh.check("b", plan).decision.admitted for _ in range(8)]
    assert admitted.count(True) == 5


def test_ratelimit_headers_follow_the_draft_format():
    plan = Plan("p", "P", rate_per_minute=5, quota_per_day=100)
    cp = plan_counters(limits_of(plan), plan.algorithm, T0 + 20, 1, {})
    d = decide(cp, HitResult(True, {cp.slots[0].name: 2, cp.slots[1].name: 7}))
    h = ratelimit_headers(d.states)
    assert h["RateLimit-Policy"] == '"per-minute";q=5;w=60, "per-day";q=100;w=86400'
    assert h["RateLimit"] == '"per-minute";r=3;t=40, "per-day";r=93;t=86380'


def test_plan_without_limits_always_admits():
    clock = ManualClock(T0)
    store = MemoryStore(clock)
    d = Limiter(store, clock).check("b", Plan("p", "P")).decision
    assert d.admitted and store.round_trips == 0
