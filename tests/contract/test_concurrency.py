"""Many clients at once: ``hit`` must admit exactly the ceiling, never one more or one less.

Runs for backends whose module declares ``CONCURRENT = True``; the others declare that they
cannot be driven from many threads, and the skip says so.
"""

import threading
from collections.abc import Callable

import pytest

from shared.core.models import Algorithm
from shared.core.ratelimit import Limit, Slot, Unit, decide, plan_counters

CLIENTS = 64


@pytest.fixture
def concurrent(backend):
    if not getattr(backend, "CONCURRENT", False):
        pytest.skip(f"backend {backend.NAME} declares CONCURRENT = False")


def run_together(work: Callable[[int], list[bool]]) -> list[bool]:
    """Start CLIENTS threads at one barrier; return every decision they made."""
    barrier = threading.Barrier(CLIENTS)
    decisions: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            mine = work(i)
        except BaseException as exc:  # reported below, not lost in the thread
            with lock:
                errors.append(exc)
            return
        with lock:
            decisions.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "clients did not finish"
    assert errors == [], errors
    return decisions


@pytest.mark.usefixtures("concurrent")
def test_concurrent_single_hits_admit_exactly_the_ceiling(store, clock):
    # GIVEN one slot with ceiling 17
    slot = Slot("m1", 17, clock.now() + 3600)

    # WHEN 64 clients each hit once, all at the same moment
    decisions = run_together(lambda i: [store.hit("shared", [slot], [], 1).admitted])

    # THEN exactly 17 are admitted and the counter says 17
    assert len(decisions) == CLIENTS
    assert sum(decisions) == 17
    final = store.hit("shared", [slot], [], 1)
    assert final.admitted is False
    assert final.counts.get("m1", 0) == 17


@pytest.mark.usefixtures("concurrent")
def test_concurrent_clients_on_a_fixed_window_plan_admit_exactly_the_tightest_limit(store, clock):
    # GIVEN a plan of 1000/second, 37/minute and 500/day
    limits = (
        Limit("per-second", Unit.SECOND, 1000, False),
        Limit("per-minute", Unit.MINUTE, 37, False),
        Limit("per-day", Unit.DAY, 500, True),
    )

    def client(i: int) -> list[bool]:
        out = []
        for _ in range(5):
            cp = plan_counters(limits, Algorithm.FIXED, clock.now(), 1, {})
            decision = decide(cp, store.hit("consumer-1", cp.slots, cp.guards, cp.cost))
            if not decision.admitted:
                assert decision.exceeded is not None
                assert decision.exceeded.name == "per-minute"
            out.append(decision.admitted)
        return out

    # WHEN 64 clients make 5 requests each (320 in all)
    decisions = run_together(client)

    # THEN exactly 37 are admitted and every slot counted exactly 37
    assert len(decisions) == CLIENTS * 5
    assert sum(decisions) == 37
    cp = plan_counters(limits, Algorithm.FIXED, clock.now(), 1, {})
    final = store.hit("consumer-1", cp.slots, cp.guards, cp.cost)
    assert final.admitted is False
    assert sorted(final.counts.get(s.name, 0) for s in cp.slots) == [37, 37, 37]


@pytest.mark.usefixtures("concurrent")
def test_concurrent_clients_on_different_buckets_each_get_their_own_ceiling(store, clock):
    # GIVEN 4 consumers, each with a ceiling of 9, and 16 clients per consumer
    slot = Slot("m1", 9, clock.now() + 3600)
    buckets = [f"consumer-{n}" for n in range(4)]

    decisions: dict[str, list[bool]] = {b: [] for b in buckets}
    lock = threading.Lock()

    def client(i: int) -> list[bool]:
        bucket = buckets[i % len(buckets)]
        mine = [store.hit(bucket, [slot], [], 1).admitted for _ in range(2)]
        with lock:
            decisions[bucket].extend(mine)
        return mine

    # WHEN all 64 hit twice at once
    run_together(client)

    # THEN each consumer got exactly 9
    assert {b: sum(d) for b, d in decisions.items()} == dict.fromkeys(buckets, 9)
    for b in buckets:
        assert store.hit(b, [slot], [], 1).counts.get("m1", 0) == 9
