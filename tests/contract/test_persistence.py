"""SQLite only: the local store survives a restart, runs in WAL mode, and reports a locked
or closed database as ``StoreUnavailable``. Not parametrized over backends."""

import sqlite3

import pytest

from shared.adapters.sqlite import SqliteStore
from shared.core.clock import ManualClock
from shared.core.ratelimit import Slot
from shared.ports import Increment, Item, Put, StoreUnavailable


def test_sqlite_store_keeps_items_and_counters_across_close_and_reopen(tmp_path):
    # GIVEN a store with items and counters, closed as at shutdown
    path = str(tmp_path / "tollway.db")
    clock = ManualClock()
    slot = Slot("m1", 5, clock.now() + 3600)
    first = SqliteStore(path, clock)
    try:
        first.transact([Put(Item("plan", "gold", {"rps": 10}))])
        first.transact([Increment("use", "d1", {"n": 3})])
        first.transact([Put(Item("plan", "gold", {"rps": 20}), if_version=1)])
        first.transact([Put(Item("tmp", "x", {}, expires_at=clock.now() + 10))])
        for _ in range(3):
            assert first.hit("consumer", [slot], [], 1).admitted
    finally:
        first.close()

    # WHEN a new store opens the same file
    clock.advance(10)
    second = SqliteStore(path, clock)
    try:
        # THEN items, versions and counters are as they were; expired items stay invisible
        gold = second.get("plan", "gold")
        assert (dict(gold.data), gold.version) == ({"rps": 20}, 2)
        assert second.get("use", "d1").data == {"n": 3}
        assert second.get("tmp", "x") is None
        results = [second.hit("consumer", [slot], [], 1) for _ in range(3)]
        assert [r.admitted for r in results] == [True, True, False]
        assert results[-1].counts["m1"] == 5
    finally:
        second.close()


def test_sqlite_store_uses_wal_journal(tmp_path):
    path = str(tmp_path / "tollway.db")
    SqliteStore(path).close()

    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_sqlite_locked_past_busy_timeout_raises_store_unavailable(tmp_path):
    # GIVEN another process-like connection holding the write lock
    path = str(tmp_path / "tollway.db")
    clock = ManualClock()
    store = SqliteStore(path, clock, busy_timeout=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")

        # WHEN the store needs to write, THEN it reports the store unavailable
        with pytest.raises(StoreUnavailable):
            store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 1)
        with pytest.raises(StoreUnavailable):
            store.transact([Put(Item("p", "s", {}))])
        assert store.get("p", "s") is None  # WAL: reads still work

        # AND once the lock is released, nothing was half-written
        blocker.execute("ROLLBACK")
        assert store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 1).counts["m1"] == 1
    finally:
        blocker.close()
        store.close()


def test_closed_sqlite_store_raises_store_unavailable(tmp_path):
    store = SqliteStore(str(tmp_path / "tollway.db"))
    store.close()

    with pytest.raises(StoreUnavailable):
        store.get("p", "s")
