"""SQLite store: the embedded default for the local stack. Standard library only; on disk.

Why it is built this way:

* **WAL journal** — readers never block the writer and the writer never blocks readers, so
  ``get``/``query`` run concurrently with ``hit`` from other threads and processes.
  ``synchronous=NORMAL``: in WAL mode a commit does not wait for the disk (only a
  checkpoint syncs); an application crash loses nothing, a power cut may lose the last
  commits but never corrupts the file. Kept over ``OFF``, which risks corruption on a
  power cut: the same file holds key hashes, accounts and the audit log, not only
  rate-limit counters.
* **BEGIN IMMEDIATE** — every ``transact`` and ``hit`` is one transaction that takes the
  write lock *before* reading. A deferred transaction would read under a shared lock and
  fail to upgrade (SQLITE_BUSY, no retry) when two writers race; IMMEDIATE makes
  read-check-write atomic.
* **Writers queue without SQLite's busy handler** — in a process, writers queue on a
  ``threading.Lock`` and share one writer connection; across processes (the local stack's
  gateway workers) on an ``flock`` of ``<file>-writers``, taken before BEGIN IMMEDIATE.
  SQLite's busy handler sleeps 1, 2, 5, 10... ms whenever the lock is taken, and the
  local gateway decides on its event loop: a sleep there stalls every request of the
  process, while a ``hit`` holds the lock for tens of microseconds (issue 11). While
  another process holds the flock, a hit on the gateway's loop (a bridged greenlet)
  awaits, holding nothing, and the loop serves other requests; any other caller naps
  20 µs, doubling up to 200 µs. Both give up after ``busy_timeout``. The kernel drops the
  flock when its process dies. ``busy_timeout`` also applies inside BEGIN IMMEDIATE, for
  a writer that does not take the flock (the sqlite3 shell, another program).
* **A small connection pool for reads** — connections are not shared while in use; idle
  ones are reused by any thread (``check_same_thread=False``), so short-lived threads leak
  nothing.
* **``hit`` in two statements** — one primary-key read of the named counters and, when
  admitted, one multi-row upsert, between BEGIN IMMEDIATE and COMMIT. Expired counters
  read as absent and are overwritten; the periodic sweep removes them.

Backend errors (locked past the timeout, disk I/O, full disk) become ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from shared.core.clock import Clock, SystemClock
from shared.core.ratelimit import Guard, HitResult, Slot, admit
from shared.ports import (
    ConditionFailed,
    Delete,
    Item,
    Put,
    StoreUnavailable,
    Write,
    check_batch,
    check_limit,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL, sk TEXT NOT NULL, data TEXT NOT NULL,
    version INTEGER NOT NULL, expires_at REAL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS counters (
    bucket TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
"""
_COLUMNS = "SELECT pk, sk, data, version, expires_at FROM items"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_GET = f"{_COLUMNS} WHERE pk = ? AND sk = ? AND {_LIVE}"
_SWEEP_EVERY = 60.0  # seconds of clock time between sweeps of expired rows
_MAX_IDLE = 8  # idle connections kept in the pool
# Seconds between tries of a held writers' flock: a hit holds it for tens of µs, a metering
# batch for a few ms; a longer nap would leave the lock idle while this loop sleeps.
_FIRST_WAIT, _LONGEST_WAIT = 20e-6, 200e-6
_YIELDS = 8  # on the event loop: passes of the loop before waiting on a timer


def _nap(tries: int) -> None:
    """Wait before trying a held writers' flock again. In a greenlet bridged onto the local
    gateway's event loop (``loop_upstream.run_bridged``; looked up only if that module is
    loaded: the cloud packages do not ship it), await on the loop, which serves other
    requests meanwhile: a yield for the first tries, then 1 ms timers (the loop's timer
    resolution). Anywhere else, sleep this thread."""
    bridge = sys.modules.get("shared.adapters.loop_upstream")
    if bridge is not None and bridge.bridged():
        bridge.await_only(asyncio.sleep(0 if tries < _YIELDS else 1e-3))
    else:
        time.sleep(min(_FIRST_WAIT * 2**tries, _LONGEST_WAIT))


@functools.lru_cache(maxsize=16)
def _read_counters(n: int) -> str:
    marks = ",".join("?" * n)
    return (
        "SELECT name, value FROM counters "  # noqa: S608 -- only "?" marks
        f"WHERE bucket = ? AND name IN ({marks}) AND expires_at > ?"
    )


@functools.lru_cache(maxsize=16)
def _write_counters(n: int) -> str:
    rows = ",".join(["(?, ?, ?, ?)"] * n)
    return (
        "INSERT INTO counters (bucket, name, value, expires_at) "  # noqa: S608 -- only marks
        f"VALUES {rows} ON CONFLICT (bucket, name) "
        "DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
    )


def _prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no bound).
    SQLite compares TEXT as UTF-8 bytes, which orders like Python's code-point comparison."""
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if code <= 0x10FFFF:
            return "".join(chars) + chr(0xE000 if 0xD800 <= code <= 0xDFFF else code)
    return None


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


class SqliteStore:
    capabilities = frozenset({"ttl"})

    def __init__(self, path: str, clock: Clock | None = None, *, busy_timeout: float = 5.0) -> None:
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            raise ValueError("SqliteStore needs a file path; use MemoryStore for memory")
        self._path = path
        self._clock = clock or SystemClock()
        self._busy_timeout = busy_timeout
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.Lock()  # held with the writer connection and the flock
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        self._next_sweep = 0.0
        try:  # the same mode as the database file (0600 in the local stack's data directory)
            self._writers = os.open(f"{path}-writers", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                                    0o600)
        except OSError as exc:
            raise StoreUnavailable(f"sqlite: cannot open {path}-writers: {exc}") from exc
        try:
            self._acquire()
            try:
                with self._connection() as conn:
                    conn.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
                    conn.executescript(_SCHEMA)
            finally:
                self._unlock()
        except BaseException:
            self.close()
            raise

    # --- connections ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout,  # sets sqlite's busy_timeout
            isolation_level=None,  # autocommit; transactions are explicit BEGIN IMMEDIATE
            check_same_thread=False,  # pooled: used by one thread at a time, any thread
        )
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._pool_lock:
            if self._closed:
                raise StoreUnavailable("store is closed")
            conn = self._idle.pop() if self._idle else None
        healthy = True
        try:
            if conn is None:
                conn = self._open()
            yield conn
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.ProgrammingError | sqlite3.IntegrityError):
                raise  # a bug on our side, not an unavailable store
            healthy = False  # locked past busy_timeout, disk I/O, disk full, corrupt file
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        finally:
            if conn is not None:
                self._release(conn, healthy)

    def _release(self, conn: sqlite3.Connection, healthy: bool) -> None:
        try:
            if conn.in_transaction:
                conn.rollback()
        except sqlite3.Error:
            healthy = False
        with self._pool_lock:
            if healthy and not self._closed and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    def _acquire(self) -> None:
        """Take ``_write_lock`` (this process's writers) and the writers' flock (other
        processes'). While another process holds the flock, wait holding neither: on the
        gateway's event loop (a bridged greenlet) the loop serves other requests meanwhile;
        elsewhere the thread naps 20 µs, doubling up to 200 µs. Past ``busy_timeout``:
        ``StoreUnavailable``."""
        deadline = 0.0
        tries = 0
        while True:
            self._write_lock.acquire()
            try:
                if self._closed:
                    raise StoreUnavailable("store is closed")
                fcntl.flock(self._writers, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                self._write_lock.release()
            except BaseException:
                self._write_lock.release()
                raise
            now = time.monotonic()
            if not tries:
                deadline = now + self._busy_timeout
            elif now >= deadline:
                raise StoreUnavailable("sqlite: another process held the write lock "
                                       f"for over {self._busy_timeout:g} s")
            _nap(tries)
            tries += 1

    def _unlock(self) -> None:
        try:
            fcntl.flock(self._writers, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    def _begin(self) -> sqlite3.Connection:
        """Both writer locks, the writer connection and BEGIN IMMEDIATE."""
        self._acquire()
        conn = None
        try:
            conn = self._writer
            if conn is None:
                conn = self._writer = self._open()
            conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._abort(conn, exc)
            raise
        return conn

    def _commit(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("COMMIT")
        except BaseException as exc:
            self._abort(conn, exc)
            raise
        self._unlock()

    def _abort(self, conn: sqlite3.Connection | None, exc: BaseException) -> None:
        """After ``exc`` in a transaction: roll back and release the locks. A backend error
        (locked past busy_timeout, disk I/O, disk full, corrupt file) costs the writer
        connection and raises ``StoreUnavailable``; otherwise the caller re-raises ``exc``."""
        unavailable = isinstance(exc, sqlite3.DatabaseError) and not isinstance(
            exc, sqlite3.ProgrammingError | sqlite3.IntegrityError  # a bug on our side
        )
        try:
            try:
                if conn is not None and conn.in_transaction:
                    conn.rollback()
            except sqlite3.Error:
                self._drop_writer()
            if unavailable:
                self._drop_writer()
        finally:
            self._unlock()
        if unavailable:
            raise StoreUnavailable(f"sqlite: {exc}") from exc

    def _drop_writer(self) -> None:
        conn, self._writer = self._writer, None
        if conn is not None:
            conn.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction: committed on success, rolled back on any error."""
        conn = self._begin()
        try:
            yield conn
        except BaseException as exc:
            self._abort(conn, exc)
            raise
        self._commit(conn)

    def close(self) -> None:
        """Close idle connections now; connections in use close when released."""
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        with self._write_lock:  # after the transaction in progress, if any
            self._drop_writer()
            if self._writers >= 0:
                os.close(self._writers)
                self._writers = -1

    def _sweep(self, conn: sqlite3.Connection, now: float) -> None:
        """Physically remove expired rows, at most once per ``_SWEEP_EVERY`` of clock time."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY
        conn.execute("DELETE FROM items WHERE expires_at <= ?", (now,))
        conn.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))

    # --- items ---------------------------------------------------------------------------

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Item:
        pk, sk, data, version, expires_at = row
        return Item(pk, sk, json.loads(data), version, expires_at)

    def get(self, pk: str, sk: str) -> Item | None:
        with self._connection() as conn:
            row = conn.execute(_GET, (pk, sk, self._clock.now())).fetchone()
        return None if row is None else self._row(row)

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
        where = ["pk = ?", _LIVE, "sk >= ?"]
        params: list[Any] = [pk, self._clock.now(), prefix]
        end = _prefix_end(prefix)
        if end is not None:
            where.append("sk < ?")
            params.append(end)
        if after is not None:
            where.append("sk < ?" if descending else "sk > ?")
            params.append(after)
        order = "DESC" if descending else "ASC"
        sql = f"{_COLUMNS} WHERE {' AND '.join(where)} ORDER BY sk {order} LIMIT ?"
        with self._connection() as conn:
            rows = conn.execute(sql, (*params, limit)).fetchall()
        return [self._row(r) for r in rows]

    def transact(self, writes: Sequence[Write]) -> None:
        check_batch(writes)
        with self._transaction() as conn:
            now = self._clock.now()  # read under the write lock: no older than the lock holder's
            self._sweep(conn, now)
            for index, write in enumerate(writes):
                self._apply(conn, index, write, now)

    @staticmethod
    def _apply(conn: sqlite3.Connection, index: int, w: Write, now: float) -> None:
        pk, sk = (w.item.pk, w.item.sk) if isinstance(w, Put) else (w.pk, w.sk)
        cur = conn.execute(_GET, (pk, sk, now)).fetchone()
        version = cur[3] if cur else None
        if isinstance(w, Delete):
            if (w.must_exist and cur is None) or (
                w.if_version is not None and version != w.if_version
            ):
                raise ConditionFailed(index)
            conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (pk, sk))
            return
        if isinstance(w, Put):
            if (w.if_absent and cur is not None) or (
                w.if_version is not None and version != w.if_version
            ):
                raise ConditionFailed(index)
            data: dict[str, Any] = dict(w.item.data)
            expires_at = w.item.expires_at
        else:  # Increment: upsert, never conditional
            data = json.loads(cur[2]) if cur else {}
            for name, delta in w.deltas.items():
                data[name] = data.get(name, 0) + delta
            data.update(w.fields)
            expires_at = w.expires_at if w.expires_at is not None else (cur[4] if cur else None)
        conn.execute(
            "INSERT OR REPLACE INTO items (pk, sk, data, version, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (pk, sk, _dumps(data), (version or 0) + 1, expires_at),
        )

    # --- counters ------------------------------------------------------------------------

    def hit(
        self, bucket: str, slots: Sequence[Slot], guards: Sequence[Guard], cost: int
    ) -> HitResult:
        names = [s.name for s in slots]
        names += [g.name for g in guards]  # all distinct (the port's contract)
        conn = self._begin()  # not _transaction(): this is every request's path
        try:
            now = self._clock.now()  # read under the lock: no older than the last writer's
            if now >= self._next_sweep:
                self._sweep(conn, now)
            # The named counters still live (an expired one reads as absent): a primary-key
            # lookup each. What the hit does not name is left to the sweep.
            found = conn.execute(_read_counters(len(names)), (bucket, *names, now))
            result = admit(dict(found.fetchall()), slots, guards, cost)
            if result.admitted and slots:
                counts = result.counts
                conn.execute(
                    _write_counters(len(slots)),
                    [v for s in slots for v in (bucket, s.name, counts[s.name], s.expires_at)],
                )
        except BaseException as exc:
            self._abort(conn, exc)
            raise
        self._commit(conn)
        return result
