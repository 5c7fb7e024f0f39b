"""Changes that span partitions: ordered single-partition steps, rolled forward from a journal.

Stores are atomic within one partition only (``Store.transact``), yet most management
actions touch several: a key's lookup item and its listing, a subscription and its
indexes, and always the audit log. Each action is therefore a :class:`Change`:

* ``primary`` — the writes of ONE partition that carry every condition the action needs
  (uniqueness, versions, caps). Whether the action happened is decided here, atomically.
* ``then`` — follow-up writes to other partitions, in order. They are replay-safe: a
  creation is ``if_absent``, an update ``if_version`` the version the action read, a
  deletion names an item that only this action's entity owns. A follow-up whose condition
  fails has been superseded by a later change and is skipped.

The protocol (docs/storage.md has the invariants and why each order is safe):

1. ``JOURNAL / <created>#<change id>`` is written with the follow-ups.
2. The primary batch commits together with a marker ``~TXN#<change id>`` in the primary
   partition (``if_absent``). From here on the change happens; before it, nothing did.
3. Each follow-up partition is written in order (the audit entry among them).
4. The journal entry is deleted, then the marker.

A crash leaves a journal entry. :func:`repair` (scheduled; ``tollway repair`` locally)
takes entries older than :data:`REPAIR_AFTER`: if the marker exists it rolls the change
forward; if not, it writes an *aborted* marker first, so a primary still in flight can
never commit afterwards, and drops the entry. Every action also settles the interrupted
changes of its own primary partition before it starts (converge on the next write), so a
late replay can never undo a newer change of the same entity.

Sort keys starting with ``~`` are bookkeeping: listings skip them (``records``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core.clock import Clock
from shared.management.entities import new_id
from shared.ports import (
    ConditionFailed,
    Delete,
    Item,
    Put,
    Store,
    Write,
)

JOURNAL = "JOURNAL"
MARK = "~TXN#"
REPAIR_AFTER = 30.0  # seconds: longer than any live request takes to finish its steps
MARK_KEEP = 86_400.0  # an aborted marker outlives any request that could still race it


@dataclass(frozen=True, slots=True)
class Change:
    primary: Sequence[Write]
    then: Sequence[Write] = field(default_factory=tuple)


def _pk(w: Write) -> str:
    return w.item.pk if isinstance(w, Put) else w.pk


def _encode(w: Write) -> dict[str, Any]:
    if isinstance(w, Put):
        i = w.item
        return {"op": "put", "pk": i.pk, "sk": i.sk, "data": dict(i.data), "exp": i.expires_at,
                "absent": w.if_absent, "version": w.if_version}
    if isinstance(w, Delete):
        return {"op": "delete", "pk": w.pk, "sk": w.sk, "version": w.if_version}
    raise TypeError("follow-ups are Put or Delete: an Increment cannot be replayed safely")


def _decode(d: dict[str, Any]) -> Write:
    if d["op"] == "put":
        item = Item(d["pk"], d["sk"], d["data"], expires_at=d["exp"])
        return Put(item, if_absent=bool(d["absent"]), if_version=d["version"])
    return Delete(d["pk"], d["sk"], if_version=d["version"])


def _groups(writes: Sequence[Write]) -> list[list[Write]]:
    """Consecutive writes of one partition form one batch; order is kept."""
    out: list[list[Write]] = []
    for w in writes:
        if out and _pk(out[-1][0]) == _pk(w) and len(out[-1]) < 25:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _follow(store: Store, steps: Sequence[Write]) -> None:
    for batch in _groups(steps):
        try:
            store.transact(batch)
        except ConditionFailed as failed:
            # Superseded by a later change, or already applied by an earlier attempt: the
            # failing write is skipped, the rest of its batch still goes through.
            rest = [w for n, w in enumerate(batch) if n != failed.index]
            if rest:
                _follow(store, rest)


def _finish(store: Store, pk: str, change_id: str, journal_sk: str, steps: Sequence[Write]) -> None:
    _follow(store, steps)
    store.transact([Delete(JOURNAL, journal_sk)])
    store.transact([Delete(pk, MARK + change_id)])


def apply(store: Store, clock: Clock, change: Change) -> None:
    """Commit ``change``; :class:`ConditionFailed` (nothing happened) if the primary's
    conditions do not hold. Raises nothing else of its own."""
    if not change.primary:
        raise ValueError("a change needs a primary write")
    pk = _pk(change.primary[0])
    steps = [_encode(w) for w in change.then]  # refuses an Increment before anything is written
    settle(store, pk)
    change_id = new_id("chg")
    journal_sk = f"{clock.now():020.6f}#{change_id}"
    store.transact([Put(Item(JOURNAL, journal_sk, {"pk": pk, "steps": steps}))])
    marker = Put(Item(pk, MARK + change_id, {"journal": journal_sk, "state": "committed"}),
                 if_absent=True)
    try:
        store.transact([*change.primary, marker])
    except ConditionFailed:
        store.transact([Delete(JOURNAL, journal_sk)])
        raise
    _finish(store, pk, change_id, journal_sk, change.then)


def _resume(store: Store, journal: Item) -> None:
    pk = str(journal.data["pk"])
    change_id = journal.sk.split("#", 1)[1]
    steps = [_decode(d) for d in journal.data["steps"]]
    _finish(store, pk, change_id, journal.sk, steps)


def settle(store: Store, pk: str) -> int:
    """Roll forward the committed-but-unfinished changes whose primary is ``pk``."""
    done = 0
    for marker in store.query(pk, MARK, limit=100):
        if marker.data.get("state") != "committed":
            continue
        journal = store.get(JOURNAL, str(marker.data["journal"]))
        if journal is None:  # finished but for deleting the marker
            store.transact([Delete(pk, marker.sk)])
        else:
            _resume(store, journal)
        done += 1
    return done


def repair(store: Store, clock: Clock, older_than: float = REPAIR_AFTER) -> int:
    """Finish or abandon every change interrupted more than ``older_than`` seconds ago.
    Returns how many were handled. Safe to run concurrently with live traffic and with
    itself (every step is conditional or idempotent)."""
    handled = 0
    horizon = clock.now() - older_than
    after: str | None = None
    while True:
        batch = store.query(JOURNAL, limit=100, after=after)
        for journal in batch:
            if float(journal.sk.split("#", 1)[0]) > horizon:
                return handled
            _repair_one(store, clock, journal)
            handled += 1
        if len(batch) < 100:
            return handled
        after = batch[-1].sk


def _repair_one(store: Store, clock: Clock, journal: Item) -> None:
    pk = str(journal.data["pk"])
    change_id = journal.sk.split("#", 1)[1]
    abort = Item(pk, MARK + change_id, {"journal": journal.sk, "state": "aborted"},
                 expires_at=clock.now() + MARK_KEEP)
    try:
        store.transact([Put(abort, if_absent=True)])
    except ConditionFailed:
        marker = store.get(pk, MARK + change_id)
        if marker is not None and marker.data.get("state") == "committed":
            _resume(store, journal)
            return
    # The primary never committed, and now cannot: drop the journal entry.
    store.transact([Delete(JOURNAL, journal.sk)])


def pending(store: Store) -> int:
    """How many changes are unfinished right now (for health checks and tests)."""
    return len(store.query(JOURNAL, limit=1000))
