"""A synthetic month: 100,000 requests through the gateway over four consumers and three
plans (one plan change mid-month, quota denials), usage delivered in batches duplicated
and out of order. Reconciliation finds nothing; a lost batch is exactly the difference;
delivering it late closes the gap; closed statements bill what the gateway admitted."""

import random
from collections import Counter

import pytest

from shared.core.models import UsageEvent
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory
from shared.gateway.service import Gateway
from shared.gateway.throttle import Limiter
from shared.management import reconciliation
from shared.metering.aggregate import record_batch
from shared.ports import UpstreamResponse
from tests.functional.api.harness import harness
from tests.support.fakes import ListSink

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
JAN = 31 * 86_400
REQUESTS = 100_000
BATCH = 1000
LOST = 90  # a batch from late in the month: delivered late, it is still within the window


class Upstream:
    def send(self, request):
        return UpstreamResponse(200, (("content-type", "text/plain"),), b"ok")


def month_of_traffic():
    with harness() as h:
        for name in ("orders", "search"):
            h.publish(h.create_api(name)["id"])
        starter = h.create_plan("Starter", apis=("orders",), rate_per_second=50,
                                quota_per_month=8000, monthly_fee_cents=900,
                                included_requests=1000, overage_cents_per_1000=200)
        growth = h.create_plan("Growth", apis=("orders", "search"), rate_per_minute=1000,
                               monthly_fee_cents=4900, included_requests=20_000,
                               overage_cents_per_1000=100)
        heavy = h.create_plan("Heavy", apis=("search",), rate_per_second=100, request_cost=2,
                              overage_cents_per_1000=30)
        devs = [h.signup() for _ in range(4)]
        subs = [h.subscribe(d, p["id"]) for d, p in zip(devs, (starter, growth, heavy, starter),
                                                        strict=True)]
        keys = [h.create_key(d)["key"] for d in devs]
        routes = [("orders",), ("orders", "search"), ("search",), ("orders",)]
        sink = ListSink()
        # An hour's cache TTL: the month is simulated, and a plan change reaching the gateway
        # late moves no admitted unit (the ledger counts per consumer and API, not plan).
        gateway = Gateway(Directory(h.store, h.clock, 3600.0), Limiter(h.store, h.clock), h.clock,
                          upstream=Upstream(), usage=sink)
        rng = random.Random(14)
        times = sorted(rng.uniform(T0, T0 + JAN) for _ in range(REQUESTS))
        changed = False
        statuses = Counter()
        for t in times:
            if not changed and t >= T0 + JAN / 2:  # consumer 3 moves to Growth mid-month
                h.clock.set(t)
                h.admin("PATCH", f"/v1/admin/consumers/{devs[3].consumer_id}/subscriptions/"
                        f"{subs[3]['id']}", json={"plan_id": growth["id"]})
                changed = True
            h.clock.set(t)
            n = rng.choices(range(4), weights=(4, 3, 2, 1))[0]
            api = rng.choice(routes[n])
            resp = gateway.handle(GatewayRequest("GET", f"/{api}/v1/items/{n}", "",
                                                 (("x-api-key", keys[n]),)))
            statuses[resp.status] += 1
        yield h, devs, sink.events, statuses


@pytest.fixture(scope="module")
def month():
    yield from month_of_traffic()


def deliver(h, batches, late_by=60.0):
    """Each batch arrives ``late_by`` seconds after its last event (the clock never goes
    back: a batch overtaken by a later one arrives with it)."""
    for batch in batches:
        h.clock.set(max(h.clock.now(), max(e.timestamp for e in batch) + late_by))
        record_batch(h.store, batch, now=h.clock.now())


def diffs(h, devs):
    return {d.consumer_id: reconciliation.report(h.store, h.clock, d.consumer_id, "2026-01")
            for d in devs}


def test_a_month_reconciles_to_zero_then_a_lost_batch_is_exactly_the_difference(month):
    h, devs, events, statuses = month
    assert len(events) == REQUESTS and statuses[429] > 0 and set(statuses) == {200, 429}
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
    rng = random.Random(7)
    # Out of order (a batch overtakes up to five others) and at least once (20 batches
    # again, up to 20 places later); one batch lost.
    schedule = [(n + rng.uniform(0, 5), n) for n in range(len(batches)) if n != LOST]
    schedule += [(n + rng.uniform(0, 20), n) for n in rng.sample(range(len(batches)), 20)
                 if n != LOST]
    h.clock.set(T0)
    deliver(h, [batches[n] for _, n in sorted(schedule)])
    assert sorted(schedule, key=lambda x: x[1]) != sorted(schedule)  # reordered indeed
    h.clock.set(max(h.clock.now(), T0 + JAN + 600))

    # GIVEN every batch but one WHEN reconciled THEN the lost batch, per consumer and API
    api_names = {a["id"]: a["name"] for a in h.admin("GET", "/v1/admin/apis")["items"]}
    lost = Counter()
    for e in batches[LOST]:
        if e.cost:
            lost[(e.consumer_id, api_names[e.api_id])] += e.cost
    reports = diffs(h, devs)
    found = {(c, d.api): d.units for c, r in reports.items() for d in r.differences}
    assert found == dict(lost) and lost
    assert all(d.between == "admitted-metered" and d.cause == reconciliation.LOST
               for r in reports.values() for d in r.differences)

    # WHEN the lost batch arrives late (twice) THEN nothing is left to explain
    deliver(h, [batches[LOST], batches[LOST]], late_by=7 * 86_400)
    assert all(not r.differences for r in diffs(h, devs).values())

    # WHEN the statements close THEN they bill exactly what the gateway admitted
    for d in devs:
        h.admin("POST", f"/v1/admin/billing/{d.consumer_id}/close?period=2026-01")
    reports = diffs(h, devs)
    assert all(not r.differences and r.statement_status == "closed" for r in reports.values())
    rows = [row for r in reports.values() for row in r.rows]
    assert all(row.admitted == row.metered == row.billed for row in rows)
    assert sum(row.billed for row in rows) == sum(e.cost for e in events)
    api = h.admin("GET", f"/v1/admin/billing/{devs[1].consumer_id}/reconciliation"
                         "?period=2026-01")
    assert api["differences"] == [] and {r["api"] for r in api["rows"]} == {"orders", "search"}


def test_usage_after_the_close_is_a_listed_difference(month):
    h, devs, events, _ = month
    dev = devs[0]
    api_id = next(e.api_id for e in events if e.consumer_id == dev.consumer_id)
    late = UsageEvent("late-1", T0 + JAN - 100, dev.consumer_id, "k", api_id, "/items/{id}",
                      "GET", 200, 1, 1, 1.0, cost=1)
    record_batch(h.store, [late], now=h.clock.now())
    report = reconciliation.report(h.store, h.clock, dev.consumer_id, "2026-01")
    assert [(d.between, d.units, d.cause) for d in report.differences] == [
        ("admitted-metered", -1, reconciliation.UNADMITTED),
        ("metered-billed", 1, reconciliation.LATE)]
