"""A store wrapper that counts backend calls, split by the thread that made them: the
request thread's writes are what a caller waits for; a metering thread's are not."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

WRITES = frozenset({"transact", "hit"})


class CountingStore:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.capabilities = inner.capabilities
        self.calls: Counter[tuple[str, str]] = Counter()  # (thread kind, method)
        self._main = threading.get_ident()

    def _count(self, method: str) -> None:
        kind = "request" if threading.get_ident() == self._main else "background"
        self.calls[(kind, method)] += 1

    def request_thread(self, methods: frozenset[str] | None = None) -> int:
        return sum(
            n
            for (kind, m), n in self.calls.items()
            if kind == "request" and (methods is None or m in methods)
        )

    def background(self, methods: frozenset[str] | None = None) -> int:
        return sum(
            n
            for (kind, m), n in self.calls.items()
            if kind == "background" and (methods is None or m in methods)
        )

    def get(self, *a: Any, **kw: Any) -> Any:
        self._count("get")
        return self._inner.get(*a, **kw)

    def query(self, *a: Any, **kw: Any) -> Any:
        self._count("query")
        return self._inner.query(*a, **kw)

    def transact(self, *a: Any, **kw: Any) -> Any:
        self._count("transact")
        return self._inner.transact(*a, **kw)

    def hit(self, *a: Any, **kw: Any) -> Any:
        self._count("hit")
        return self._inner.hit(*a, **kw)

    def __getattr__(self, name: str) -> Any:  # get_many and whatever else the store has
        attr = getattr(self._inner, name)
        if callable(attr):

            def counted(*a: Any, **kw: Any) -> Any:
                self._count(name)
                return attr(*a, **kw)

            return counted
        return attr

    def close(self) -> None:
        self._inner.close()
