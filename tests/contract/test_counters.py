"""Rate-limit counters: the ``hit`` primitive — for every backend.

Counters not named in a bucket's latest hit may be discarded by a store, so these tests
only rely on counters the previous hit named.
"""

import pytest

from shared.core.models import Algorithm
from shared.core.ratelimit import Guard, Limit, Slot, Unit, decide, learn, plan_counters


@pytest.fixture
def later(clock):
    """An expiry comfortably in the future of the test clock."""
    return clock.now() + 3600


def count(result, name):
    return result.counts.get(name, 0)  # absent counters count 0 and may be omitted


def test_first_hit_is_admitted_and_counts_cost(store, later):
    result = store.hit("b", [Slot("m1", 10, later)], [], 1)

    assert result.admitted is True
    assert count(result, "m1") == 1


def test_admitted_hit_increments_every_slot(store, later):
    slots = [Slot("s1", 5, later), Slot("m1", 50, later), Slot("d1", 500, later)]

    store.hit("b", slots, [], 1)
    result = store.hit("b", slots, [], 1)

    assert result.admitted is True
    assert {n: count(result, n) for n in ("s1", "m1", "d1")} == {"s1": 2, "m1": 2, "d1": 2}


def test_hits_are_admitted_up_to_the_ceiling_and_denied_after(store, later):
    slot = Slot("m1", 3, later)

    results = [store.hit("b", [slot], [], 1) for _ in range(5)]

    assert [r.admitted for r in results] == [True, True, True, False, False]
    assert [count(r, "m1") for r in results] == [1, 2, 3, 3, 3]


def test_denied_hit_changes_nothing_and_reports_current_counts(store, later):
    # GIVEN a slot at its ceiling
    slots = [Slot("m1", 2, later), Slot("d1", 100, later)]
    store.hit("b", slots, [], 1)
    store.hit("b", slots, [], 1)

    # WHEN more hits arrive
    denied = [store.hit("b", slots, [], 1) for _ in range(3)]

    # THEN each is denied with the counts as found, and the other slot did not move
    for result in denied:
        assert result.admitted is False
        assert (count(result, "m1"), count(result, "d1")) == (2, 2)


def test_one_full_slot_denies_the_hit_for_all_slots(store, later):
    # GIVEN a per-second slot that is full and a per-day slot with room
    store.hit("b", [Slot("s1", 1, later), Slot("d1", 100, later)], [], 1)

    # WHEN the next hit names both
    result = store.hit("b", [Slot("s1", 1, later), Slot("d1", 100, later)], [], 1)

    # THEN it is denied and the roomy slot is not incremented either
    assert result.admitted is False
    assert (count(result, "s1"), count(result, "d1")) == (1, 1)
    again = store.hit("b", [Slot("s1", 5, later), Slot("d1", 100, later)], [], 0)
    assert (count(again, "s1"), count(again, "d1")) == (1, 1)


def test_cost_greater_than_one_is_added_whole(store, later):
    slot = Slot("m1", 10, later)

    first = store.hit("b", [slot], [], 4)
    second = store.hit("b", [slot], [], 6)  # lands exactly on the ceiling

    assert (first.admitted, count(first, "m1")) == (True, 4)
    assert (second.admitted, count(second, "m1")) == (True, 10)


def test_cost_that_would_overshoot_is_denied_even_below_the_ceiling(store, later):
    slot = Slot("m1", 10, later)
    store.hit("b", [slot], [], 8)

    denied = store.hit("b", [slot], [], 3)
    fits = store.hit("b", [slot], [], 2)

    assert (denied.admitted, count(denied, "m1")) == (False, 8)
    assert (fits.admitted, count(fits, "m1")) == (True, 10)


def test_zero_ceiling_denies_everything(store, later):
    result = store.hit("b", [Slot("m1", 0, later)], [], 1)
    assert result.admitted is False
    assert count(result, "m1") == 0


def test_ceiling_may_change_between_hits(store, later):
    # The sliding algorithm lowers a slot's ceiling as the previous window weighs less.
    store.hit("b", [Slot("m1", 10, later)], [], 3)

    assert store.hit("b", [Slot("m1", 3, later)], [], 1).admitted is False
    assert store.hit("b", [Slot("m1", 4, later)], [], 1).admitted is True


def test_guard_admits_when_counter_is_at_most_the_bound(store, later):
    store.hit("b", [Slot("m1", 10, later)], [], 3)

    result = store.hit("b", [Slot("m2", 10, later)], [Guard("m1", 3)], 1)

    assert result.admitted is True
    assert (count(result, "m1"), count(result, "m2")) == (3, 1)  # guards are not incremented


def test_guard_denies_when_counter_exceeds_the_bound(store, later):
    # GIVEN the previous window's counter is 3
    store.hit("b", [Slot("m1", 10, later)], [], 3)

    # WHEN a hit guards it with a stale assumption of 2
    result = store.hit("b", [Slot("m2", 10, later)], [Guard("m1", 2)], 1)

    # THEN it is denied, the slot is untouched and the real count is reported
    assert result.admitted is False
    assert (count(result, "m1"), count(result, "m2")) == (3, 0)


def test_guard_on_absent_counter_reads_zero(store, later):
    assert store.hit("b", [Slot("m2", 10, later)], [Guard("m1", 0)], 1).admitted is True


def test_guard_only_hit_reads_without_writing(store, later):
    store.hit("b", [Slot("m1", 10, later)], [], 2)

    result = store.hit("b", [], [Guard("m1", 5)], 1)

    assert result.admitted is True
    assert count(result, "m1") == 2


def test_buckets_are_independent(store, later):
    slot = Slot("m1", 2, later)
    store.hit("alice", [slot], [], 1)
    store.hit("alice", [slot], [], 1)

    bob = store.hit("bob", [slot], [], 1)
    alice = store.hit("alice", [slot], [], 1)

    assert (bob.admitted, count(bob, "m1")) == (True, 1)
    assert (alice.admitted, count(alice, "m1")) == (False, 2)


def test_hits_on_one_bucket_do_not_disturb_another(store, later):
    store.hit("alice", [Slot("m1", 10, later)], [], 4)

    for _ in range(3):
        store.hit("bob", [Slot("m7", 10, later)], [Guard("m6", 0)], 1)

    assert count(store.hit("alice", [Slot("m1", 10, later)], [], 1), "m1") == 5


def test_counter_expires_at_its_slot_expiry(store, clock):
    expires = clock.now() + 60
    store.hit("b", [Slot("m1", 2, expires)], [], 2)
    assert store.hit("b", [Slot("m1", 2, expires)], [], 1).admitted is False

    clock.advance(60)
    result = store.hit("b", [Slot("m1", 2, clock.now() + 60)], [], 1)

    assert result.admitted is True
    assert count(result, "m1") == 1


def test_expired_counter_reads_zero_in_a_guard(store, clock):
    store.hit("b", [Slot("m1", 10, clock.now() + 5)], [], 7)
    clock.advance(5)

    result = store.hit("b", [Slot("m2", 10, clock.now() + 60)], [Guard("m1", 0)], 1)

    assert result.admitted is True
    assert count(result, "m1") == 0


def test_moving_to_the_next_window_starts_a_fresh_counter(store, clock):
    # Counters not named by the latest hit may vanish; only the new one is asserted.
    store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 5)

    result = store.hit("b", [Slot("m2", 5, clock.now() + 120)], [], 1)

    assert result.admitted is True
    assert count(result, "m2") == 1


def test_fixed_window_plan_admits_exactly_the_tightest_limit(store, clock):
    # GIVEN a plan of 3/second and 5/minute, starting on a minute boundary
    limits = (
        Limit("per-second", Unit.SECOND, 3, False),
        Limit("per-minute", Unit.MINUTE, 5, False),
    )

    def attempt():
        cp = plan_counters(limits, Algorithm.FIXED, clock.now(), 1, {})
        return decide(cp, store.hit("consumer", cp.slots, cp.guards, cp.cost))

    # WHEN 4 requests arrive in the first second, then 4 in the next
    first = [attempt() for _ in range(4)]
    clock.advance(1)
    second = [attempt() for _ in range(4)]

    # THEN the per-second limit denies the 4th, then the per-minute limit cuts at 5 in total
    assert [d.admitted for d in first] == [True, True, True, False]
    assert first[-1].exceeded.name == "per-second"
    assert [d.admitted for d in second] == [True, True, False, False]
    assert second[-1].exceeded.name == "per-minute"
    assert second[-1].retry_after == 59


def test_sliding_window_stale_cache_costs_one_retry_not_a_wrong_answer(store, clock):
    # GIVEN 10 requests used in the previous minute
    limits = (Limit("per-minute", Unit.MINUTE, 10, False),)
    known: dict[str, int] = {}
    for _ in range(10):
        cp = plan_counters(limits, Algorithm.SLIDING, clock.now(), 1, known)
        assert decide(cp, store.hit("c", cp.slots, cp.guards, 1)).admitted

    # WHEN half of the next minute has passed and a process with an empty cache asks
    clock.advance(90)
    fresh: dict[str, int] = {}
    cp = plan_counters(limits, Algorithm.SLIDING, clock.now(), 1, fresh)
    result = store.hit("c", cp.slots, cp.guards, 1)

    # THEN its guard fails, it learns the previous count, and the retry sees 5 left
    assert decide(cp, result).stale_guard is True
    learn(cp, result, fresh)
    admitted = 0
    for _ in range(8):
        cp = plan_counters(limits, Algorithm.SLIDING, clock.now(), 1, fresh)
        admitted += decide(cp, store.hit("c", cp.slots, cp.guards, 1)).admitted
    assert admitted == 5
