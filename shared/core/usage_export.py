"""Metering's hourly aggregates as CloudEvents 1.0 for a usage-metering service (OpenMeter).

Pure: no I/O. ``shared/management/export.py`` reads the store and drives an exporter
(:class:`UsageExporter`, adapter ``shared/adapters/openmeter_exporter.py``).

One event per consumer x API x hour carries what that hour's aggregate gained since it
was last exported (the whole aggregate the first time, the later growth as a correction;
metering's aggregates only ever grow). Its ``id`` is a digest of the source, consumer,
API, hour and the aggregate's cumulative totals, so:

* every retry and every re-send after a crash carries the same id (OpenMeter deduplicates
  by ``source`` + ``id``), and
* a later state of the same hour (a late batch made it grow) gets a new id, carrying only
  the growth: the target's sum equals the aggregate, never counts it twice.

Event layout (docs/billing.md, "Exporting usage"), following OpenMeter's ``Event`` schema
(api/openapi.yaml of github.com/openmeterio/openmeter, ``POST /api/v1/events``): required
``specversion`` "1.0", ``id``, ``source``, ``type``, ``subject``; ``time`` RFC 3339;
``data`` a JSON object.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

SPECVERSION = "1.0"
EVENT_TYPE = "tollway.api.requests"
#: Events per request: OpenMeter documents no cap; 100 keeps a request small (and is
#: the cap Lago and Stripe use for their batch endpoints).
MAX_BATCH = 100
#: An hour is exported once it ended this long ago: usage batches arrive after the hour
#: (buffering, queues, retries), and nearly all of them within minutes. Anything later
#: still gets exported, as a correction event (see the module docstring).
SETTLE_SECONDS = 2 * 3600
_HOUR = "%Y-%m-%dT%H"


class ExportRefused(Exception):
    """The target refused the request (4xx other than 429: a bad event, a bad token).
    Sending the same request again cannot succeed; ``status`` is the HTTP status."""

    def __init__(self, detail: str, status: int = 0) -> None:
        super().__init__(detail)
        self.status = status


class ExportUnavailable(Exception):
    """No attempt succeeded (5xx, 429, timeouts, dropped connections) within the retry
    budget. Sending the same events again later is safe: their ids are the same."""


class UsageExporter(Protocol):
    """Deliver one batch (at most :data:`MAX_BATCH` events) to a metering service.
    Returns when the target accepted the whole batch; raises :class:`ExportRefused` or
    :class:`ExportUnavailable`, nothing else. Retries inside ``send`` re-send the very
    same events (same ids), so a retry the target already applied is dropped there."""

    name: str

    def send(self, events: Sequence[Mapping[str, Any]]) -> None: ...


@dataclass(frozen=True, slots=True)
class Totals:
    """What one consumer x API x hour counted: requests, units (request cost), bytes."""

    requests: int = 0
    units: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    @classmethod
    def of_aggregate(cls, agg: Mapping[str, Any]) -> Totals:
        """From metering's aggregate (``requests``, ``cost``, ``bytes_in``, ``bytes_out``)."""
        return cls(int(agg.get("requests", 0)), int(agg.get("cost", 0)),
                   int(agg.get("bytes_in", 0)), int(agg.get("bytes_out", 0)))

    @classmethod
    def of_record(cls, data: Mapping[str, Any]) -> Totals:
        return cls(**{k: int(data.get(k, 0)) for k in ("requests", "units", "bytes_in",
                                                        "bytes_out")})

    def minus(self, other: Totals) -> Totals:
        return Totals(self.requests - other.requests, self.units - other.units,
                      self.bytes_in - other.bytes_in, self.bytes_out - other.bytes_out)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def empty(self) -> bool:
        return not any(self.as_dict().values())

    @property
    def shrunk(self) -> bool:
        """Some total went down: never happens to an aggregate; reported, never sent."""
        return any(v < 0 for v in self.as_dict().values())


def hour_start(label: str) -> int:
    return calendar.timegm(time.strptime(label, _HOUR))


def hour_label(ts: float) -> str:
    return time.strftime(_HOUR, time.gmtime(ts))


def next_hour(label: str) -> str:
    return hour_label(hour_start(label) + 3600)


def hours_after(label: str, n: int) -> str:
    return hour_label(hour_start(label) + n * 3600)


def last_closed_hour(now: float, settle: float = SETTLE_SECONDS) -> str:
    """The newest hour that ended at least ``settle`` seconds before ``now``."""
    return hour_label(now - settle - 3600)


def rfc3339(label: str) -> str:
    """``2026-01-05T13`` -> ``2026-01-05T13:00:00Z`` (the hour's start, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour_start(label)))


def event_id(source: str, consumer_id: str, api_id: str, hour: str, totals: Totals) -> str:
    """Deterministic: the same hour in the same state always gets the same id."""
    text = "\n".join([source, consumer_id, api_id, hour, str(totals.requests),
                      str(totals.units), str(totals.bytes_in), str(totals.bytes_out)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def usage_event(source: str, consumer_id: str, api_id: str, api_name: str, hour: str,
                current: Totals, exported: Totals | None = None) -> dict[str, Any] | None:
    """The event that brings the target from ``exported`` to ``current`` for this hour, or
    None when there is nothing to send (no growth, or totals went down)."""
    exported = exported or Totals()
    delta = current.minus(exported)
    if delta.empty or delta.shrunk:
        return None
    return {
        "specversion": SPECVERSION,
        "id": event_id(source, consumer_id, api_id, hour, current),
        "source": source,
        "type": EVENT_TYPE,
        "subject": consumer_id,
        "time": rfc3339(hour),
        "datacontenttype": "application/json",
        "data": {
            "api": api_name,
            "api_id": api_id,
            "hour": hour,
            **delta.as_dict(),
            # Not the first event of this hour: what a late batch added after an export.
            "correction": not exported.empty,
        },
    }


def batches(events: Iterable[Mapping[str, Any]],
            size: int = MAX_BATCH) -> Iterator[list[Mapping[str, Any]]]:
    """Consecutive runs of at most ``size`` events, in order."""
    batch: list[Mapping[str, Any]] = []
    for e in events:
        batch.append(e)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def check_source(source: str) -> str:
    """A CloudEvents ``source`` is a non-empty URI-reference; it must never change for a
    deployment (the target deduplicates by source + id)."""
    if not source or any(c.isspace() for c in source) or len(source) > 200:
        raise ValueError(f"export source {source!r}: a non-empty URI reference without "
                         "spaces, e.g. tollway/production")
    return source
