"""The gateway's read view of management's records, cached with one TTL.

In steady state none of these lookups touches the store; the only per-request round trip
is the rate-limit ``hit``. A cold instance's first decision needs five records (key,
consumer, subscriptions, plans, routes): :meth:`Directory.prefetch` reads them in two
concurrent rounds instead of five sequential ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from shared.core.clock import Clock
from shared.core.models import Consumer, KeyRecord, Plan, Subscription
from shared.core.routing import RouteTable
from shared.gateway.cache import TTLCache
from shared.management import records
from shared.ports import Store

log = logging.getLogger("tollway.gateway")


class Directory:
    def __init__(self, store: Store, clock: Clock, ttl: float = 5.0) -> None:
        self.store, self.ttl = store, ttl
        self._keys: TTLCache[str, KeyRecord | None] = TTLCache(clock, ttl)
        self._consumers: TTLCache[str, Consumer | None] = TTLCache(clock, ttl)
        self._subs: TTLCache[str, tuple[Subscription, ...]] = TTLCache(clock, ttl)
        self._plans: TTLCache[str, Plan | None] = TTLCache(clock, ttl)
        self._routes: TTLCache[str, RouteTable] = TTLCache(clock, ttl, maxsize=1)

    # ``until``: see TTLCache.get (the deadline of what is returned is appended to it).

    def key(self, key_hash: str, until: list[float] | None = None) -> KeyRecord | None:
        return self._keys.get(key_hash, lambda: records.key_by_hash(self.store, key_hash), until)

    def consumer(self, consumer_id: str, until: list[float] | None = None) -> Consumer | None:
        return self._consumers.get(
            consumer_id, lambda: records.get_consumer(self.store, consumer_id), until
        )

    def subscriptions(
        self, consumer_id: str, until: list[float] | None = None
    ) -> tuple[Subscription, ...]:
        return self._subs.get(
            consumer_id, lambda: tuple(records.list_subscriptions(self.store, consumer_id)), until
        )

    def plan(self, plan_id: str, until: list[float] | None = None) -> Plan | None:
        return self._plans.get(plan_id, lambda: records.get_plan(self.store, plan_id), until)

    def routes(self, until: list[float] | None = None) -> RouteTable:
        return self._routes.get("", lambda: RouteTable(records.list_apis(self.store)), until)

    def _plans_all(self) -> None:
        """Every plan in one query (there are few) instead of one read per plan."""
        if self._plans.has(""):  # a marker: the list was read within the TTL
            return
        plans = records.list_plans(self.store)
        for plan in plans:
            self._plans.get(plan.id, _const(plan))
        self._plans.get("", lambda: None)

    def prefetch(self, key_hash: str) -> None:
        """Best effort, for a decision about to miss the caches: round one reads the key,
        the routes and every plan at once; round two the key's consumer and its
        subscriptions at once. The same reads the decision makes one after the other, with
        about two round trips of waiting instead of five. What is already cached is not
        read again; a read that fails is left to the decision itself, which then raises
        it as usual (``StoreUnavailable``)."""
        first: list[Callable[[], object]] = []
        if not self._routes.has(""):
            first.append(self.routes)
        if not self._plans.has(""):
            first.append(self._plans_all)
        record = _together(first, lambda: self.key(key_hash))
        if not isinstance(record, KeyRecord):
            return
        cid = record.consumer_id
        if self._consumers.has(cid) and self._subs.has(cid):
            return
        _together([lambda: self.subscriptions(cid)], lambda: self.consumer(cid))


def _const(value: Plan) -> Callable[[], Plan | None]:
    return lambda: value


def _together(others: list[Callable[[], object]], main: Callable[[], object]) -> object:
    """``main()`` on this thread while ``others`` run on their own; their errors are
    logged and dropped (prefetching is an optimisation only). Returns ``main()``'s value,
    or None if it failed."""
    threads = [threading.Thread(target=_quietly, args=(f,), daemon=True) for f in others]
    for t in threads:
        t.start()
    try:
        return _quietly(main)
    finally:
        for t in threads:
            t.join()


def _quietly(fn: Callable[[], object]) -> object:
    try:
        return fn()
    except Exception as exc:  # the decision reads it again and reports it
        log.debug("prefetch read failed: %s", exc)
        return None
