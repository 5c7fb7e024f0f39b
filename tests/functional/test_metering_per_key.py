"""The hourly usage aggregate also counts requests per key and keeps a latency sketch, in
the same transaction as before: redeliveries add nothing, and "last used" and the
developer's own percentiles read them back."""

from datetime import date

import pytest

from shared.adapters.memory import MemoryStore
from shared.adapters.sqlite import SqliteStore
from shared.core import sketch
from shared.core.clock import ManualClock
from shared.core.models import UsageEvent
from shared.management import usage
from shared.metering.aggregate import (
    MAX_FIELDS,
    key_field,
    key_of,
    read_usage,
    record_batch,
)
from shared.metering.analytics import record_all

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    clock = ManualClock(T0 + 7200)
    s = MemoryStore(clock) if request.param == "memory" else SqliteStore(
        str(tmp_path / "t.db"), clock)
    yield s
    s.close()


def ev(rid, key="key_a", ts=T0 + 10, ms=2.0, status=200, api="demo-v2"):
    return UsageEvent(rid, ts, "con_a", key, api, "/echo/*", "GET", status, 1, 1, ms)


def test_key_fields_are_identifiers_and_round_trip():
    for key_id in ("key_AbC-d_9", "key_" + "x" * 22, "k1", "kéy"):
        name = key_field(key_id)
        assert name.isidentifier() and name.isascii() and len(name) <= 255
        assert key_of(name) == key_id
    assert key_field("key_a-1") == "k_key_5fa_2d1"
    assert key_of("requests") is None and key_of("l12") is None


def test_requests_are_counted_per_key_once_despite_redelivery(store):
    batch = [ev("r1"), ev("r2"), ev("r3", key="key_b-2"), ev("r4", ts=T0 + 3610)]
    first = record_all(store, batch, now=T0 + 7200)
    again = record_all(store, list(reversed(batch)), now=T0 + 7200)  # redelivered, reordered

    assert (first.groups, again.groups, again.duplicates) == (2, 0, 2)
    hour0, hour1 = read_usage(store, "con_a")
    assert hour0[key_field("key_a")] == 2 and hour0[key_field("key_b-2")] == 1
    assert hour1[key_field("key_a")] == 1 and key_field("key_b-2") not in hour1
    assert usage.last_used(store, "con_a", date(2026, 1, 1)) == {
        "key_a": T0 + 3600, "key_b-2": T0}


def test_jwt_requests_without_a_key_add_no_key_field(store):
    record_batch(store, [ev("r1", key="")])

    (agg,) = read_usage(store, "con_a")
    assert not [f for f in agg if key_of(f) is not None] and agg["requests"] == 1


def test_the_sketch_gives_the_consumers_percentiles_within_5_percent(store):
    latencies = [float(ms) for ms in range(1, 101)]  # 1..100 ms
    record_batch(store, [ev(f"r{i}", ms=ms) for i, ms in enumerate(latencies)])
    record_batch(store, [ev(f"r{i}", ms=ms) for i, ms in enumerate(latencies)])  # again

    rows, total = usage.report(store, "con_a", usage.Period(date(2026, 1, 1),
                                                           date(2026, 1, 1)),
                               hourly=False, api_id=None)
    assert total.requests == 100 and sum(total.latency.values()) == 100
    assert total.percentile(0.5) == pytest.approx(50.5, rel=0.05)
    assert total.percentile(0.99) == pytest.approx(99, rel=0.05)
    assert usage.by_api(rows)["demo-v2"].latency == total.latency


def test_a_widely_spread_group_keeps_at_most_max_fields_and_its_tail(store):
    latencies = [0.1 * sketch.GAMMA**(i + 0.5) for i in range(100)]  # 100 buckets, 0.1 ms .. 2 s
    record_batch(store, [ev(f"r{i}", ms=ms) for i, ms in enumerate(latencies)])

    (agg,) = read_usage(store, "con_a")
    counted = [f for f in agg if f not in ("consumer_id", "api_id", "hour")]
    assert len(counted) <= MAX_FIELDS
    buckets = sketch.merge(agg)
    assert len(buckets) < 100 and sum(buckets.values()) == 100  # folded, never dropped
    assert sketch.quantile(buckets, 0.99) == pytest.approx(latencies[98], rel=0.05)


def test_an_analytics_cell_is_bounded_the_same_way(store):
    latencies = [0.1 * sketch.GAMMA**(i + 0.5) for i in range(100)]
    record_all(store, [ev(f"r{i}", ms=ms) for i, ms in enumerate(latencies)])

    (cell,) = store.query("ANALYTICS#demo-v2", "H#")
    buckets = sketch.merge(cell.data)
    assert len(buckets) + 4 <= MAX_FIELDS and sum(buckets.values()) == 100
    assert sketch.quantile(buckets, 0.99) == pytest.approx(latencies[98], rel=0.05)
