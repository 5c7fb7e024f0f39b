"""A small TTL cache. Its TTL is the bound on how long a revocation, suspension or plan
change takes to reach a warm gateway instance (``TOLLWAY_CACHE_TTL``, default 5 s)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.core.clock import Clock

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """LRU with a per-entry deadline. Misses (None) are cached too: a flood of unknown keys
    costs one store read per key per TTL, not one per request.

    A hit takes no lock (one dict read is atomic): entries are refreshed in LRU order when
    they are (re)loaded, so eviction is least-recently-*loaded* first. ``until``, when
    given, gets the deadline of the entry returned: whoever caches something derived from
    several entries keeps it no longer than the earliest of them (Gateway's warm path)."""

    def __init__(self, clock: Clock, ttl: float, maxsize: int = 10_000) -> None:
        self._clock, self._ttl, self._max = clock, ttl, maxsize
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, load: Callable[[], V], until: list[float] | None = None) -> V:
        now = self._clock.now()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            if until is not None:
                until.append(hit[0])
            return hit[1]
        value = load()  # outside the lock: a slow store must not serialise other keys
        deadline = now + self._ttl
        with self._lock:
            self._data[key] = (deadline, value)
            self._data.move_to_end(key)
            while len(self._data) > self._max:
                self._data.popitem(last=False)
        if until is not None:
            until.append(deadline)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
