"""Usage: events grouped per consumer x API x hour; each group added once, atomically.

The gateway only *emits* (to a sink that never writes synchronously). The aggregating side
(a background thread locally, the metering function in each cloud) hands every delivered
batch to :func:`record_batch`. Events are grouped by consumer, API and hour; each group is
ONE transaction in the consumer's usage partition:

* a dedup marker ``USAGE#<consumer> / D#<hour>#<api>#<digest>`` written ``if_absent``,
  where the digest is taken over the group's sorted request ids, and
* the aggregate ``USAGE#<consumer> / H#<hour>#<api>`` incremented: sums, counts per
  status class, a latency sketch (``l<i>``, :mod:`shared.core.sketch`: the developer's own
  percentiles) and requests per key (``k_…``, :func:`key_field`: a key's "last used").

Both items share a partition, so the marker and the sums commit together or not at all:
a redelivered batch (at-least-once delivery, in any order) finds its markers and adds
nothing; a crash between groups leaves the finished groups marked and the rest untouched.
Markers outlive every retention that could redeliver a batch (:data:`DEDUP_SECONDS`).
A group older than :data:`ACCEPT_SECONDS` when it arrives is refused (``late``), never
added: its marker may be gone, so adding it could count it twice. Deployments keep every
redelivery path (queue retention, async event age, dead letters) inside ACCEPT_SECONDS,
so nothing legitimately arrives that late (template.yaml; tests check the bound).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.core import sketch
from shared.core.models import UsageEvent
from shared.ports import ConditionFailed, Increment, Item, Put, Store

#: 21 days: longer than the longest redelivery path (SQS/queue dead letters keep 14 days).
DEDUP_SECONDS = 21 * 86_400
#: Groups whose first event is older than this on arrival are refused: a day short of the
#: markers' life, for clock skew and the time a redelivery takes.
ACCEPT_SECONDS = DEDUP_SECONDS - 86_400


def usage_pk(consumer_id: str) -> str:
    return f"USAGE#{consumer_id}"


def hour_of(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H", time.gmtime(ts))


@dataclass(frozen=True, slots=True)
class Recorded:
    groups: int = 0  # groups added now
    duplicates: int = 0  # groups already added by an earlier delivery
    events: int = 0  # events in the groups added now
    late: int = 0  # events refused: older than ACCEPT_SECONDS, their marker may be gone


def _groups(events: Iterable[UsageEvent]) -> dict[tuple[str, str, str], list[UsageEvent]]:
    out: dict[tuple[str, str, str], dict[str, UsageEvent]] = {}
    for e in events:
        group = out.setdefault((e.consumer_id, e.api_id, hour_of(e.timestamp)), {})
        group.setdefault(e.request_id, e)  # one request counted once within a batch too
    return {k: list(v.values()) for k, v in out.items()}


KEY_PREFIX = "k_"
_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
#: Longer key ids are not counted per key: their field could pass 255 characters.
MAX_KEY_ID = 84


def key_field(key_id: str) -> str:
    """The aggregate's field counting one key's requests: ``k_`` and the id's UTF-8 bytes,
    ASCII letters and digits as they are, every other byte as ``_`` and two hex digits
    (``key_a-1`` -> ``k_key_5fa_2d1``). A valid C# identifier (Azure Table property names)
    and DynamoDB attribute name, at most 254 characters for ids up to MAX_KEY_ID bytes;
    one field per id and back (:func:`key_of`)."""
    return KEY_PREFIX + "".join(chr(b) if b in _PLAIN else f"_{b:02x}"
                                for b in key_id.encode())


def key_of(field: str) -> str | None:
    """The key id a :func:`key_field` name stands for; None for any other field."""
    if not field.startswith(KEY_PREFIX):
        return None
    body, out, i = field[len(KEY_PREFIX):], bytearray(), 0
    while i < len(body):
        if body[i] == "_":
            out.append(int(body[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(body[i]))
            i += 1
    return out.decode(errors="replace")


def _sums(events: list[UsageEvent]) -> dict[str, int | float]:
    sums: dict[str, int | float] = {
        "requests": len(events),
        "cost": sum(e.cost for e in events),
        "bytes_in": sum(e.bytes_in for e in events),
        "bytes_out": sum(e.bytes_out for e in events),
        "latency_ms": round(sum(e.latency_ms for e in events), 3),
    }
    for e in events:
        key = f"s{e.status // 100}xx"
        sums[key] = sums.get(key, 0) + 1
        if e.key_id and len(e.key_id.encode()) <= MAX_KEY_ID:  # none on the JWT path
            by_key = key_field(e.key_id)
            sums[by_key] = sums.get(by_key, 0) + 1
    sums.update(bounded(sketch.counts(e.latency_ms for e in events), MAX_FIELDS - len(sums)))
    return sums


#: Fields one Increment may add: DynamoDB's UpdateExpression holds at most 4 KB, about 45
#: characters per field (78 fields measured 3,927). The sketch gets what the sums, status
#: classes and keys leave, at least MIN_BUCKETS.
MAX_FIELDS = 72
MIN_BUCKETS = 16


def bounded(buckets: dict[str, int], room: int) -> dict[str, int]:
    """At most ``max(room, MIN_BUCKETS)`` sketch buckets: past that, the lowest buckets are
    folded into the lowest one kept (DDSketch's "collapsing lowest": the tail percentiles
    stay within the sketch's accuracy; only values below the kept range read high). A
    group of one batch spans that many distinct buckets only when its latencies spread
    over a factor of ~100 or more."""
    room = max(room, MIN_BUCKETS)
    if len(buckets) <= room:
        return buckets
    order = sorted(buckets, key=lambda f: int(f[len(sketch.PREFIX):]))
    folded, kept = order[:-room], order[-room:]
    out = {f: buckets[f] for f in kept}
    out[kept[0]] += sum(buckets[f] for f in folded)
    return out


def record_batch(
    store: Store, events: Iterable[UsageEvent], now: float | None = None
) -> Recorded:
    """Add a delivered batch. Safe to call again with the same batch. A store error
    propagates (the caller redelivers); the groups already added stay added, once.
    ``now``: the arrival time; groups older than ACCEPT_SECONDS are refused as ``late``."""
    added = duplicates = counted = late = 0
    for (consumer, api, hour), group in sorted(_groups(events).items()):
        first = min(e.timestamp for e in group)
        if now is not None and now - first > ACCEPT_SECONDS:
            late += len(group)
            continue
        ids = sorted(e.request_id for e in group)
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:32]
        pk = usage_pk(consumer)
        marker = Put(
            Item(pk, f"D#{hour}#{api}#{digest}", {"n": len(ids)},
                 expires_at=first + DEDUP_SECONDS),
            if_absent=True,
        )
        agg = Increment(
            pk, f"H#{hour}#{api}", _sums(group),
            fields={"consumer_id": consumer, "api_id": api, "hour": hour},
        )
        try:
            store.transact([marker, agg])
        except ConditionFailed:
            duplicates += 1
            continue
        added += 1
        counted += len(group)
    return Recorded(added, duplicates, counted, late)


def record(store: Store, event: UsageEvent) -> bool:
    """Add one event. False if this request id was added before."""
    return record_batch(store, [event]).groups == 1


def read_usage(
    store: Store, consumer_id: str, since_hour: str = "", limit: int = 1000
) -> list[dict[str, Any]]:
    """Hourly aggregates of one consumer, oldest first, after ``since_hour`` (``YYYY-MM-DDTHH``)."""
    after = f"H#{since_hour}" if since_hour else None
    items = store.query(usage_pk(consumer_id), "H#", limit=limit, after=after)
    return [dict(i.data) for i in items]
