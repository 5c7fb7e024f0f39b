"""Items: get/put, versions, conditions, deletes, increments and expiry — for every backend."""

import pytest

from shared.ports import ConditionFailed, Delete, Increment, Item, Put


def put(store, pk="p", sk="s", data=None, **kw):
    store.transact([Put(Item(pk, sk, data if data is not None else {"v": 1}), **kw)])


# --- get / put / versions ---------------------------------------------------------------


def test_get_of_missing_item_is_none(store):
    assert store.get("nope", "nothing") is None


def test_put_then_get_round_trips_data(store):
    data = {"s": "text", "i": 7, "f": 1.5, "b": True, "n": None, "l": [1, "2"], "d": {"k": [3]}}
    put(store, "p", "s", data)

    item = store.get("p", "s")

    assert item is not None
    assert (item.pk, item.sk) == ("p", "s")
    assert dict(item.data) == data
    assert item.expires_at is None


def test_first_write_has_version_1_and_each_write_adds_one(store):
    put(store, data={"n": 1})
    assert store.get("p", "s").version == 1

    put(store, data={"n": 2})
    put(store, data={"n": 3})

    item = store.get("p", "s")
    assert item.version == 3
    assert dict(item.data) == {"n": 3}


def test_version_given_by_caller_is_ignored(store):
    store.transact([Put(Item("p", "s", {"v": 1}, version=41))])
    assert store.get("p", "s").version == 1


def test_put_replaces_the_whole_item(store):
    put(store, data={"a": 1, "b": 2})
    put(store, data={"c": 3})
    assert dict(store.get("p", "s").data) == {"c": 3}


def test_items_are_keyed_by_partition_and_sort_key(store):
    put(store, "p1", "s", {"who": "p1"})
    put(store, "p2", "s", {"who": "p2"})
    put(store, "p1", "t", {"who": "p1t"})

    assert store.get("p1", "s").data["who"] == "p1"
    assert store.get("p2", "s").data["who"] == "p2"
    assert store.get("p1", "t").data["who"] == "p1t"
    assert store.get("p2", "t") is None


# --- if_absent / if_version --------------------------------------------------------------


def test_put_if_absent_succeeds_when_missing(store):
    put(store, if_absent=True)
    assert store.get("p", "s").version == 1


def test_put_if_absent_fails_when_present_and_keeps_the_old_item(store):
    put(store, data={"old": True})

    with pytest.raises(ConditionFailed) as failed:
        put(store, data={"new": True}, if_absent=True)

    assert failed.value.index == 0
    item = store.get("p", "s")
    assert dict(item.data) == {"old": True}
    assert item.version == 1


def test_put_if_absent_succeeds_over_an_expired_item(store, clock):
    # GIVEN an item that has expired
    store.transact([Put(Item("p", "s", {"old": True}, expires_at=clock.now() + 10))])
    clock.advance(10)

    # WHEN it is written again with if_absent
    put(store, data={"new": True}, if_absent=True)

    # THEN the write counts as a first write
    item = store.get("p", "s")
    assert dict(item.data) == {"new": True}
    assert item.version == 1


def test_put_if_version_succeeds_on_matching_version(store):
    put(store, data={"n": 1})
    put(store, data={"n": 2}, if_version=1)
    item = store.get("p", "s")
    assert (dict(item.data), item.version) == ({"n": 2}, 2)


@pytest.mark.parametrize("stale", [0, 2, 5])
def test_put_if_version_fails_on_other_version(store, stale):
    put(store, data={"n": 1})

    with pytest.raises(ConditionFailed):
        put(store, data={"n": 2}, if_version=stale)

    item = store.get("p", "s")
    assert (dict(item.data), item.version) == ({"n": 1}, 1)


def test_put_if_version_fails_when_item_is_missing(store):
    with pytest.raises(ConditionFailed):
        put(store, if_version=1)
    assert store.get("p", "s") is None


def test_put_if_version_fails_when_item_has_expired(store, clock):
    store.transact([Put(Item("p", "s", {"n": 1}, expires_at=clock.now() + 5))])
    clock.advance(5)

    with pytest.raises(ConditionFailed):
        put(store, data={"n": 2}, if_version=1)


# --- delete ------------------------------------------------------------------------------


def test_delete_removes_the_item(store):
    put(store)
    store.transact([Delete("p", "s")])
    assert store.get("p", "s") is None


def test_delete_of_missing_item_is_a_no_op(store):
    store.transact([Delete("p", "missing")])
    assert store.get("p", "missing") is None


def test_delete_must_exist_fails_on_missing_item(store):
    with pytest.raises(ConditionFailed) as failed:
        store.transact([Delete("p", "missing", must_exist=True)])
    assert failed.value.index == 0


def test_delete_must_exist_fails_on_expired_item(store, clock):
    store.transact([Put(Item("p", "s", {"n": 1}, expires_at=clock.now() + 1))])
    clock.advance(1)

    with pytest.raises(ConditionFailed):
        store.transact([Delete("p", "s", must_exist=True)])


def test_delete_must_exist_succeeds_on_live_item(store):
    put(store)
    store.transact([Delete("p", "s", must_exist=True)])
    assert store.get("p", "s") is None


def test_delete_if_version_succeeds_on_matching_version(store):
    put(store)
    put(store)
    store.transact([Delete("p", "s", if_version=2)])
    assert store.get("p", "s") is None


def test_delete_if_version_fails_on_other_version_and_keeps_item(store):
    put(store)

    with pytest.raises(ConditionFailed):
        store.transact([Delete("p", "s", if_version=2)])

    assert store.get("p", "s").version == 1


def test_delete_if_version_fails_on_missing_item(store):
    with pytest.raises(ConditionFailed):
        store.transact([Delete("p", "s", if_version=1)])


def test_put_after_delete_starts_again_at_version_1(store):
    put(store)
    put(store)
    store.transact([Delete("p", "s")])

    put(store)

    assert store.get("p", "s").version == 1


# --- increment ---------------------------------------------------------------------------


def test_increment_creates_a_missing_item_with_deltas_from_zero(store):
    store.transact([Increment("p", "s", {"hits": 3, "bytes": 100})])

    item = store.get("p", "s")

    assert dict(item.data) == {"hits": 3, "bytes": 100}
    assert item.version == 1


def test_increment_adds_deltas_and_keeps_other_fields(store):
    put(store, data={"hits": 2, "name": "x"})

    store.transact([Increment("p", "s", {"hits": 5, "errors": 1})])

    item = store.get("p", "s")
    assert dict(item.data) == {"hits": 7, "errors": 1, "name": "x"}
    assert item.version == 2


def test_increment_accepts_negative_and_float_deltas(store):
    store.transact([Increment("p", "s", {"n": 10, "ms": 1.5})])
    store.transact([Increment("p", "s", {"n": -4, "ms": 2.25})])

    data = store.get("p", "s").data
    assert data["n"] == 6
    assert data["ms"] == pytest.approx(3.75)


def test_increment_sets_fields_overwriting_existing_values(store):
    put(store, data={"hits": 1, "last": "a"})

    store.transact([Increment("p", "s", {"hits": 1}, fields={"last": "b", "api": "orders"})])

    assert dict(store.get("p", "s").data) == {"hits": 2, "last": "b", "api": "orders"}


def test_repeated_increments_accumulate_and_bump_version(store):
    for _ in range(5):
        store.transact([Increment("p", "s", {"n": 1})])

    item = store.get("p", "s")
    assert item.data["n"] == 5
    assert item.version == 5


def test_increment_sets_expiry_when_given(store, clock):
    store.transact([Increment("p", "s", {"n": 1}, expires_at=clock.now() + 30)])

    assert store.get("p", "s").expires_at == pytest.approx(clock.now() + 30)
    clock.advance(30)
    assert store.get("p", "s") is None


def test_increment_without_expiry_keeps_the_existing_expiry(store, clock):
    expires = clock.now() + 60
    store.transact([Increment("p", "s", {"n": 1}, expires_at=expires)])

    store.transact([Increment("p", "s", {"n": 1})])

    item = store.get("p", "s")
    assert item.data["n"] == 2
    assert item.expires_at == pytest.approx(expires)


def test_increment_of_an_expired_item_starts_from_zero(store, clock):
    # GIVEN a counter item that expired
    store.transact([Increment("p", "s", {"n": 9}, expires_at=clock.now() + 10)])
    clock.advance(11)

    # WHEN it is incremented again
    store.transact([Increment("p", "s", {"n": 1}, expires_at=clock.now() + 10)])

    # THEN the old value is gone
    item = store.get("p", "s")
    assert item.data["n"] == 1
    assert item.version == 1


# --- expiry ------------------------------------------------------------------------------


def test_item_is_visible_until_it_expires_and_invisible_from_then_on(store, clock):
    expires = clock.now() + 100
    store.transact([Put(Item("p", "s", {"n": 1}, expires_at=expires))])

    clock.advance(99.5)
    item = store.get("p", "s")
    assert item is not None
    assert item.expires_at == pytest.approx(expires)

    clock.advance(0.5)  # exactly at expires_at: gone
    assert store.get("p", "s") is None

    clock.advance(3600)
    assert store.get("p", "s") is None


def test_item_with_expiry_in_the_past_is_never_visible(store, clock):
    store.transact([Put(Item("p", "s", {"n": 1}, expires_at=clock.now() - 1))])
    assert store.get("p", "s") is None


def test_rewriting_without_expiry_makes_an_item_permanent(store, clock):
    store.transact([Put(Item("p", "s", {"n": 1}, expires_at=clock.now() + 5))])
    store.transact([Put(Item("p", "s", {"n": 2}))])

    clock.advance(10)

    assert store.get("p", "s").data["n"] == 2


def test_store_declares_capabilities(store):
    assert isinstance(store.capabilities, frozenset)
    assert all(isinstance(c, str) for c in store.capabilities)
