"""SQLite across processes (the local stack's gateway workers share one file): writers
queue on the ``<file>-writers`` flock, and ``hit`` still admits exactly the ceiling."""

import fcntl
import multiprocessing
import os

import pytest

from shared.adapters.sqlite import SqliteStore
from shared.core.clock import ManualClock
from shared.core.ratelimit import Guard, Slot
from shared.ports import Item, Put, StoreUnavailable

PROCESSES, HITS, CEILING = 4, 60, 97


def _hammer(path: str, start: float, ready, go, out) -> None:  # a spawned process
    clock = ManualClock(start)
    store = SqliteStore(path, clock)
    ready.release()
    go.wait()
    admitted = 0
    for _ in range(HITS):
        result = store.hit("shared", [Slot("m1", CEILING, start + 3600)], [Guard("g", 0)], 1)
        admitted += result.admitted
    store.close()
    out.put(admitted)


def test_processes_hitting_one_bucket_admit_exactly_the_ceiling(tmp_path):
    # GIVEN four processes with their own store on one file, released together
    path = str(tmp_path / "tollway.db")
    clock = ManualClock()
    SqliteStore(path, clock).close()
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(path, clock.now(), ready, go, out))
             for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=60)

    # WHEN each hits the same slot 60 times (240 hits for a ceiling of 97)
    go.set()
    admitted = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)

    # THEN exactly the ceiling was admitted, and the counter says so
    assert all(p.exitcode == 0 for p in procs)
    assert sum(admitted) == CEILING
    store = SqliteStore(path, clock)
    try:
        final = store.hit("shared", [Slot("m1", CEILING, clock.now() + 3600)], [], 1)
        assert final.admitted is False
        assert final.counts["m1"] == CEILING
    finally:
        store.close()


def test_writers_flock_held_past_busy_timeout_raises_store_unavailable(tmp_path):
    # GIVEN another writer (another process's store) holding the writers' flock
    path = str(tmp_path / "tollway.db")
    clock = ManualClock()
    store = SqliteStore(path, clock, busy_timeout=0.05)
    other = os.open(f"{path}-writers", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX)

        # WHEN the store needs to write, THEN it reports the store unavailable
        with pytest.raises(StoreUnavailable):
            store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 1)
        with pytest.raises(StoreUnavailable):
            store.transact([Put(Item("p", "s", {}))])
        assert store.get("p", "s") is None  # reads do not queue

        # AND once it is released, the store writes again
        fcntl.flock(other, fcntl.LOCK_UN)
        assert store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 1).counts["m1"] == 1
    finally:
        os.close(other)
        store.close()


def test_writers_file_has_the_database_files_mode(tmp_path):
    path = str(tmp_path / "tollway.db")
    SqliteStore(path).close()
    assert os.stat(f"{path}-writers").st_mode & 0o777 == 0o600


def test_a_hit_on_the_gateway_loop_waits_for_the_flock_without_holding_up_the_loop(tmp_path):
    # GIVEN another process's writer holding the flock, and the local gateway's loop running
    # a hit in a bridged greenlet (as gateway_asgi runs Gateway.handle)
    import asyncio

    from functions.local.stack import new_event_loop
    from shared.adapters.loop_upstream import run_bridged

    path = str(tmp_path / "tollway.db")
    clock = ManualClock()
    store = SqliteStore(path, clock)
    other = os.open(f"{path}-writers", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_EX)
    served: list[int] = []

    async def another_request() -> None:  # releases the flock only if the loop runs it
        for i in range(20):
            served.append(i)
            await asyncio.sleep(0)
        fcntl.flock(other, fcntl.LOCK_UN)

    async def main():
        slot = Slot("m1", 5, clock.now() + 60)
        hit = asyncio.ensure_future(run_bridged(store.hit, "b", [slot], [], 1))
        await asyncio.gather(hit, another_request())
        return hit.result()

    # WHEN the hit waits for the flock
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            result = runner.run(main())
    finally:
        os.close(other)
        store.close()

    # THEN the loop served the other request meanwhile (it released the flock), and the
    # hit was admitted once the flock was free
    assert served == list(range(20))
    assert result.admitted and result.counts["m1"] == 1
