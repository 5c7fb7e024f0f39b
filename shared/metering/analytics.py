"""Analytics: usage per API (version) x hour x status class x route, with a latency sketch,
and who called each API on each day — added once per delivered batch, like usage.

Layout, one partition per API version (``ANALYTICS#<api id>``)::

    H#<hour>#<class>#<route>   requests, bytes_in, bytes_out, latency_ms (sum), l<i> (sketch)
    C#<day>#<consumer>         requests: who called this version that day
    D#<hour>#<digest>          dedup marker of one chunk of a delivered batch

A batch's events for one API and hour are split, in request-id order, into chunks that
touch at most 24 items; each chunk commits with its marker in one transaction (one
partition), so a redelivered batch adds nothing and a crash leaves whole chunks. Events
of unrouted requests (api ``-``) are left out.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

from shared.core import sketch
from shared.core.models import UsageEvent
from shared.metering import aggregate
from shared.ports import ConditionFailed, Increment, Item, Put, Store, Write

_ITEMS_PER_CHUNK = 24  # + the marker = 25, the store's batch limit


def analytics_pk(api_id: str) -> str:
    return f"ANALYTICS#{api_id}"


def day_of(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def _keys(e: UsageEvent, hour: str) -> tuple[str, str]:
    return (f"H#{hour}#{e.status // 100}xx#{e.route}", f"C#{day_of(e.timestamp)}#{e.consumer_id}")


def _chunks(events: list[UsageEvent], hour: str) -> list[list[UsageEvent]]:
    out: list[list[UsageEvent]] = []
    keys: set[str] = set()
    for e in sorted(events, key=lambda e: e.request_id):
        mine = set(_keys(e, hour))
        if not out or len(keys | mine) > _ITEMS_PER_CHUNK:
            out.append([])
            keys = set()
        out[-1].append(e)
        keys |= mine
    return out


def _writes(api_id: str, hour: str, chunk: list[UsageEvent]) -> list[Write]:
    cells: dict[str, list[UsageEvent]] = {}
    callers: dict[str, list[UsageEvent]] = {}
    for e in chunk:
        cell, caller = _keys(e, hour)
        cells.setdefault(cell, []).append(e)
        callers.setdefault(caller, []).append(e)
    pk = analytics_pk(api_id)
    writes: list[Write] = []
    for sk, evs in sorted(cells.items()):
        deltas: dict[str, int | float] = {
            "requests": len(evs), "bytes_in": sum(e.bytes_in for e in evs),
            "bytes_out": sum(e.bytes_out for e in evs),
            "latency_ms": round(sum(e.latency_ms for e in evs), 3),
            **aggregate.bounded(sketch.counts(e.latency_ms for e in evs),
                                aggregate.MAX_FIELDS - 4)}  # DynamoDB's 4 KB expression
        fields = {"api_id": api_id, "hour": hour, "route": evs[0].route,
                  "status_class": f"{evs[0].status // 100}xx"}
        writes.append(Increment(pk, sk, deltas, fields=fields))
    for sk, evs in sorted(callers.items()):
        fields = {"consumer_id": evs[0].consumer_id, "day": day_of(evs[0].timestamp)}
        writes.append(Increment(pk, sk, {"requests": len(evs)}, fields=fields))
    return writes


def record(store: Store, events: Iterable[UsageEvent], now: float | None = None) -> int:
    """Add a delivered batch; safe to call again with it. Returns the chunks added."""
    groups: dict[tuple[str, str], dict[str, UsageEvent]] = {}
    for e in events:
        if e.api_id != "-":
            key = (e.api_id, aggregate.hour_of(e.timestamp))
            groups.setdefault(key, {}).setdefault(e.request_id, e)
    added = 0
    for (api_id, hour), by_id in sorted(groups.items()):
        first = min(e.timestamp for e in by_id.values())
        if now is not None and now - first > aggregate.ACCEPT_SECONDS:
            continue  # refused as late by usage too: their markers may be gone
        for chunk in _chunks(list(by_id.values()), hour):
            ids = "\n".join(e.request_id for e in chunk)
            digest = hashlib.sha256(ids.encode()).hexdigest()[:32]
            marker = Put(Item(analytics_pk(api_id), f"D#{hour}#{digest}", {"n": len(chunk)},
                              expires_at=first + aggregate.DEDUP_SECONDS), if_absent=True)
            try:
                store.transact([marker, *_writes(api_id, hour, chunk)])
            except ConditionFailed:
                continue
            added += 1
    return added


def record_all(store: Store, events: Iterable[UsageEvent], now: float | None = None) -> Any:
    """What every metering entry point calls with a delivered batch: usage per consumer
    (``aggregate.record_batch``, whose answer is returned) and analytics per API."""
    batch = list(events)
    done = (aggregate.record_batch(store, batch) if now is None
            else aggregate.record_batch(store, batch, now=now))
    record(store, batch, now)
    return done


def cells(store: Store, api_id: str, first_hour: str, last_hour: str) -> list[dict[str, Any]]:
    """The hour x class x route items of one API version, ``first_hour..last_hour``."""
    out: list[dict[str, Any]] = []
    after = f"H#{first_hour}"  # every sort key of that hour sorts after it
    while True:
        page = store.query(analytics_pk(api_id), "H#", limit=500, after=after)
        for item in page:
            if str(item.data["hour"]) > last_hour:
                return out
            out.append(dict(item.data))
        if len(page) < 500:
            return out
        after = page[-1].sk


def callers(store: Store, api_id: str, first_day: str) -> dict[str, int]:
    """Consumer id -> requests to this API version from ``first_day`` on."""
    out: dict[str, int] = {}
    after = f"C#{first_day}"  # every sort key of that day sorts after it
    while True:
        page = store.query(analytics_pk(api_id), "C#", limit=500, after=after)
        for item in page:
            consumer = str(item.data["consumer_id"])
            out[consumer] = out.get(consumer, 0) + int(item.data.get("requests", 0))
        if len(page) < 500:
            return out
        after = page[-1].sk
