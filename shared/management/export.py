"""Usage export: metering's closed hours to a metering service (OpenMeter), every unit once.

The events are built by ``shared/core/usage_export.py`` (CloudEvents, one per consumer x
API x hour, deterministic ids); the exporter (``UsageExporter``) delivers batches of at
most 100. The state lives in ONE partition per target, ``EXPORT#<target>``:

* ``CURSOR`` — ``{"through": "YYYY-MM-DDTHH"}``: every hour up to this one was accepted.
* ``S#<consumer>#<hour>#<api>`` — the totals handed over for that hour so far. Kept 90
  days after the hour (far longer than metering accepts a late batch).
* ``Q#<hour>#<consumer>#<api>#<id>`` — the outbox: events decided, not yet accepted.

A run (:func:`run_export`):

1. **plan** — for each consumer, the aggregates of the hours after the cursor that are
   closed (ended ``settle`` seconds ago; at most ``max_hours`` of them), and of the
   exported hours metering may still add a late batch to (``recheck`` seconds back),
   are compared with their ``S#`` record; what grew becomes an event. The event (``Q#``)
   and the new ``S#`` commit together, conditional on the ``S#`` version read, so two
   runs at once never both hand over the same growth.
2. **drain** — the outbox, oldest hour first, 100 events a request; a batch leaves the
   outbox only after the target accepted it. A crash before that re-sends it on the next
   run: the same events with the same ids, which the target drops (source + id).
3. **cursor** — advanced to the last planned hour only when the outbox is empty, i.e.
   every event of those hours was accepted. A refused batch (400: a bad event; 401/403:
   a bad token) stops the run with the target's reason and leaves the cursor (and the
   outbox) as they were; it is resent by every run until the cause is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.core import usage_export as ue
from shared.core.clock import Clock
from shared.core.usage_export import ExportRefused, ExportUnavailable, Totals, UsageExporter
from shared.management import records
from shared.management.billing import hourly_usage
from shared.metering.aggregate import ACCEPT_SECONDS, read_usage
from shared.ports import ConditionFailed, Delete, Item, Put, Store

CURSOR = "CURSOR"
#: Exported totals are kept this long after their hour: metering accepts late batches for
#: ACCEPT_SECONDS (20 days); past that an hour never changes and its record is not needed.
KEEP_SECONDS = 90 * 86_400
#: Hours after the cursor exported per run: a first run (or one after an outage) catches
#: up a week at a time; ``more`` says when there is more to do.
MAX_HOURS = 7 * 24
#: How far back exported hours are compared with metering again (late batches).
RECHECK_SECONDS = ACCEPT_SECONDS + 3600
_PAIRS = 12  # (S#, Q#) pairs per transaction: 24 writes of the 25 allowed


def export_pk(target: str) -> str:
    return f"EXPORT#{target}"


@dataclass(slots=True)
class Exported:
    """What one run did. ``error``: why it stopped (the cursor did not move)."""

    target: str
    source: str
    cursor_before: str | None
    cursor: str | None
    scanned_from: str | None = None
    scanned_through: str | None = None
    planned: int = 0  # events decided this run
    corrections: int = 0  # of which: growth of an hour exported before (a late batch)
    sent: int = 0  # events the target accepted this run (resent ones included)
    batches: int = 0
    pending: int = 0  # events still in the outbox at the end
    raced: int = 0  # hours another run exported at the same time (left to it)
    shrunk: int = 0  # aggregates smaller than what was exported: reported, never sent
    more: bool = False  # closed hours after the cursor remain: run again
    error: str | None = None
    refused: bool = False  # the target refused (4xx); else unavailable when ``error``


def consumer_ids(store: Store) -> Iterator[str]:
    """Every consumer, however many (pages of the consumer listing)."""
    after: str | None = None
    while True:
        page = store.query(records.CONSUMER, limit=500, after=after)
        yield from (i.sk for i in page if not i.sk.startswith("~"))
        if len(page) < 500:
            return
        after = page[-1].sk


def read_cursor(store: Store, target: str) -> tuple[str | None, int | None]:
    item = store.get(export_pk(target), CURSOR)
    return (None, None) if item is None else (str(item.data["through"]), item.version)


def _earliest(store: Store, consumers: list[str]) -> str | None:
    firsts = [str(rows[0]["hour"]) for c in consumers if (rows := read_usage(store, c, limit=1))]
    return min(firsts, default=None)


def _exported(store: Store, pk: str, consumer: str, lo: str,
              hi: str) -> dict[tuple[str, str], Item]:
    """The ``S#`` records of one consumer's hours in ``[lo, hi]``, by (hour, api)."""
    out: dict[tuple[str, str], Item] = {}
    after = f"S#{consumer}#{lo}"  # every S#<consumer>#<lo>#<api> sorts after it
    while True:
        page = store.query(pk, f"S#{consumer}#", limit=500, after=after)
        for item in page:
            _, _, hour, api = item.sk.split("#", 3)
            if hour > hi:
                return out
            out[(hour, api)] = item
        if len(page) < 500:
            return out
        after = page[-1].sk


def _commit(store: Store, pairs: list[tuple[Put, Put, bool]], out: Exported) -> None:
    """Each pair (new S# record, outbox entry) commits whole or not at all; a pair whose
    S# changed since it was read belongs to another run (``raced``)."""
    for n in range(0, len(pairs), _PAIRS):
        chunk = pairs[n:n + _PAIRS]
        try:
            store.transact([w for s, q, _ in chunk for w in (s, q)])
            done = chunk
        except ConditionFailed:
            done = []
            for s, q, c in chunk:
                try:
                    store.transact([s, q])
                    done.append((s, q, c))
                except ConditionFailed:
                    out.raced += 1
        out.planned += len(done)
        out.corrections += sum(1 for _, _, c in done if c)


def _plan(store: Store, clock: Clock, target: str, source: str, consumer: str, lo: str,
          hi: str, names: dict[str, str], out: Exported) -> None:
    pk = export_pk(target)
    exported = _exported(store, pk, consumer, lo, hi)
    pairs: list[tuple[Put, Put, bool]] = []
    end = ue.hour_start(hi) + 3600
    for agg in hourly_usage(store, consumer, ue.hour_start(lo), end):
        hour, api = str(agg["hour"]), str(agg["api_id"])
        current = Totals.of_aggregate(agg)
        record = exported.get((hour, api))
        before = Totals() if record is None else Totals.of_record(record.data)
        if current.minus(before).shrunk:
            out.shrunk += 1
            continue
        event = ue.usage_event(source, consumer, api, names.get(api, api), hour, current,
                               before)
        if event is None:
            continue
        state = Item(pk, f"S#{consumer}#{hour}#{api}",
                     {**current.as_dict(), "at": clock.now()},
                     expires_at=ue.hour_start(hour) + KEEP_SECONDS)
        cond: dict[str, Any] = ({"if_absent": True} if record is None
                                else {"if_version": record.version})
        queued = Item(pk, f"Q#{hour}#{consumer}#{api}#{event['id']}", {"event": event})
        pairs.append((Put(state, **cond), Put(queued), record is not None))
    _commit(store, pairs, out)


def _drain(store: Store, target: str, exporter: UsageExporter, batch: int,
           out: Exported) -> None:
    """Send the outbox, oldest hour first; a batch leaves it once the target accepted it."""
    pk = export_pk(target)
    while page := store.query(pk, "Q#", limit=batch):
        exporter.send([dict(i.data["event"]) for i in page])
        out.sent += len(page)
        out.batches += 1
        for n in range(0, len(page), 25):
            store.transact([Delete(pk, i.sk) for i in page[n:n + 25]])


def _advance(store: Store, clock: Clock, target: str, through: str,
             version: int | None) -> str:
    cond: dict[str, Any] = {"if_absent": True} if version is None else {"if_version": version}
    item = Item(export_pk(target), CURSOR, {"through": through, "at": clock.now()})
    try:
        store.transact([Put(item, **cond)])
    except ConditionFailed:  # another run moved it meanwhile: keep the later of the two
        now_at, _ = read_cursor(store, target)
        return max(now_at or through, through)
    return through


def run_export(store: Store, clock: Clock, exporter: UsageExporter, *, source: str = "tollway",
               settle: float = ue.SETTLE_SECONDS, max_hours: int = MAX_HOURS,
               recheck: float = RECHECK_SECONDS, batch: int = ue.MAX_BATCH) -> Exported:
    """Export the closed hours after the cursor and the growth of recently exported ones.
    Safe to run at any time and concurrently with itself; never skips an hour, and the
    target (deduplicating by source + id) counts every unit once. A refusal or an
    unreachable target ends the run with ``error`` set; a store error propagates."""
    if not 1 <= batch <= ue.MAX_BATCH:
        raise ValueError(f"batch is 1..{ue.MAX_BATCH}")
    ue.check_source(source)
    target = exporter.name
    cursor, version = read_cursor(store, target)
    out = Exported(target, source, cursor, cursor)
    now = clock.now()
    last = ue.last_closed_hour(now, settle)
    consumers = list(consumer_ids(store))
    first_new = ue.next_hour(cursor) if cursor else _earliest(store, consumers)
    recheck_from = ue.hour_label(now - recheck)
    through: str | None = None  # the last new hour planned this run
    if first_new is not None and first_new <= last:
        through = min(last, ue.hours_after(first_new, max_hours - 1))
        out.more = through < last
        lo, hi = min(first_new, recheck_from), through
    else:
        lo, hi = recheck_from, min(last, cursor or last)
    if cursor is not None or through is not None:
        out.scanned_from, out.scanned_through = lo, hi
        names = {a.id: a.name for a in records.list_apis(store)}
        for consumer in consumers:
            _plan(store, clock, target, source, consumer, lo, hi, names, out)
    try:
        _drain(store, target, exporter, batch, out)
    except (ExportRefused, ExportUnavailable) as exc:
        out.error, out.refused = str(exc), isinstance(exc, ExportRefused)
        out.pending = len(store.query(export_pk(target), "Q#", limit=1000))
        return out
    if through is not None and (cursor is None or through > cursor):
        out.cursor = _advance(store, clock, target, through, version)
    return out
