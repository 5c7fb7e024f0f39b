"""Contract backend: the embedded SQLite store, on a file in the test's tmp_path."""

from collections.abc import Iterator
from contextlib import contextmanager

from shared.adapters.sqlite import SqliteStore
from shared.core.clock import Clock

NAME = "sqlite"
CONCURRENT = True  # safe to hammer from many threads


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[SqliteStore]:
    store = SqliteStore(str(tmp_path / "tollway.db"), clock)
    try:
        yield store
    finally:
        store.close()
