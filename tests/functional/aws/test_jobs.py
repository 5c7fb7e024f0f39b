"""The scheduled jobs function on moto: last month's statements closed for every consumer,
a quota alert in the outbox exactly once across runs, repair on the frequent schedule, and
one failing job not stopping the others."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from shared.core.models import Consumer, Plan, Subscription
from shared.management import billing, changes, notifications, records
from shared.management import jobs as jobs_mod
from shared.management.changes import Change
from shared.management.entities import Account
from shared.ports import Item, Put, StoreUnavailable
from tests.functional.aws.conftest import COLD_START_ENV, event

FEB_1 = 1_769_904_000.0  # 2026-02-01T00:00:00Z
QUOTA = Plan("quota", "Small", apis=("demo",), rate_per_minute=100, quota_per_month=5)
HOURLY = {"cadence": "hourly"}


@pytest.fixture(scope="module")
def jobs_module() -> ModuleType:
    with pytest.MonkeyPatch.context() as mp:
        for k, v in COLD_START_ENV.items():
            mp.setenv(k, v)
        mp.delenv("TOLLWAY_SECRET_IDS", raising=False)
        return importlib.import_module("functions.aws.jobs")


@pytest.fixture
def run(jobs_module, world, ctx, monkeypatch):
    monkeypatch.setattr(jobs_module, "store", world.store)
    monkeypatch.setattr(jobs_module, "clock", world.clock)
    return lambda ev=HOURLY: jobs_module.handler(ev, ctx)


@pytest.fixture
def developer(world):
    """A developer account whose consumer has a 5-a-month quota on demo."""
    records.save_unaudited(world.store, [
        records.put_plan_write(QUOTA),
        records.put_account_write(Account("acc_q", "dev@example.com", "x", "con_q")),
        records.put_consumer_write(Consumer("con_q", "Q", owner="acc_q")),
        records.put_subscription_write(Subscription("sub_q", "con_q", "quota")),
    ])
    return world.add_key("con_q", "q")


def quota_notices(store):
    return [(n["recipient"], n["subject"]) for n in notifications.outbox(store, 100)
            if n["kind"] == "quota"]


def test_statements_close_after_two_days_and_a_quota_alert_goes_once(
    world, handlers, ctx, run, developer
):
    # January: con_a's metered usage (one admitted request, cost 1; one 429, cost 0).
    handlers["metering"].handler(event("cloudwatch_logs_usage"), ctx)
    # 1 February: January has ended, but statements wait CLOSE_AFTER for late usage.
    world.clock.set(FEB_1 + 3_600)
    first = run()
    assert first["ran"]["statements"] == {"closed": 0}
    assert billing.stored(world.store, "con_a", "2026-01") is None

    # 3 February: four of con_q's five requests this month -> 80 %.
    world.clock.set(FEB_1 + billing.CLOSE_AFTER + 3_600)
    for _ in range(4):
        resp = handlers["router"].handler(world.proxy(key=developer), ctx)
        assert resp["statusCode"] == 200
    second = run()
    third = run()

    assert second["ran"]["statements"] == {"closed": 2}  # con_a and con_q
    assert third["ran"]["statements"] == {"closed": 0}  # closed once, never rewritten
    st = billing.stored(world.store, "con_a", "2026-01")
    assert st is not None and st.status == "closed"
    assert sum(line.units for line in st.lines) == 1
    assert billing.stored(world.store, "con_q", "2026-01").total_cents == 0
    closes = [e for e in world.store.query(records.AUDIT, limit=100)
              if e.data.get("action") == "statement.close"]
    assert {e.data["actor"] for e in closes} == {jobs_mod.SCHEDULER.id}

    assert quota_notices(world.store) == [
        ("dev@example.com", "80 % of this month's demo quota used")]
    assert second["ran"]["quota_alerts"]["sent"] == 1
    assert third["ran"]["quota_alerts"] == {"sent": 0, "already": 1, "no_address": 0, "failed": 0}
    assert first["failed"] == second["failed"] == third["failed"] == {}
    assert "repair" not in second["ran"]  # the frequent schedule's


def test_frequent_schedule_repairs_an_interrupted_change(world, run):
    store, clock = world.store, world.clock

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
    clock.advance(changes.REPAIR_AFTER + 1)
    report = run({"cadence": "frequent"})
    assert report["ran"] == {"repair": 1}
    assert store.get("IDX", "x") is not None


def test_one_failing_job_does_not_stop_the_others_and_the_run_fails(
    world, run, developer, monkeypatch, handlers, ctx
):
    world.clock.set(FEB_1 + billing.CLOSE_AFTER + 3_600)
    for _ in range(5):
        handlers["router"].handler(world.proxy(key=developer), ctx)
    real = billing.close_due

    def close_due(store, clock, actor, consumer_ids):
        if consumer_ids == ["con_a"]:
            raise StoreUnavailable("throttled")
        return real(store, clock, actor, consumer_ids)

    monkeypatch.setattr(billing, "close_due", close_due)
    with pytest.raises(RuntimeError, match="statements"):
        run()
    assert billing.stored(world.store, "con_q", "2026-01") is not None  # the other consumer
    assert quota_notices(world.store) == [  # and the next job
        ("dev@example.com", "100 % of this month's demo quota used")]
    monkeypatch.setattr(billing, "close_due", real)
    assert run()["ran"]["statements"] == {"closed": 1}  # the next run is the retry


def test_an_unknown_cadence_is_refused(run):
    with pytest.raises(ValueError, match="cadence"):
        run({"cadence": "daily"})
