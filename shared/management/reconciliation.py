"""Reconciliation: per consumer and month, what the gateway admitted (its admission
ledger, ``core/ledger.py``), what metering recorded (the hourly aggregates) and what was
billed (the statement: closed, or the preview while open), per API name, in usage units
(request cost). Every difference is listed with its cause.

The ledger of a month is readable until the end of the following month (the gateway
keeps it that long); later, or for an API only plans without limits grant (the gateway
makes no store call for them, so it keeps no ledger), ``admitted`` is null and only
metering and billing are compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.core import billing as core
from shared.core import ledger
from shared.core.clock import Clock
from shared.core.ratelimit import limits_of
from shared.gateway.service import limit_bucket
from shared.management import billing, records
from shared.ports import Store, StoreUnavailable

LOST = ("admitted by the gateway but not recorded by metering: a usage batch was lost, "
        "is still in flight, or arrived too late to be accepted")
UNADMITTED = ("recorded by metering without an admission: the counter store was unavailable "
              "when the gateway admitted it (fail-open), or the ledger was reset")
LATE = "recorded by metering after the statement was closed: not on the statement"
MISSING = "on the statement but no longer in metering's aggregates"
UNBILLED = "used while no active subscription granted the API: reported, never charged"


@dataclass(frozen=True, slots=True)
class Row:
    api: str
    admitted: int | None
    metered: int
    billed: int
    unbilled: int


@dataclass(frozen=True, slots=True)
class Difference:
    api: str
    between: str  # "admitted-metered", "metered-billed", "unbilled"
    units: int  # the first minus the second
    cause: str


@dataclass(slots=True)
class Report:
    consumer_id: str
    period: str
    statement_status: str
    rows: list[Row] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def admitted(store: Store, consumer_id: str, api_name: str, period: str,
             now: float) -> int | None:
    """The ledger's count, or None when the gateway no longer keeps it."""
    index = ledger.month_index(core.month_bounds(period)[0])
    if not 0 <= ledger.month_index(now) - index <= 1:
        return None
    counts = live_counters(store, consumer_id, api_name, now)
    return None if counts is None else int(counts.get(ledger.name(index), 0))


def live_counters(store: Store, consumer_id: str, api_name: str,
                  now: float) -> dict[str, int] | None:
    """The gateway's live counters of a consumer and API (limits' windows and the ledger),
    read without changing anything; None if the store is unavailable."""
    try:
        result = store.hit(limit_bucket(consumer_id, api_name), (),
                           ledger.reading_guards(now), 1)
    except StoreUnavailable:
        return None
    return dict(result.counts)


def _metered(store: Store, consumer_id: str, period: str) -> dict[str, int]:
    start, end = core.month_bounds(period)
    names = {a.id: a.name for a in records.list_apis(store)}
    out: dict[str, int] = {}
    for agg in billing.hourly_usage(store, consumer_id, start, end):
        name = names.get(str(agg["api_id"]), f"(unknown api {agg['api_id']})")
        out[name] = out.get(name, 0) + int(agg.get("cost", 0))
    return out


def report(store: Store, clock: Clock, consumer_id: str, period: str) -> Report:
    now = clock.now()
    st = billing.statement(store, clock, consumer_id, period)
    out = Report(consumer_id, period, st.status)
    billed: dict[str, int] = {}
    for line in st.lines:
        for api, units in line.units_by_api.items():
            billed[api] = billed.get(api, 0) + units
    metered = _metered(store, consumer_id, period)
    plans = {p.id: p for p in records.list_plans(store)}
    line_plans = [plans[line.plan_id] for line in st.lines if line.plan_id in plans]
    names = sorted(records.api_names(store) | set(metered) | set(billed))
    for api in names:
        granting = [p for p in line_plans if p.grants(api)]
        counted = any(limits_of(p) for p in granting)
        adm = admitted(store, consumer_id, api, period, now) if counted else None
        unbilled = st.unbilled_units_by_api.get(api, 0)
        row = Row(api, adm, metered.get(api, 0), billed.get(api, 0), unbilled)
        if adm is None and not (row.metered or row.billed or row.unbilled):
            continue
        out.rows.append(row)
        if adm is not None and adm != row.metered:
            out.differences.append(Difference(api, "admitted-metered", adm - row.metered,
                                              LOST if adm > row.metered else UNADMITTED))
        gap = row.metered - row.billed - row.unbilled
        if gap:
            out.differences.append(Difference(api, "metered-billed", gap,
                                              LATE if gap > 0 else MISSING))
        if unbilled:
            out.differences.append(Difference(api, "unbilled", unbilled, UNBILLED))
    if ledger.month_index(now) - ledger.month_index(core.month_bounds(period)[0]) > 1:
        out.notes.append("The gateway's admission ledger for this month is no longer kept "
                         "(it lasts until the end of the following month): admitted is null.")
    return out
