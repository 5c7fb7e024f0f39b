"""Contract backend: the in-process dict store."""

from collections.abc import Iterator
from contextlib import contextmanager

from shared.adapters.memory import MemoryStore
from shared.core.clock import Clock

NAME = "memory"
CONCURRENT = True  # safe to hammer from many threads


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[MemoryStore]:
    yield MemoryStore(clock)
