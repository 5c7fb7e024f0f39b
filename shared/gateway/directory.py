"""The gateway's read view of management's records, cached with one TTL.

In steady state none of these lookups touches the store; the only per-request round trip
is the rate-limit ``hit``.
"""

from __future__ import annotations

from shared.core.clock import Clock
from shared.core.models import Consumer, KeyRecord, Plan, Subscription
from shared.core.routing import RouteTable
from shared.gateway.cache import TTLCache
from shared.management import records
from shared.ports import Store


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
