"""A small TTL cache. Its TTL is the bound on how long a revocation, suspension or plan
change takes to reach a warm gateway instance (``TOLLWAY_CACHE_TTL``, default 5 s).

Also :class:`SharedCache`: response cache entries kept in the store, shared by every
gateway instance (the ``cache`` policy with ``shared: true``)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from shared.core.clock import Clock
from shared.ports import Item, Put, Store, StoreError

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

    def has(self, key: K) -> bool:
        """Whether ``key`` holds an entry that has not expired (a miss cached counts)."""
        hit = self._data.get(key)
        return hit is not None and hit[0] > self._clock.now()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


#: A shared entry at most this big (status, headers and the base64 body, as JSON): well
#: under Azure Table Storage's 64 KiB per property and DynamoDB's 400 KB per item.
SHARED_MAX_BYTES = 16 * 1024

Entry = tuple[float, int, tuple[tuple[str, str], ...], bytes]  # stored at, status, headers, body


class SharedCache:
    """Response cache entries in the deployment's store, for routes whose cache policy is
    ``shared``: every gateway instance (every Lambda, every Functions worker) reads what
    one of them stored. Read after the in-instance cache missed; written with the entry's
    expiry (``Item.expires_at``: the store never returns an expired item; DynamoDB's TTL
    removes it, Table Storage's timer purges it). Only small answers are shared
    (:data:`SHARED_MAX_BYTES`). One partition per entry, named by a digest of the cache
    key (the key holds the path and query, which Table Storage may not allow in keys).

    A store that fails is a miss (reads) or a skipped write: the cache never fails a
    request."""

    def __init__(self, store: Store, max_bytes: int = SHARED_MAX_BYTES) -> None:
        self.store, self.max_bytes = store, max_bytes

    @staticmethod
    def pk(key: str) -> str:
        return "RCACHE#" + hashlib.sha256(key.encode()).hexdigest()[:40]

    def get(self, key: str) -> tuple[float, Entry] | None:
        """(expires at, entry), or None."""
        try:
            item = self.store.get(self.pk(key), "E")
        except StoreError:
            return None
        if item is None or item.data.get("k") != hashlib.sha256(key.encode()).hexdigest():
            return None
        d = item.data
        try:
            headers = tuple((str(k), str(v)) for k, v in d["h"])
            entry = float(d["t"]), int(d["s"]), headers, base64.b64decode(d["b"])
            return float(item.expires_at if item.expires_at is not None else d["x"]), entry
        except (KeyError, TypeError, ValueError):
            return None  # not an entry this code wrote: a miss

    def put(self, key: str, expires: float, stored: float, status: int,
            headers: tuple[tuple[str, str], ...], body: bytes) -> bool:
        write = self.write(key, expires, stored, status, headers, body, self.max_bytes)
        if write is None:
            return False
        try:
            self.store.transact([write])
        except StoreError:
            return False
        return True

    @classmethod
    def write(cls, key: str, expires: float, stored: float, status: int,
              headers: tuple[tuple[str, str], ...], body: bytes,
              max_bytes: int = SHARED_MAX_BYTES) -> Put | None:
        """The store write of one entry (None: too big to share)."""
        data = {"k": hashlib.sha256(key.encode()).hexdigest(), "t": stored, "x": expires,
                "s": status, "h": [list(p) for p in headers],
                "b": base64.b64encode(body).decode()}
        if len(json.dumps(data)) > max_bytes:
            return None
        return Put(Item(cls.pk(key), "E", data, expires_at=expires))
