"""Usage: one event per request, aggregated per consumer x API x hour, idempotent by id.

The gateway only *emits* (to a sink that never writes synchronously); ``record`` is what
the aggregating side (a background thread locally, the metering function in the cloud)
calls for each event.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from shared.core.models import UsageEvent, to_dict
from shared.ports import ConditionFailed, Increment, Item, Put, Store, StoreError

log = logging.getLogger("tollway.metering")

DEDUP_SECONDS = 7 * 86_400


def usage_pk(consumer_id: str) -> str:
    return f"USAGE#{consumer_id}"


def hour_of(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H", time.gmtime(ts))


def record(store: Store, event: UsageEvent) -> bool:
    """Add ``event`` to its hourly aggregate. False if this request id was seen before."""
    hour = hour_of(event.timestamp)
    status_class = f"s{event.status // 100}xx"
    dedup = Put(
        Item(
            f"REQ#{event.request_id}",
            "REQ",
            {"t": event.timestamp},
            expires_at=event.timestamp + DEDUP_SECONDS,
        ),
        if_absent=True,
    )
    agg = Increment(
        usage_pk(event.consumer_id),
        f"{hour}#{event.api_id}",
        {
            "requests": 1,
            status_class: 1,
            "cost": event.cost,
            "bytes_in": event.bytes_in,
            "bytes_out": event.bytes_out,
            "latency_ms": round(event.latency_ms, 3),
        },
        fields={"consumer_id": event.consumer_id, "api_id": event.api_id, "hour": hour},
    )
    try:
        store.transact([dedup, agg])
    except ConditionFailed:
        return False
    return True


def read_usage(
    store: Store, consumer_id: str, since_hour: str = "", limit: int = 1000
) -> list[dict[str, Any]]:
    """Hourly aggregates of one consumer, oldest first, from ``since_hour`` (``YYYY-MM-DDTHH``)."""
    items = store.query(usage_pk(consumer_id), limit=limit, after=since_hour or None)
    return [dict(i.data) for i in items]


class BufferedSink:
    """Queue events and aggregate them on a background thread: zero synchronous writes on
    the request path. ``flush()`` waits until everything queued so far is recorded."""

    def __init__(self, store: Store, maxsize: int = 100_000) -> None:
        self._store = store
        self._q: queue.Queue[UsageEvent | None] = queue.Queue(maxsize)
        self._thread = threading.Thread(target=self._run, name="tollway-metering", daemon=True)
        self._thread.start()
        self.dropped = 0

    def emit(self, event: UsageEvent) -> None:
        try:
            self._q.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            event = self._q.get()
            try:
                if event is None:
                    return
                record(self._store, event)
            except StoreError:
                log.warning("usage event lost: %s", to_dict(event)["request_id"])
            finally:
                self._q.task_done()

    def flush(self) -> None:
        self._q.join()

    def close(self) -> None:
        self._q.put(None)
        self._thread.join(timeout=5)


class ListSink:
    """Collects events in memory (tests, benchmarks)."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def emit(self, event: UsageEvent) -> None:
        self.events.append(event)
