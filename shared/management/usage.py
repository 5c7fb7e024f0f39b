"""Reading usage: a consumer's hourly aggregates (written by metering) rolled up by API,
hour or day, and status class, with latency percentiles from the aggregates' sketches;
when each of the consumer's keys was last used; and the top consumers over a period
(admin).

Top consumers reads each consumer's aggregates in turn: fine for a management call over
thousands of consumers, and it needs no extra write on the metering path.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared.core import sketch
from shared.core.models import Consumer
from shared.management import records
from shared.metering.aggregate import key_of, read_usage
from shared.ports import Store

_PAGE = 1000
_STATUS = ("s1xx", "s2xx", "s3xx", "s4xx", "s5xx")
_SUMS = ("requests", "cost", "bytes_in", "bytes_out", "latency_ms")
MAX_TOP_SCAN = 10_000
#: How far back "last used" looks, today included: hourly usage is kept, but a keys listing
#: reads at most this many days of it (one pass over the consumer's aggregates).
LAST_USED_DAYS = 90


@dataclass(slots=True)
class Totals:
    requests: int = 0
    cost: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    latency_ms: float = 0.0
    status: dict[str, int] = field(default_factory=dict)
    latency: dict[int, int] = field(default_factory=dict)  # merged sketch: bucket -> count

    def add(self, agg: dict[str, Any]) -> None:
        self.requests += int(agg.get("requests", 0))
        self.cost += int(agg.get("cost", 0))
        self.bytes_in += int(agg.get("bytes_in", 0))
        self.bytes_out += int(agg.get("bytes_out", 0))
        self.latency_ms += float(agg.get("latency_ms", 0.0))
        for key in _STATUS:
            if agg.get(key):
                label = key[1:]
                self.status[label] = self.status.get(label, 0) + int(agg[key])
        for index, n in sketch.merge(agg).items():
            self.latency[index] = self.latency.get(index, 0) + n

    @property
    def errors(self) -> int:
        return self.status.get("4xx", 0) + self.status.get("5xx", 0)

    def merge(self, other: Totals) -> None:
        self.requests += other.requests
        self.cost += other.cost
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.latency_ms += other.latency_ms
        for label, n in other.status.items():
            self.status[label] = self.status.get(label, 0) + n
        for index, n in other.latency.items():
            self.latency[index] = self.latency.get(index, 0) + n

    def percentile(self, q: float) -> float | None:
        """Latency at quantile ``q`` (0..1) within the sketch's accuracy; None without
        sketched requests (aggregates written before metering kept a sketch have none)."""
        found = sketch.quantile(self.latency, q)
        return None if found is None else round(found, 3)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def first_hour(self) -> str:
        return f"{self.start.isoformat()}T00"

    @property
    def last_hour(self) -> str:
        return f"{self.end.isoformat()}T23"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_period(today: date, days: int = 30) -> Period:
    return Period(today - timedelta(days=days - 1), today)


def _aggregates(store: Store, consumer_id: str, period: Period) -> Iterator[dict[str, Any]]:
    after = period.first_hour
    while True:
        batch = read_usage(store, consumer_id, since_hour=after, limit=_PAGE)
        for agg in batch:
            if str(agg.get("hour", "")) > period.last_hour:
                return
            yield agg
        if len(batch) < _PAGE:
            return
        after = f"{batch[-1]['hour']}#{batch[-1]['api_id']}"


def report(
    store: Store, consumer_id: str, period: Period, *, hourly: bool, api_id: str | None
) -> tuple[list[tuple[str, str, Totals]], Totals]:
    """Rows of (period label, api id, totals), in time order, and the grand total."""
    rows: dict[tuple[str, str], Totals] = {}
    total = Totals()
    for agg in _aggregates(store, consumer_id, period):
        if api_id is not None and agg.get("api_id") != api_id:
            continue
        hour = str(agg["hour"])
        label = hour if hourly else hour[:10]
        rows.setdefault((label, str(agg.get("api_id", "-"))), Totals()).add(agg)
        total.add(agg)
    return [(label, api, t) for (label, api), t in sorted(rows.items())], total


def by_api(rows: list[tuple[str, str, Totals]]) -> dict[str, Totals]:
    """API id -> totals over the whole period, from :func:`report`'s rows (no new read)."""
    out: dict[str, Totals] = {}
    for _, api, t in rows:
        out.setdefault(api, Totals()).merge(t)
    return out


def last_used(store: Store, consumer_id: str, today: date,
              days: int = LAST_USED_DAYS) -> dict[str, float]:
    """Key id -> the start (epoch seconds) of the newest hour in which the key made a
    request, over the last ``days`` days: one pass over the consumer's hourly aggregates,
    whatever the number of keys. A key without one is absent."""
    out: dict[str, float] = {}
    for agg in _aggregates(store, consumer_id, default_period(today, days)):
        start: float | None = None
        for name, n in agg.items():
            key = key_of(name)
            if key is not None and n:
                if start is None:
                    start = float(calendar.timegm(time.strptime(str(agg["hour"]),
                                                                "%Y-%m-%dT%H")))
                out[key] = max(out.get(key, start), start)
    return out


def _consumers(store: Store) -> Iterator[Consumer]:
    after: str | None = None
    for _ in range(MAX_TOP_SCAN // 500):
        items, after = records.page(store, records.CONSUMER, limit=500, after=after)
        yield from records.load_all(Consumer, items)
        if after is None:
            return


def top(
    store: Store, period: Period, *, api_id: str | None, limit: int
) -> list[tuple[Consumer, Totals]]:
    """Consumers with the most requests in ``period``, most first; idle ones left out."""
    ranked: list[tuple[Consumer, Totals]] = []
    for consumer in _consumers(store):
        _, total = report(store, consumer.id, period, hourly=False, api_id=api_id)
        if total.requests:
            ranked.append((consumer, total))
    ranked.sort(key=lambda ct: (-ct[1].requests, ct[0].id))
    return ranked[:limit]
