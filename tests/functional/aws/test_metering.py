"""The metering function: CloudWatch Logs subscription batches -> idempotent aggregates."""

from __future__ import annotations

import io
import random
from collections import Counter
from dataclasses import replace

import pytest
from botocore.exceptions import EndpointConnectionError

from shared.adapters.dynamodb import DynamoStore
from shared.adapters.log_usage import LogLineSink
from shared.core.models import UsageEvent
from shared.management import analytics as reading
from shared.metering import aggregate
from shared.metering.aggregate import read_usage
from shared.ports import StoreUnavailable
from tests.functional.aws.conftest import T0, TABLE, awslogs, event, usage_lines
from tests.functional.aws.test_fixtures import resources


@pytest.fixture
def meter(handlers, ctx):
    return lambda ev: handlers["metering"].handler(ev, ctx)


def test_recorded_once_even_when_the_batch_is_redelivered(world, meter):
    first = meter(event("cloudwatch_logs_usage"))
    # The filter delivers only lines holding the term: a JSON log line quoting it is one.
    assert first == {"recorded": 2, "duplicates": 0, "skipped": 1}
    again = meter(event("cloudwatch_logs_usage"))
    assert again == {"recorded": 0, "duplicates": 1, "skipped": 1}  # one group of two
    (agg,) = read_usage(world.store, "con_a")
    assert (agg["requests"], agg["s2xx"], agg["s4xx"], agg["cost"]) == (2, 1, 1, 1)
    assert agg["api_id"] == "demo-v2" and agg["hour"] == "2026-01-01T00"
    # ... and in analytics (per API version), also once: the admin's report reads it.
    (row,) = reading.report(world.store, "2026-01-01T00", "2026-01-01T23", by="api")
    assert row.api.id == "demo-v2"
    assert (row.stats.requests, row.stats.errors, row.stats.bytes_out) == (2, 1, 692)
    assert row.stats.p50_ms == pytest.approx(3.2, rel=0.05)  # the sketch's 5 % accuracy


def test_control_message_is_acknowledged_without_work(world, meter):
    assert meter(event("cloudwatch_logs_control")) == {"recorded": 0, "duplicates": 0, "skipped": 0}
    assert world.dynamodb_calls() == 0


def test_router_lines_round_trip_through_metering(world, handlers, ctx, meter, capsys):
    capsys.readouterr()
    for _ in range(4):
        handlers["router"].handler(world.proxy(key=world.keys["a"]), ctx)
    lines = usage_lines(capsys.readouterr().out)
    assert len(lines) == 4
    assert meter(awslogs(lines))["recorded"] == 4
    (agg,) = read_usage(world.store, "con_a")
    assert (agg["requests"], agg["s2xx"], agg["s4xx"], agg["cost"]) == (4, 3, 1, 3)


def test_store_failure_raises_so_lambda_retries_and_the_retry_does_not_double_count(world, meter):
    batch = event("cloudwatch_logs_usage")

    def fail_write(**kw):  # DynamoDB goes away while the group is being written
        raise EndpointConnectionError(endpoint_url="https://dynamodb.test")

    world.client.meta.events.register("before-call.dynamodb.TransactWriteItems", fail_write)
    with pytest.raises(StoreUnavailable):
        meter(batch)
    world.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", fail_write)
    assert meter(batch) == {"recorded": 2, "duplicates": 0, "skipped": 1}
    assert meter(batch) == {"recorded": 0, "duplicates": 1, "skipped": 1}
    (agg,) = read_usage(world.store, "con_a")
    assert agg["requests"] == 2
    assert analytics_totals(world.store) == {("demo-v2", "2026-01-01T00"): 2}


def test_analytics_failure_after_usage_is_retried_and_counted_once(world, meter):
    """Usage commits, then the analytics write fails: Lambda retries the whole batch; the
    retry skips usage by its marker and adds analytics once."""
    batch = event("cloudwatch_logs_usage")
    hook = "before-parameter-build.dynamodb.TransactWriteItems"

    def fail_analytics(**kw):  # DynamoDB goes away once usage is written
        if "ANALYTICS#" in str(kw["params"]):
            raise EndpointConnectionError(endpoint_url="https://dynamodb.test")

    world.client.meta.events.register(hook, fail_analytics)
    with pytest.raises(StoreUnavailable):
        meter(batch)
    world.client.meta.events.unregister(hook, fail_analytics)
    assert read_usage(world.store, "con_a")[0]["requests"] == 2
    assert analytics_totals(world.store) == {}
    assert meter(batch) == {"recorded": 0, "duplicates": 1, "skipped": 1}
    assert meter(batch) == {"recorded": 0, "duplicates": 1, "skipped": 1}
    assert read_usage(world.store, "con_a")[0]["requests"] == 2
    assert analytics_totals(world.store) == {("demo-v2", "2026-01-01T00"): 2}


# --- exactly once under real delivery (issue 10 item 5) ------------------------------------

DAY = 86_400


def batches(n: int, size: int = 1_000, seed: int = 7) -> list[list[UsageEvent]]:
    """``n`` batches of ``size`` usage events: 3 consumers x 2 APIs, over two hours."""
    rng = random.Random(seed)
    out = []
    for b in range(n):
        out.append([
            UsageEvent(f"req{b:02d}{i:04d}xx", T0 + rng.uniform(0, 7_200),
                       f"con_{rng.choice('abc')}", "key", rng.choice(["demo-v2", "billing-v1"]),
                       "/echo/*", "GET", rng.choice([200, 200, 200, 429, 502]), 10, 100, 5.0, 1)
            for i in range(size)
        ])
    return out


def as_lines(events: list[UsageEvent]) -> list[str]:
    out = io.StringIO()
    sink = LogLineSink(out)
    for e in events:
        sink.emit(e)
    return out.getvalue().splitlines(keepends=True)


def totals(store) -> Counter:
    got: Counter = Counter()
    for consumer in ("con_a", "con_b", "con_c"):
        for agg in read_usage(store, consumer):
            got[(consumer, agg["api_id"], agg["hour"])] += agg["requests"]
            got["cost"] += agg["cost"]
    return got


def analytics_totals(store) -> Counter:
    """Requests per (API version, hour) in analytics, as the admin's report reads them."""
    got: Counter = Counter()
    for row in reading.report(store, "2026-01-01T00", "2026-01-01T23", by="hour"):
        got[(row.api.id, row.key[0])] += row.stats.requests
    return got


def analytics_truth(delivered: list[list[UsageEvent]]) -> Counter:
    want: Counter = Counter()
    for batch in delivered:
        for e in batch:
            want[(e.api_id, aggregate.hour_of(e.timestamp))] += 1
    return want


def truth(delivered: list[list[UsageEvent]]) -> Counter:
    want: Counter = Counter()
    for batch in delivered:
        for e in batch:
            want[(e.consumer_id, e.api_id, aggregate.hour_of(e.timestamp))] += 1
            want["cost"] += e.cost
    return want


def test_1000_line_batches_duplicated_reordered_and_late_0_lost_0_double_counted(world, meter):
    rng = random.Random(11)
    all_batches = batches(6)
    events = {i: awslogs(as_lines(b)) for i, b in enumerate(all_batches)}
    # Batches 0-3 arrive in a shuffled order, each twice (Lambda's async retry after a
    # timeout that happened after the writes), interleaved.
    first = [0, 1, 2, 3] * 2
    rng.shuffle(first)
    world.clock.set(T0 + 2 * 3_600 + 60)
    for i in first:
        meter(events[i])
    # Eight days later: the dead-letter queue is replayed (batches 1 and 3 again, lines in
    # another order: the same batch) and batch 4, which never got through, arrives late.
    world.clock.advance(8 * DAY)
    for i in (3, 1):
        shuffled = as_lines(all_batches[i])
        rng.shuffle(shuffled)
        meter(awslogs(shuffled))
    assert meter(events[4])["recorded"] == 1_000
    # Thirteen days after that (21 days in all), one more replay of batch 0.
    world.clock.advance(13 * DAY)
    meter(events[0])
    assert totals(world.store) == truth(all_batches[:5])  # 0 lost, 0 double counted
    assert analytics_totals(world.store) == analytics_truth(all_batches[:5])  # the same


def test_a_delivery_older_than_the_dedup_window_is_refused_not_counted_twice(world, meter):
    (batch,) = batches(1, size=50)
    world.clock.set(T0 + 3 * 3_600)
    meter(awslogs(as_lines(batch)))
    world.clock.advance(aggregate.DEDUP_SECONDS + DAY)  # every marker has expired
    again = meter(awslogs(as_lines(batch)))
    assert again["recorded"] == 0
    assert totals(world.store) == truth([batch])
    assert analytics_totals(world.store) == analytics_truth([batch])


def test_every_redelivery_path_ends_inside_the_dedup_window():
    res = resources()
    dlq = res["MeteringDeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    invoke = res["MeteringFunction"]["Properties"]["EventInvokeConfig"]
    assert res["MeteringFunction"]["Properties"]["DeadLetterQueue"]["TargetArn"]
    # An event may wait MaximumEventAgeInSeconds for its retries, then sit in the DLQ for
    # its retention before a replay: all of it within the window metering accepts.
    assert invoke["MaximumEventAgeInSeconds"] + dlq <= aggregate.ACCEPT_SECONDS
    assert aggregate.ACCEPT_SECONDS < aggregate.DEDUP_SECONDS


class _Http:
    status_code = 400
    headers: dict = {}


def _conflict(**kw):
    """What DynamoDB answers when another transaction holds one of the items."""
    return _Http(), {
        "Error": {"Code": "TransactionCanceledException",
                  "Message": "Transaction cancelled, please refer cancellation reasons"},
        "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
    }


def test_conflicts_on_a_hot_aggregate_back_off_jittered_and_bounded(world):
    sleeps: list[float] = []
    store = DynamoStore(TABLE, world.client, world.clock, sleep=sleeps.append)
    left = {"n": 3}

    def conflict_three_times(**kw):
        if left["n"]:
            left["n"] -= 1
            return _conflict(**kw)
        return None

    world.client.meta.events.register("before-call.dynamodb.TransactWriteItems",
                                      conflict_three_times)
    (batch,) = batches(1, size=20)
    one_group = [replace(e, consumer_id="con_a", api_id="demo-v2", timestamp=T0) for e in batch]
    assert aggregate.record_batch(store, one_group).events == 20
    assert len(sleeps) == 3
    assert all(0 <= s <= c for s, c in zip(sleeps, (0.025, 0.05, 0.1), strict=True))
    world.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems",
                                        conflict_three_times)

    # A conflict that never clears: bounded rounds and pauses, then the batch is redelivered.
    sleeps.clear()
    world.client.meta.events.register("before-call.dynamodb.TransactWriteItems", _conflict)
    with pytest.raises(StoreUnavailable):
        aggregate.record_batch(store, [replace(e, timestamp=T0 + 3_600) for e in one_group])
    world.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", _conflict)
    assert 1 <= len(sleeps) <= 6 and sum(sleeps) <= 1.2
    assert len(set(sleeps)) > 1  # jittered
