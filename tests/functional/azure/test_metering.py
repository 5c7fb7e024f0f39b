"""Metering on Azure, in process: usage events from the gateway function through a real
Azurite queue to the worker's queue trigger, under duplicated, reordered and interrupted
delivery — 0 lost, 0 double counted, in usage and in analytics — and the worker's timers
(purge + repair every 5 minutes; statements and notices hourly)."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from typing import Any

import pytest
from azure.functions.queue import QueueMessage

from shared.clouds.azure.usage import encode
from shared.core.models import Consumer, Plan, Subscription, UsageEvent
from shared.management import analytics as reading
from shared.management import billing, changes, notifications, records
from shared.management import jobs as scheduled_jobs
from shared.management.changes import Change
from shared.management.entities import Account
from shared.metering.aggregate import hour_of, read_usage
from shared.ports import Item, Put, StoreUnavailable
from shared.settings import from_env
from tests.functional.azure.conftest import (
    T0,
    AzureWorld,
    Context,
    cold_import,
    http_request,
    queue_message,
    user_functions,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker_module():
    return cold_import("functions.azure.worker.function_app")


@pytest.fixture
def worker(worker_module, azure_world: AzureWorld, monkeypatch):
    monkeypatch.setattr(worker_module, "store", azure_world.store)
    monkeypatch.setattr(worker_module, "clock", azure_world.clock)
    return worker_module


def meter(module: Any, message: Any) -> None:
    user_functions(module.app)["meter"].get_user_function()(message)


def housekeeping(module: Any, past_due: bool = False) -> None:
    from azure.functions.timer import TimerRequest

    user_functions(module.app)["housekeeping"].get_user_function()(TimerRequest(past_due=past_due))


def jobs_timer(module: Any, past_due: bool = False) -> None:
    from azure.functions.timer import TimerRequest

    user_functions(module.app)["jobs"].get_user_function()(TimerRequest(past_due=past_due))


def events(n: int, *, consumers=("con_a", "con_b"), hours=2) -> list[UsageEvent]:
    out = []
    for i in range(n):
        out.append(
            UsageEvent(
                request_id=f"inv-{i:06d}",
                timestamp=T0 + (i % hours) * 3600,
                consumer_id=consumers[i % len(consumers)],
                key_id="key_x",
                api_id="demo-v2",
                route="/echo/*",
                method="GET",
                status=200 if i % 5 else 429,
                bytes_in=i,
                bytes_out=2 * i,
                latency_ms=1.0,
                cost=0 if i % 5 == 0 else 1,
            )
        )
    return out


def totals(world: AzureWorld, consumers=("con_a", "con_b")) -> dict[str, Counter]:
    out = {}
    for c in consumers:
        agg: Counter = Counter()
        for row in read_usage(world.store, c):
            for k in ("requests", "cost", "bytes_in", "bytes_out", "s2xx", "s4xx"):
                agg[k] += int(row.get(k, 0))
        out[c] = agg
    return out


def expected(evs: list[UsageEvent]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for e in evs:
        agg = out.setdefault(e.consumer_id, Counter())
        agg["requests"] += 1
        agg["cost"] += e.cost
        agg["bytes_in"] += e.bytes_in
        agg["bytes_out"] += e.bytes_out
        agg[f"s{e.status // 100}xx"] += 1
    return out


def analytics_totals(world: AzureWorld) -> Counter:
    """Requests per (hour, status class) of demo-v2 in analytics, as the admin reads them."""
    got: Counter = Counter()
    for row in reading.report(world.store, "2026-01-01T00", "2026-01-01T23", api_id="demo-v2"):
        got[row.key[:2]] += row.stats.requests
    return got


def analytics_expected(evs: list[UsageEvent]) -> Counter:
    return Counter((hour_of(e.timestamp), f"{e.status // 100}xx") for e in evs)


def drain(
    world: AzureWorld,
    module: Any,
    rng: random.Random,
    *,
    redeliver: float = 0.3,
    twice: float = 0.2,
) -> Counter:
    """Deliver every message as the host would, but badly: in random order; some processed
    twice in a row (a duplicate delivery); some processed and then NOT deleted, made
    visible again at once (the host crashed before deleting: Azure redelivers it with
    dequeue_count 2). Ends when the queue is empty."""
    seen: Counter = Counter()
    while True:
        batch = world.receive()
        if not batch:
            return seen
        rng.shuffle(batch)
        for raw in batch:
            msg = queue_message(raw)
            meter(module, msg)
            seen["deliveries"] += 1
            if rng.random() < twice:
                meter(module, msg)
                seen["deliveries"] += 1
            if raw.dequeue_count == 1 and rng.random() < redeliver:
                world.queue.update_message(raw, pop_receipt=raw.pop_receipt, visibility_timeout=0)
                seen["redelivered"] += 1
            else:
                world.queue.delete_message(raw)
        if seen["deliveries"] > 10_000:
            raise AssertionError("the queue never drained")


def test_duplicated_reordered_and_redelivered_messages_count_each_request_once(worker, azure_world):
    evs = events(60)
    sink = azure_world.sink()
    for e in evs:
        sink.emit(e)
    assert sink.sent == 60 and sink.failures == 0
    seen = drain(azure_world, worker, random.Random(8))
    assert seen["redelivered"] > 0 and seen["deliveries"] > 60
    assert totals(azure_world) == expected(evs)  # 0 lost, 0 double counted
    assert analytics_totals(azure_world) == analytics_expected(evs)  # in analytics too


def test_gateway_function_to_queue_to_worker_end_to_end(worker, azure_world, monkeypatch):
    gw = cold_import("functions.azure.gateway.function_app")
    settings = from_env({"TOLLWAY_STORE": "memory", "TOLLWAY_CACHE_TTL": "0"})
    sink = azure_world.sink()
    monkeypatch.setattr(
        gw,
        "gateway",
        gw.build(settings, store=azure_world.store, clock=azure_world.clock, usage=sink),
    )
    proxy = user_functions(gw.app)["proxy"].get_user_function()
    key = {"X-Api-Key": azure_world.keys["a"]}
    statuses = [proxy(http_request(headers=key), Context()).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    proxy(http_request(), Context())  # a 401 is attributed to no one: not metered
    seen = drain(azure_world, worker, random.Random(3), redeliver=0.5, twice=0.5)
    assert seen["deliveries"] >= 5
    [row] = read_usage(azure_world.store, "con_a")
    assert (row["requests"], row["cost"], row["s2xx"], row["s4xx"]) == (5, 3, 3, 2)


def test_a_message_of_several_lines_counts_each_and_survives_a_retry(
    worker, azure_world, monkeypatch
):
    """A store failure half-way raises (the host retries); the retry adds only the rest."""
    evs = events(4)
    body = "\n".join(encode(e) for e in evs).encode()
    from azure.functions.queue import QueueMessage

    real = azure_world.store
    calls = {"n": 0}

    class Flaky:
        def __getattr__(self, name):
            return getattr(real, name)

        def transact(self, writes):
            calls["n"] += 1
            if calls["n"] == 2:
                raise StoreUnavailable("injected")
            return real.transact(writes)

    monkeypatch.setattr(worker, "store", Flaky())
    with pytest.raises(StoreUnavailable):
        meter(worker, QueueMessage(id="m1", body=body, dequeue_count=1))
    monkeypatch.setattr(worker, "store", real)
    meter(worker, QueueMessage(id="m1", body=body, dequeue_count=2))
    meter(worker, QueueMessage(id="m1", body=body, dequeue_count=3))
    assert totals(azure_world) == expected(evs)
    assert analytics_totals(azure_world) == analytics_expected(evs)


def test_an_analytics_failure_after_usage_is_retried_and_counted_once(
    worker, azure_world, monkeypatch
):
    """Usage commits, analytics fails: the host retries the message; usage is skipped by
    its markers and analytics is added once."""
    evs = events(6)
    body = "\n".join(encode(e) for e in evs).encode()
    from azure.functions.queue import QueueMessage

    real = azure_world.store

    class AnalyticsDown:
        def __getattr__(self, name):
            return getattr(real, name)

        def transact(self, writes):
            if any(getattr(w, "pk", "").startswith("ANALYTICS#")
                   or getattr(getattr(w, "item", None), "pk", "").startswith("ANALYTICS#")
                   for w in writes):
                raise StoreUnavailable("injected")
            return real.transact(writes)

    monkeypatch.setattr(worker, "store", AnalyticsDown())
    with pytest.raises(StoreUnavailable):
        meter(worker, QueueMessage(id="m2", body=body, dequeue_count=1))
    assert totals(azure_world) == expected(evs) and analytics_totals(azure_world) == Counter()
    monkeypatch.setattr(worker, "store", real)
    for attempt in (2, 3):
        meter(worker, QueueMessage(id="m2", body=body, dequeue_count=attempt))
    assert totals(azure_world) == expected(evs)
    assert analytics_totals(azure_world) == analytics_expected(evs)


def test_a_malformed_message_is_dropped_not_retried(worker, azure_world, caplog):
    from azure.functions.queue import QueueMessage

    caplog.set_level("INFO")
    for body in (b"hello", b"\xff\xfe", b"", b'TOLLWAY_USAGE {"request_id": 1}'):
        meter(worker, QueueMessage(id="bad", body=body, dequeue_count=1))  # no exception
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tollway.metrics"]
    assert sum(line.get("UsageMalformed", 0) for line in lines) == 4
    # a good line next to a bad one still counts
    good = events(1)[0]
    meter(
        worker, QueueMessage(id="mixed", body=(encode(good) + "\nnoise").encode(), dequeue_count=1)
    )
    assert totals(azure_world, ("con_a",))["con_a"]["requests"] == 1


def test_the_wire_format_is_base64_text_as_the_trigger_expects(azure_world):
    sink = azure_world.sink()
    e = events(1)[0]
    sink.emit(e)
    [raw] = azure_world.receive()
    assert base64.b64decode(raw.content, validate=True).decode() == encode(e)


def test_function_bindings_match_the_bicep_settings(worker_module):
    fns = user_functions(worker_module.app)
    meter_doc = json.loads(fns["meter"].get_function_json())
    [trigger] = meter_doc["bindings"]
    assert trigger["type"] == "queueTrigger"
    assert trigger["queueName"] == "%TOLLWAY_USAGE_QUEUE%"
    assert trigger["connection"] == "UsageQueue"
    timer_doc = json.loads(fns["housekeeping"].get_function_json())
    assert timer_doc["bindings"][0]["schedule"] == "0 */5 * * * *"
    jobs_doc = json.loads(fns["jobs"].get_function_json())
    assert jobs_doc["bindings"][0]["schedule"] == "0 7 * * * *"  # hourly, off the 5-min marks
    assert jobs_doc["bindings"][0]["useMonitor"] is True


# --- the timer: purge and repair ------------------------------------------------------------


def test_housekeeping_purges_expired_items_and_repairs_interrupted_changes(worker, azure_world):
    store, clock = azure_world.store, azure_world.clock
    store.transact([Put(Item("TMP", "gone", {"x": 1}, expires_at=clock.now() + 10))])
    store.transact([Put(Item("TMP", "kept", {"x": 2}))])

    # An action interrupted after its primary committed, before its follow-up ran.
    class CrashAfterPrimary:
        def __init__(self):
            self.n = 0

        def __getattr__(self, name):
            return getattr(store, name)

        def transact(self, writes):
            self.n += 1
            if self.n == 3:  # journal, primary + marker, then the first follow-up
                raise StoreUnavailable("crash")
            return store.transact(writes)

    change = Change([Put(Item("CON#x", "A", {"v": 1}))], [Put(Item("IDX", "x", {"v": 1}))])
    with pytest.raises(StoreUnavailable):
        changes.apply(CrashAfterPrimary(), clock, change)
    assert store.get("IDX", "x") is None

    clock.advance(changes.REPAIR_AFTER + 1)
    housekeeping(worker)
    assert store.get("IDX", "x") is not None  # rolled forward
    assert store.query(changes.JOURNAL) == []
    assert store.get("TMP", "kept") is not None
    # the expired entity is physically gone (purge), not only hidden
    raw = list(store._client.query_entities("PartitionKey eq 'TMP'"))
    assert [e["RowKey"] for e in raw] == ["kept"]


def test_housekeeping_runs_repair_even_when_purge_fails(worker, monkeypatch):
    calls = []

    class Broken:
        capabilities = frozenset()

        def purge_expired(self, limit):
            raise StoreUnavailable("down")

    monkeypatch.setattr(worker, "store", Broken())
    monkeypatch.setattr(changes, "repair", lambda s, c: calls.append(1) or 0)
    with pytest.raises(StoreUnavailable):
        housekeeping(worker, past_due=True)
    assert calls == [1]


def test_a_replay_older_than_the_dedup_window_is_refused_not_counted_twice(
    worker, azure_world, caplog
):
    from azure.functions.queue import QueueMessage

    from shared.metering.aggregate import ACCEPT_SECONDS

    caplog.set_level("INFO")
    body = encode(events(1)[0]).encode()
    meter(worker, QueueMessage(id="m", body=body, dequeue_count=1))
    azure_world.clock.advance(ACCEPT_SECONDS + 3600)
    meter(worker, QueueMessage(id="m", body=body, dequeue_count=1))
    assert totals(azure_world, ("con_a",))["con_a"]["requests"] == 1
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tollway.metrics"]
    assert sum(line.get("UsageTooLate", 0) for line in lines) == 1


# --- the hourly timer: statements and notices -------------------------------------------

FEB_3 = 1_769_904_000.0 + billing.CLOSE_AFTER + 3_600  # 2026-02-03T01:00:00Z


@pytest.fixture
def quota_world(worker, azure_world, monkeypatch):
    """January: three of con_a's requests metered; 3 February: four of con_q's five
    requests this month (a 5-a-month plan) through the gateway function."""
    store, clock = azure_world.store, azure_world.clock
    records.save_unaudited(store, [
        records.put_plan_write(Plan("small", "Small", apis=("demo",), quota_per_month=5)),
        records.put_account_write(Account("acc_q", "dev@example.com", "x", "con_q")),
        records.put_consumer_write(Consumer("con_q", "Q", owner="acc_q")),
        records.put_subscription_write(Subscription("sub_q", "con_q", "small")),
    ])
    key = azure_world.add_key("con_q", "q")
    jan = events(5, consumers=("con_a",), hours=1)[1:4]  # cost 1 each
    meter(worker, QueueMessage(id="jan", body="\n".join(map(encode, jan)).encode(),
                               dequeue_count=1))
    clock.set(FEB_3)
    gw = cold_import("functions.azure.gateway.function_app")
    settings = from_env({"TOLLWAY_STORE": "memory", "TOLLWAY_CACHE_TTL": "0"})
    monkeypatch.setattr(gw, "gateway", gw.build(settings, store=store, clock=clock))
    proxy = user_functions(gw.app)["proxy"].get_user_function()
    for _ in range(4):
        assert proxy(http_request(headers={"X-Api-Key": key}), Context()).status_code == 200
    return azure_world


def quota_notices(store):
    return [(n["recipient"], n["subject"]) for n in notifications.outbox(store, 100)
            if n["kind"] == "quota"]


ALERT_80 = ("dev@example.com", "80 % of this month's demo quota used")


def test_jobs_timer_closes_last_month_and_sends_a_quota_alert_once(worker, quota_world):
    store = quota_world.store
    jobs_timer(worker)
    jobs_timer(worker, past_due=True)  # a second run (or a late one) changes nothing

    st = billing.stored(store, "con_a", "2026-01")
    assert st is not None and st.status == "closed"
    assert sum(line.units for line in st.lines) == 3
    assert billing.stored(store, "con_q", "2026-01") is not None
    assert quota_notices(store) == [ALERT_80]


def test_jobs_timer_runs_every_job_then_fails_when_one_failed(worker, quota_world, monkeypatch):
    real = billing.close_due

    def down(*args):
        raise StoreUnavailable("down")

    monkeypatch.setattr(billing, "close_due", down)
    with pytest.raises(scheduled_jobs.PartlyFailed):
        jobs_timer(worker)
    assert quota_notices(quota_world.store) == [ALERT_80]  # the next job still ran
    monkeypatch.setattr(billing, "close_due", real)
    jobs_timer(worker)  # the next run is the retry
    assert billing.stored(quota_world.store, "con_a", "2026-01") is not None
    assert quota_notices(quota_world.store) == [ALERT_80]
