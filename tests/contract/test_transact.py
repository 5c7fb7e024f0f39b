"""Transactions: all or nothing, the failing index, batch validation — for every backend."""

import pytest

from shared.ports import (
    MAX_BATCH,
    ConditionFailed,
    CrossPartition,
    Delete,
    Increment,
    Item,
    Put,
    StoreError,
)


def snapshot(store, keys):
    out = {}
    for pk, sk in keys:
        item = store.get(pk, sk)
        out[(pk, sk)] = None if item is None else (dict(item.data), item.version)
    return out


def test_batch_of_mixed_writes_applies_together(store):
    store.transact([Put(Item("p", "gone", {"n": 0}))])

    store.transact(
        [
            Put(Item("p", "a", {"n": 1}), if_absent=True),
            Increment("p", "b", {"n": 2}),
            Delete("p", "gone", must_exist=True),
            Put(Item("p", "c", {"n": 3})),
        ]
    )

    assert snapshot(store, [("p", "a"), ("p", "b"), ("p", "gone"), ("p", "c")]) == {
        ("p", "a"): ({"n": 1}, 1),
        ("p", "b"): ({"n": 2}, 1),
        ("p", "gone"): None,
        ("p", "c"): ({"n": 3}, 1),
    }


@pytest.mark.parametrize("failing", [0, 1, 3, 4])
def test_failed_condition_on_write_k_applies_nothing(store, failing):
    # GIVEN existing items, one of which will fail its condition
    store.transact([Put(Item("p", f"k{i}", {"n": i})) for i in range(5)])
    keys = [("p", f"k{i}") for i in range(5)] + [("p", "new")]
    before = snapshot(store, keys)

    # WHEN a batch touches all of them and write `failing` has a stale version
    writes = [
        Put(Item("p", "k0", {"n": 100}), if_version=1),
        Increment("p", "k1", {"n": 100}),
        Delete("p", "k2", if_version=1),
        Put(Item("p", "k3", {"n": 100})),
        Increment("p", "k4", {"n": 100}, fields={"x": 1}),
        Put(Item("p", "new", {"n": 100}), if_absent=True),
    ]
    writes[failing] = Put(Item("p", f"k{failing}", {"n": -1}), if_version=7)

    with pytest.raises(ConditionFailed) as failed:
        store.transact(writes)

    # THEN the error names the failing write and nothing before or after it is applied
    assert failed.value.index == failing
    assert snapshot(store, keys) == before


def test_condition_failed_reports_first_failing_write(store):
    store.transact([Put(Item("p", "x", {}))])

    with pytest.raises(ConditionFailed) as failed:
        store.transact(
            [
                Put(Item("p", "ok", {})),
                Delete("p", "missing", must_exist=True),
                Put(Item("p", "x", {}), if_absent=True),
            ]
        )

    assert failed.value.index == 1
    assert store.get("p", "ok") is None


def test_condition_failed_is_a_store_error(store):
    with pytest.raises(StoreError):
        store.transact([Delete("p", "missing", must_exist=True)])


def test_store_is_usable_after_a_failed_transaction(store):
    with pytest.raises(ConditionFailed):
        store.transact([Put(Item("p", "a", {})), Delete("p", "b", must_exist=True)])

    store.transact([Put(Item("p", "a", {"ok": True}))])

    assert store.get("p", "a").data == {"ok": True}


def test_batch_of_max_size_is_accepted(store):
    store.transact([Put(Item("p", f"k{i:02d}", {"i": i})) for i in range(MAX_BATCH)])
    assert len(store.query("p")) == MAX_BATCH


def test_empty_batch_is_rejected(store):
    with pytest.raises(ValueError):
        store.transact([])


def test_batch_over_the_limit_is_rejected_and_writes_nothing(store):
    with pytest.raises(ValueError):
        store.transact([Put(Item("p", f"k{i:02d}", {})) for i in range(MAX_BATCH + 1)])
    assert store.query("p") == []


@pytest.mark.parametrize(
    "second",
    [
        Put(Item("p", "a", {"n": 2})),
        Delete("p", "a"),
        Increment("p", "a", {"n": 1}),
    ],
    ids=["put", "delete", "increment"],
)
def test_batch_touching_an_item_twice_is_rejected_and_writes_nothing(store, second):
    with pytest.raises(ValueError):
        store.transact([Put(Item("p", "a", {"n": 1})), Put(Item("p", "b", {})), second])
    assert store.get("p", "a") is None
    assert store.get("p", "b") is None


@pytest.mark.parametrize(
    "writes",
    [
        [Put(Item("p1", "a", {})), Put(Item("p2", "a", {}))],
        [Put(Item("p1", "a", {})), Increment("p2", "b", {"n": 1})],
        [Delete("p1", "a"), Put(Item("p2", "a", {}), if_absent=True)],
    ],
    ids=["put+put", "put+increment", "delete+put"],
)
def test_a_transaction_across_partitions_is_refused(store, writes):
    # Table Storage and Cosmos DB are atomic within one partition only: every backend
    # refuses more, so a service that still needs it fails here on the fastest backend.
    store.transact([Put(Item("p1", "a", {"before": True}))])
    with pytest.raises(CrossPartition):
        store.transact(writes)
    assert store.get("p1", "a").data == {"before": True}
    assert store.get("p2", "a") is None and store.get("p2", "b") is None
