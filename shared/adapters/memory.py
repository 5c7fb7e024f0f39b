"""In-process store: a dict and a lock. For tests and benchmarks; nothing survives exit."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from shared.core.clock import Clock, SystemClock
from shared.core.ratelimit import Guard, HitResult, Slot
from shared.ports import (
    ConditionFailed,
    Delete,
    Increment,
    Item,
    Put,
    Write,
    check_batch,
    check_limit,
)


class MemoryStore:
    capabilities = frozenset({"ttl"})

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._items: dict[tuple[str, str], Item] = {}
        self._counters: dict[str, dict[str, tuple[int, float]]] = {}
        self._lock = threading.Lock()
        self.round_trips = 0  # for tests that count backend calls

    def _live(self, key: tuple[str, str], now: float) -> Item | None:
        item = self._items.get(key)
        if item is None or (item.expires_at is not None and item.expires_at <= now):
            return None
        return item

    @staticmethod
    def _copy(item: Item | None) -> Item | None:
        # Callers get their own copy, as from a real backend: mutating it changes nothing here.
        if item is None:
            return None
        return Item(item.pk, item.sk, copy.deepcopy(dict(item.data)), item.version, item.expires_at)

    def get(self, pk: str, sk: str) -> Item | None:
        with self._lock:
            self.round_trips += 1
            return self._copy(self._live((pk, sk), self._clock.now()))

    def query(
        self,
        pk: str,
        prefix: str = "",
        *,
        limit: int = 100,
        after: str | None = None,
        descending: bool = False,
    ) -> list[Item]:
        check_limit(limit)
        with self._lock:
            self.round_trips += 1
            now = self._clock.now()
            keys = sorted(
                (k for k in self._items if k[0] == pk and k[1].startswith(prefix)),
                reverse=descending,
            )
            out: list[Item] = []
            for k in keys:
                if after is not None and (k[1] <= after if not descending else k[1] >= after):
                    continue
                item = self._copy(self._live(k, now))
                if item is not None:
                    out.append(item)
                    if len(out) >= limit:
                        break
            return out

    def transact(self, writes: Sequence[Write]) -> None:
        check_batch(writes)
        with self._lock:
            self.round_trips += 1
            now = self._clock.now()
            staged: dict[tuple[str, str], Item | None] = {}
            for i, w in enumerate(writes):
                if isinstance(w, Put):
                    key = (w.item.pk, w.item.sk)
                    cur = self._live(key, now)
                    if w.if_absent and cur is not None:
                        raise ConditionFailed(i)
                    if w.if_version is not None and (cur is None or cur.version != w.if_version):
                        raise ConditionFailed(i)
                    version = (cur.version if cur else 0) + 1
                    staged[key] = Item(
                        w.item.pk,
                        w.item.sk,
                        copy.deepcopy(dict(w.item.data)),
                        version,
                        w.item.expires_at,
                    )
                elif isinstance(w, Delete):
                    key = (w.pk, w.sk)
                    cur = self._live(key, now)
                    if w.must_exist and cur is None:
                        raise ConditionFailed(i)
                    if w.if_version is not None and (cur is None or cur.version != w.if_version):
                        raise ConditionFailed(i)
                    staged[key] = None
                elif isinstance(w, Increment):
                    key = (w.pk, w.sk)
                    cur = self._live(key, now)
                    data: dict[str, Any] = dict(cur.data) if cur else {}
                    for f, d in w.deltas.items():
                        data[f] = data.get(f, 0) + d
                    data.update(copy.deepcopy(dict(w.fields)))
                    expires = (
                        w.expires_at
                        if w.expires_at is not None
                        else (cur.expires_at if cur else None)
                    )
                    staged[key] = Item(w.pk, w.sk, data, (cur.version if cur else 0) + 1, expires)
            for key, item in staged.items():
                if item is None:
                    self._items.pop(key, None)
                else:
                    self._items[key] = item

    def hit(
        self, bucket: str, slots: Sequence[Slot], guards: Sequence[Guard], cost: int
    ) -> HitResult:
        # ``admit``'s rule, written out: this runs on every request of the memory store.
        # (acquire/release rather than ``with``, and the result made by ``tuple.__new__``
        # rather than the named tuple's Python ``__new__``: each is half the work.)
        lock = self._lock
        lock.acquire()
        try:
            self.round_trips += 1
            now = self._clock.now()
            stored = self._counters.get(bucket)
            if stored is None:
                stored = self._counters[bucket] = {}
            elif len(stored) > len(slots) + len(guards):  # windows gone by: forget them
                named = {s.name for s in slots} | {g.name for g in guards}
                for gone in [name for name in stored if name not in named]:
                    del stored[gone]
            # The usual case in one pass: every slot has room and no name is repeated.
            get = stored.get
            live: dict[str, int] = {}  # what each slot's counter becomes
            for s in slots:
                e = get(s.name)
                n = e[0] + cost if e is not None and e[1] > now else cost
                if n > s.ceiling:
                    break
                live[s.name] = n
            else:
                if len(live) == len(slots):
                    for g in guards:
                        e = get(g.name)
                        if e is not None and e[1] > now:
                            if e[0] > g.at_most or g.name in live:
                                break
                            live[g.name] = e[0]
                        elif g.at_most < 0:
                            break
                    else:
                        for s in slots:
                            stored[s.name] = (live[s.name], s.expires_at)
                        return tuple.__new__(HitResult, (True, live))
            return self._hit(stored, slots, guards, cost, now)
        finally:
            lock.release()

    @staticmethod
    def _hit(
        stored: dict[str, tuple[int, float]], slots: Sequence[Slot], guards: Sequence[Guard],
        cost: int, now: float,
    ) -> HitResult:
        """``hit``'s rule in general (a refusal, a name twice): the caller holds the lock."""
        live: dict[str, int] = {}  # named counters still alive
        ok = True
        for s in slots:
            e = stored.get(s.name)
            if e is not None and e[1] > now:
                live[s.name] = e[0]
                if e[0] + cost > s.ceiling:
                    ok = False
            elif cost > s.ceiling:
                ok = False
        for g in guards:
            e = stored.get(g.name)
            if e is not None and e[1] > now:
                live[g.name] = e[0]
                if e[0] > g.at_most:
                    ok = False
            elif g.at_most < 0:
                ok = False
        if not ok:
            return tuple.__new__(HitResult, (False, live))
        for s in slots:
            n = live.get(s.name, 0) + cost
            live[s.name] = n
            stored[s.name] = (n, s.expires_at)
        return tuple.__new__(HitResult, (True, live))

    def close(self) -> None:
        pass
