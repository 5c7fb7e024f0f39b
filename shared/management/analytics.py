"""Reading analytics: per API version, route, status class and hour (counts, bytes,
latency percentiles from the merged sketches), error rates, who still calls a deprecated
version, and a developer's quota meter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.core import sketch
from shared.core.clock import Clock
from shared.core.models import Api, Lifecycle, SubscriptionStatus
from shared.core.ratelimit import Unit
from shared.management import records
from shared.management.reconciliation import live_counters
from shared.metering import analytics
from shared.ports import Store

_ERRORS = ("4xx", "5xx")


@dataclass(frozen=True, slots=True)
class Stats:
    requests: int
    errors: int
    bytes_in: int
    bytes_out: int
    avg_latency_ms: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def error_rate(self) -> float:
        return round(self.errors / self.requests, 4) if self.requests else 0.0


def stats(items: Iterable[dict[str, Any]]) -> Stats:
    """Sums and merged percentiles of analytics items."""
    rows = list(items)
    n = sum(int(i.get("requests", 0)) for i in rows)
    buckets = sketch.merge(*rows)
    pct = [sketch.quantile(buckets, q) for q in (0.5, 0.95, 0.99)]
    return Stats(
        n, sum(int(i.get("requests", 0)) for i in rows if i.get("status_class") in _ERRORS),
        sum(int(i.get("bytes_in", 0)) for i in rows),
        sum(int(i.get("bytes_out", 0)) for i in rows),
        round(sum(float(i.get("latency_ms", 0)) for i in rows) / n, 3) if n else 0.0,
        *(None if p is None else round(p, 3) for p in pct))


@dataclass(frozen=True, slots=True)
class Row:
    api: Api
    key: tuple[str, ...]  # (hour, status class, route) or (route,) or ()
    stats: Stats


def report(store: Store, first_hour: str, last_hour: str, *, api_id: str | None = None,
           by: str = "hour") -> list[Row]:
    """``by``: "hour" (hour x class x route), "route" (merged over the hours) or "api"."""
    apis = [a for a in records.list_apis(store) if api_id is None or a.id == api_id]
    out: list[Row] = []
    for api in sorted(apis, key=lambda a: (a.name, a.version)):
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for item in analytics.cells(store, api.id, first_hour, last_hour):
            key: tuple[str, ...] = {
                "hour": (str(item["hour"]), str(item["status_class"]), str(item["route"])),
                "route": (str(item["route"]),), "api": ()}[by]
            groups.setdefault(key, []).append(item)
        out += [Row(api, key, stats(items)) for key, items in sorted(groups.items())]
    return out


@dataclass(frozen=True, slots=True)
class Callers:
    api: Api
    consumers: dict[str, int]  # consumer id -> requests in the window


def deprecated_callers(store: Store, clock: Clock, days: int = 30) -> list[Callers]:
    """For every deprecated version: the consumers that called it in the last ``days``
    days (today included), from metering."""
    first_day = analytics.day_of(clock.now() - (days - 1) * 86_400)
    return [Callers(api, analytics.callers(store, api.id, first_day))
            for api in records.list_apis(store) if api.lifecycle is Lifecycle.DEPRECATED]


@dataclass(frozen=True, slots=True)
class Quota:
    subscription_id: str
    plan_id: str
    plan_name: str
    api: str
    used: int
    limit: int
    resets_at: float

    @property
    def percent(self) -> int:
        """Whole percent used, rounded down ("73 % of this month's quota used")."""
        return self.used * 100 // self.limit if self.limit else 100


def quota(store: Store, clock: Clock, consumer_id: str) -> list[Quota]:
    """Each active subscription's monthly quota per API it grants, as the gateway counts it
    (its own live counter: exact, not delayed by metering)."""
    now = clock.now()
    index, _, end = Unit.MONTH.window(now)
    names = sorted(records.api_names(store))
    out: list[Quota] = []
    for sub in records.list_subscriptions(store, consumer_id):
        plan = records.get_plan(store, sub.plan_id)
        if sub.status is not SubscriptionStatus.ACTIVE or plan is None:
            continue
        plan = plan.with_overrides(sub.overrides)
        if plan.quota_per_month is None:
            continue
        for name in (n for n in names if plan.grants(n)):
            counts = live_counters(store, consumer_id, name, now) or {}
            used = int(counts.get(f"{Unit.MONTH.code}{index}", 0))
            out.append(Quota(sub.id, plan.id, plan.name, name, used, plan.quota_per_month, end))
    return out
