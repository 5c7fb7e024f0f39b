"""Statements: a consumer's invoice per month, previewed while open, frozen once closed.

The arithmetic is ``shared/core/billing.py``; this module gathers its inputs from the store:

* which plan each subscription was on, when — read back from the audit log, which holds
  every subscription action with the record before and after (:func:`plan_events`); a
  subscription with no entry (seed data) has been on its plan all along;
* the usage units (the metered ``cost``) per API and hour, from metering's aggregates;
* each plan's price as it stands when the statement is computed (a closed statement keeps
  the price it was closed with).

A closed statement lives at ``STMT#<consumer> / <YYYY-MM>``, written once (``if_absent``)
with its audit entry as a follow-up, and never rewritten: usage recorded after the close
shows in reconciliation, not in the statement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.core import billing as core
from shared.core.clock import Clock
from shared.core.models import Plan, to_dict
from shared.management import audit, records
from shared.management.changes import Change
from shared.management.entities import Actor
from shared.management.errors import Conflict, Invalid, commit
from shared.metering.aggregate import read_usage
from shared.ports import Item, Put, Store

CURRENCY = "USD"
#: Statements close by themselves this long after the month ends (``close_due``): usage
#: delivered later is a reconciliation difference, not a change to the statement.
CLOSE_AFTER = 2 * 86_400
_PAGE = 1000


def statement_pk(consumer_id: str) -> str:
    return f"STMT#{consumer_id}"


def _subscription_entries(store: Store, consumer_id: str, since: float) -> list[dict[str, Any]]:
    """The audit entries of this consumer's subscriptions at or after ``since``, newest
    first (the audit log's sort key starts with the time, so the walk stops there)."""
    bound = f"{since:020.6f}"
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = store.query(records.AUDIT, limit=500, after=after, descending=True)
        for item in page:
            if item.sk < bound:
                return out
            d = item.data
            if d.get("target_type") == "subscription" and d.get("consumer_id") == consumer_id:
                out.append(dict(d))
        if len(page) < 500:
            return out
        after = page[-1].sk


def _event(at: float, sub: dict[str, Any]) -> core.PlanEvent:
    return core.PlanEvent(at, str(sub["id"]), str(sub["plan_id"]), sub.get("status") == "active")


def plan_events(store: Store, consumer_id: str, since: float) -> list[core.PlanEvent]:
    """Which plan each subscription was on from ``since`` on, as events in time order.

    Every subscription action is audited with the record before and after, whatever path
    made it (subscribe, change plan, approve, cancel, admin update). The state at ``since``
    is today's subscriptions with every later entry undone (newest first, ``before``);
    the entries since then, oldest first, are the changes (``after``)."""
    state: dict[str, dict[str, Any] | None] = {
        s.id: to_dict(s) for s in records.list_subscriptions(store, consumer_id)}
    entries = _subscription_entries(store, consumer_id, since)
    for e in entries:
        state[str(e["target_id"])] = e.get("before")
    events = [_event(max(since, float(sub.get("created_at") or 0)), sub)
              for sub in state.values() if sub is not None]
    for e in reversed(entries):
        if e.get("after") is not None:
            events.append(_event(float(e["at"]), e["after"]))
        elif e.get("before") is not None:  # gone: no longer billable
            events.append(core.PlanEvent(float(e["at"]), str(e["target_id"]), "", False))
    return events


def price_of(plan: Plan) -> core.Price:
    tiers = tuple(core.Tier(t.up_to, t.cents_per_1000) for t in plan.overage_tiers)
    if tiers:
        return core.Price(plan.monthly_fee_cents, plan.included_requests, tiers)
    return core.flat(plan.monthly_fee_cents, plan.included_requests,
                     plan.overage_cents_per_1000)


def hourly_usage(store: Store, consumer_id: str, start: int, end: int) -> Iterator[dict[str, Any]]:
    """Metering's aggregates of the hours in ``[start, end)``, oldest first."""
    first, last = core.hour_label(start), core.hour_label(end - 1)
    after = core.hour_label(start - 3600)
    while True:
        batch = read_usage(store, consumer_id, since_hour=after, limit=_PAGE)
        for agg in batch:
            if str(agg["hour"]) > last:
                return
            if str(agg["hour"]) >= first:
                yield agg
        if len(batch) < _PAGE:
            return
        after = f"{batch[-1]['hour']}#{batch[-1]['api_id']}"


@dataclass(slots=True)
class Line:
    subscription_id: str
    plan_id: str
    plan_name: str
    seconds: int
    period_seconds: int
    monthly_fee_cents: int
    included_requests: int
    tiers: list[dict[str, int | None]]
    fee_cents: int = 0
    allowance: int = 0
    units: int = 0
    overage_units: int = 0
    overage_cents: int = 0
    units_by_api: dict[str, int] = field(default_factory=dict)

    @property
    def total_cents(self) -> int:
        return self.fee_cents + self.overage_cents


@dataclass(slots=True)
class Statement:
    consumer_id: str
    period: str
    start: int
    end: int
    status: str  # "open" (a preview, still moving) or "closed" (final)
    computed_at: float
    lines: list[Line]
    unbilled_units_by_api: dict[str, int]
    total_cents: int
    currency: str = CURRENCY
    closed_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = to_dict(self)
        for line, obj in zip(out["lines"], self.lines, strict=True):
            line["total_cents"] = obj.total_cents
        return out


def statement_from(data: dict[str, Any]) -> Statement:
    lines = [Line(**{k: v for k, v in d.items() if k != "total_cents"}) for d in data["lines"]]
    return Statement(**{**data, "lines": lines})


def compute(store: Store, consumer_id: str, period: str, now: float) -> Statement:
    """The statement of ``period`` from what the store holds now (nothing is written)."""
    start, end = core.month_bounds(period)
    span = end - start
    segs = core.segments(plan_events(store, consumer_id, start), start, end)
    plans = {p.id: p for p in records.list_plans(store)}
    api_names = {a.id: a.name for a in records.list_apis(store)}
    lines: dict[tuple[str, str], Line] = {}
    for s in segs:
        plan = plans.get(s.plan_id) or Plan(s.plan_id, "(deleted plan)")
        price = price_of(plan)
        line = lines.setdefault((s.subscription_id, s.plan_id), Line(
            s.subscription_id, s.plan_id, plan.name, 0, span, price.monthly_fee_cents,
            price.included_requests, [{"up_to": t.up_to, "cents_per_1000": t.cents_per_1000}
                                      for t in price.tiers]))
        line.seconds += s.seconds
    unbilled: dict[str, int] = {}
    for agg in hourly_usage(store, consumer_id, start, end):
        units = int(agg.get("cost", 0))
        if not units:
            continue
        name = api_names.get(str(agg["api_id"]), f"(unknown api {agg['api_id']})")
        midpoint = core.hour_start(str(agg["hour"])) + 1800
        grants = {pid: p.grants(name) for pid, p in plans.items()}
        seg = core.in_force(segs, midpoint, grants)
        if seg is None:
            unbilled[name] = unbilled.get(name, 0) + units
            continue
        line = lines[(seg.subscription_id, seg.plan_id)]
        line.units += units
        line.units_by_api[name] = line.units_by_api.get(name, 0) + units
    for (_, plan_id), line in lines.items():
        plan = plans.get(plan_id) or Plan(plan_id, "")
        c = core.charge(price_of(plan), line.seconds, line.units, span)
        line.fee_cents, line.allowance = c.fee_cents, c.allowance
        line.overage_units, line.overage_cents = c.overage_units, c.overage_cents
    ordered = [lines[k] for k in sorted(lines)]
    return Statement(consumer_id, period, start, end, "open", now, ordered, unbilled,
                     sum(line.total_cents for line in ordered))


def stored(store: Store, consumer_id: str, period: str) -> Statement | None:
    item = store.get(statement_pk(consumer_id), period)
    return None if item is None else statement_from(dict(item.data))


def _period(period: str) -> str:
    try:
        core.parse_month(period)
    except ValueError as e:
        raise Invalid(f"{e}; e.g. 2026-01.", field="query.period") from None
    return period


def statement(store: Store, clock: Clock, consumer_id: str, period: str) -> Statement:
    """The closed statement, or (not yet closed) the preview computed now."""
    return stored(store, consumer_id, _period(period)) or compute(
        store, consumer_id, period, clock.now())


def preview(store: Store, clock: Clock, consumer_id: str) -> Statement:
    """The current month so far."""
    return compute(store, consumer_id, core.month_of(clock.now()), clock.now())


def list_closed(store: Store, consumer_id: str) -> list[Statement]:
    """Closed statements, newest first."""
    items = store.query(statement_pk(consumer_id), limit=1000, descending=True)
    return [statement_from(dict(i.data)) for i in items if not i.sk.startswith("~")]


def close(store: Store, clock: Clock, actor: Actor, consumer_id: str, period: str) -> Statement:
    """Freeze the statement of an ended month. Closing again returns the same statement."""
    done = stored(store, consumer_id, _period(period))
    if done is not None:
        return done
    now = clock.now()
    if now < core.month_bounds(period)[1]:
        raise Conflict(f"{period} has not ended yet; its statement can be closed from "
                       f"{core.next_month(period)}-01 on. Use the preview meanwhile.")
    st = compute(store, consumer_id, period, now)
    st.status, st.closed_at = "closed", now
    data = st.as_dict()
    try:
        commit(store, clock, Change(
            [Put(Item(statement_pk(consumer_id), period, data), if_absent=True)],
            [audit.write(clock, actor, "statement.close",
                         audit.Target("statement", period, consumer_id),
                         after={"total_cents": st.total_cents, "period": period})],
        ))
    except Conflict:  # closed concurrently: the first close stands
        return stored(store, consumer_id, period) or st
    return st


def close_due(store: Store, clock: Clock, actor: Actor, consumer_ids: list[str]) -> int:
    """Close last month's statements once CLOSE_AFTER has passed (a scheduled job)."""
    now = clock.now()
    period = core.month_of(core.month_bounds(core.month_of(now))[0] - 1)
    if now < core.month_bounds(period)[1] + CLOSE_AFTER:
        return 0
    fresh = [c for c in consumer_ids if stored(store, c, period) is None]
    for consumer_id in fresh:
        close(store, clock, actor, consumer_id, period)
    return len(fresh)


CSV_COLUMNS = ("period", "status", "subscription_id", "plan_id", "plan_name", "seconds",
               "period_seconds", "fee_cents", "units", "allowance", "overage_units",
               "overage_cents", "total_cents", "currency")


def _cell(value: object) -> object:
    """Text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(st: Statement) -> str:
    """One row per line, then a TOTAL row; amounts in integer cents."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for line in st.lines:
        w.writerow([st.period, st.status, line.subscription_id, line.plan_id, _cell(line.plan_name),
                    line.seconds, line.period_seconds, line.fee_cents, line.units,
                    line.allowance, line.overage_units, line.overage_cents, line.total_cents,
                    st.currency])
    for api, units in sorted(st.unbilled_units_by_api.items()):
        w.writerow([st.period, st.status, "", "", _cell(f"unbilled: {api}"), "", "", 0, units, "",
                    "", 0, 0, st.currency])
    w.writerow([st.period, st.status, "TOTAL", "", "", "", "", "", "", "", "", "",
                st.total_cents, st.currency])
    return buf.getvalue()
