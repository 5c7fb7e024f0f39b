"""Invoice arithmetic: pure, integer cents, one documented rounding per amount.

A billing period is a calendar month in UTC, ``[start, end)`` in whole seconds. Within it a
subscription may be on several plans in turn (plan changes, approval, cancellation); each
stretch is a :class:`Segment`. For every (subscription, plan) the period yields up to two
lines (docs/billing.md has the formulas with examples):

* **fee** — ``round_half_up(monthly_fee_cents * seconds / period_seconds)``: the flat fee
  prorated by the seconds the plan was in force;
* **overage** — the usage units attributed to the plan beyond its allowance,
  ``allowance = ceil(included_requests * seconds / period_seconds)`` (rounded in the
  developer's favour), priced by graduated tiers: each unit is charged at the tier it falls
  in, per 1,000 units. The exact amount is kept in millicents (cents/1000) and rounded half
  up to cents once per line, so splitting a period never creates or loses a cent beyond
  that one rounding.

Timestamps are truncated to whole seconds: a change at ``t`` takes effect at ``floor(t)``.
Usage is recorded per hour; an hour's units go to the plan in force at the hour's
midpoint (HH:30:00), on the lowest subscription id whose plan grants the API — the order
the gateway itself picks a subscription in. Units that no active subscription covers are
reported as unbilled, never charged.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MONTH_FORMAT = "%Y-%m"


# --- periods -------------------------------------------------------------------------------


def month_of(ts: float) -> str:
    """``YYYY-MM`` of the UTC month holding ``ts``."""
    return time.strftime(MONTH_FORMAT, time.gmtime(ts))


def parse_month(month: str) -> tuple[int, int]:
    """(year, month) of ``YYYY-MM``; ValueError for anything else."""
    if len(month) != 7 or month[4] != "-" or not (month[:4] + month[5:]).isdigit():
        raise ValueError(f"a billing period is written YYYY-MM, not {month!r}")
    year, mon = int(month[:4]), int(month[5:])
    if not 1 <= mon <= 12 or year < 1970:
        raise ValueError(f"no such billing period: {month!r}")
    return year, mon


def month_bounds(month: str) -> tuple[int, int]:
    """``[start, end)`` of the month in epoch seconds."""
    year, mon = parse_month(month)
    start = calendar.timegm((year, mon, 1, 0, 0, 0))
    nxt = (year + mon // 12, mon % 12 + 1)
    return start, calendar.timegm((nxt[0], nxt[1], 1, 0, 0, 0))


def next_month(month: str) -> str:
    return month_of(month_bounds(month)[1])


def hour_label(ts: float) -> str:
    """``YYYY-MM-DDTHH``: metering's hour of ``ts`` (UTC)."""
    return time.strftime("%Y-%m-%dT%H", time.gmtime(ts))


def hour_start(label: str) -> int:
    return calendar.timegm(time.strptime(label, "%Y-%m-%dT%H"))


# --- prices ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tier:
    """Overage units up to ``up_to`` (counted from the first overage unit, cumulative;
    None: no upper bound) cost ``cents_per_1000`` per 1,000 units."""

    up_to: int | None
    cents_per_1000: int


@dataclass(frozen=True, slots=True)
class Price:
    monthly_fee_cents: int = 0
    included_requests: int = 0
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        if self.monthly_fee_cents < 0 or self.included_requests < 0:
            raise ValueError("fees and allowances are never negative")
        bounds = [t.up_to for t in self.tiers]
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last tier may be unbounded")
        finite = [b for b in bounds if b is not None]
        if finite != sorted(set(finite)) or any(b <= 0 for b in finite):
            raise ValueError("tier bounds must rise strictly and be positive")
        if any(t.cents_per_1000 < 0 for t in self.tiers):
            raise ValueError("tier prices are never negative")


def flat(monthly_fee_cents: int, included: int, cents_per_1000: int) -> Price:
    """One overage price for every unit past the allowance."""
    tiers = (Tier(None, cents_per_1000),) if cents_per_1000 else ()
    return Price(monthly_fee_cents, included, tiers)


# --- the formulas ---------------------------------------------------------------------------


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves up (both >= 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def prorate_fee(fee_cents: int, seconds: int, period_seconds: int) -> int:
    return round_half_up(fee_cents * seconds, period_seconds)


def prorate_allowance(included: int, seconds: int, period_seconds: int) -> int:
    return -(-included * seconds // period_seconds)  # ceil: in the developer's favour


def overage_millicents(units: int, tiers: Sequence[Tier]) -> int:
    """Graduated: the first ``tiers[0].up_to`` units at the first price, and so on. Units
    beyond a last bounded tier are charged at that tier's price."""
    total, floor = 0, 0
    for n, tier in enumerate(tiers):
        last = n == len(tiers) - 1
        top = units if tier.up_to is None or last else min(units, tier.up_to)
        if top > floor:
            total += (top - floor) * tier.cents_per_1000
            floor = top
    return total


@dataclass(frozen=True, slots=True)
class Charge:
    fee_cents: int
    allowance: int
    overage_units: int
    overage_cents: int

    @property
    def total_cents(self) -> int:
        return self.fee_cents + self.overage_cents


def charge(price: Price, seconds: int, units: int, period_seconds: int) -> Charge:
    """What ``units`` on a plan in force for ``seconds`` of the period cost."""
    if not 0 <= seconds <= period_seconds or units < 0:
        raise ValueError("seconds within the period and units >= 0")
    allowance = prorate_allowance(price.included_requests, seconds, period_seconds)
    over = max(0, units - allowance)
    cents = round_half_up(overage_millicents(over, price.tiers), 1000)
    return Charge(prorate_fee(price.monthly_fee_cents, seconds, period_seconds),
                  allowance, over, cents)


# --- who was on which plan, when ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """From ``at`` on, subscription ``subscription_id`` is on ``plan_id`` and is billable
    (``active``) or not (pending, cancelled)."""

    at: float
    subscription_id: str
    plan_id: str
    active: bool


@dataclass(frozen=True, slots=True)
class Segment:
    subscription_id: str
    plan_id: str
    start: int
    end: int  # exclusive

    @property
    def seconds(self) -> int:
        return self.end - self.start


def segments(events: Iterable[PlanEvent], start: int, end: int) -> list[Segment]:
    """The active stretches inside ``[start, end)``, per subscription, in time order.
    Events at the same second: the later one in the input wins."""
    by_sub: dict[str, list[tuple[int, int, PlanEvent]]] = {}
    for n, e in enumerate(events):
        by_sub.setdefault(e.subscription_id, []).append((int(e.at), n, e))
    out: list[Segment] = []
    for sub_id in sorted(by_sub):
        timeline = sorted(by_sub[sub_id])
        for i, (at, _, e) in enumerate(timeline):
            until = timeline[i + 1][0] if i + 1 < len(timeline) else end
            lo, hi = max(at, start), min(until, end)
            if e.active and hi > lo:
                out.append(Segment(sub_id, e.plan_id, lo, hi))
    return out


def in_force(
    segs: Sequence[Segment], at: int, grants: Mapping[str, bool]
) -> Segment | None:
    """The segment billed for usage at ``at``: the lowest subscription id among those in
    force whose plan grants the API (``grants[plan_id]``)."""
    found = [s for s in segs if s.start <= at < s.end and grants.get(s.plan_id, False)]
    return min(found, key=lambda s: s.subscription_id) if found else None
