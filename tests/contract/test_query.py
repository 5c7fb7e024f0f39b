"""Query: prefix, order, limit, paging and expiry within one partition — for every backend."""

import pytest

from shared.ports import Item, Put


def seed(store, pk, sks, expires_at=None):
    store.transact([Put(Item(pk, sk, {"sk": sk}, expires_at=expires_at)) for sk in sks])


def sks(items):
    return [i.sk for i in items]


def test_query_of_empty_partition_is_empty(store):
    assert store.query("nobody") == []


def test_query_returns_items_ordered_by_sort_key(store):
    seed(store, "p", ["c", "a", "b#2", "b#1", "b"])

    items = store.query("p")

    assert sks(items) == ["a", "b", "b#1", "b#2", "c"]
    assert all(i.pk == "p" for i in items)
    assert items[0].data["sk"] == "a"
    assert items[0].version == 1


def test_query_orders_by_code_point_not_by_number_or_case(store):
    seed(store, "p", ["10", "9", "B", "a", "A", "é"])
    assert sks(store.query("p")) == ["10", "9", "A", "B", "a", "é"]


def test_query_descending_reverses_the_order(store):
    seed(store, "p", ["a", "c", "b"])
    assert sks(store.query("p", descending=True)) == ["c", "b", "a"]


def test_query_with_prefix_returns_only_matching_sort_keys(store):
    seed(store, "p", ["key#1", "key#2", "key", "ke", "kez", "plan#1", "keys"])

    assert sks(store.query("p", "key#")) == ["key#1", "key#2"]
    assert sks(store.query("p", "key")) == ["key", "key#1", "key#2", "keys"]
    assert sks(store.query("p", "plan#")) == ["plan#1"]
    assert store.query("p", "zzz") == []


def test_query_prefix_with_non_ascii_characters(store):
    seed(store, "p", ["ü#1", "ü#2", "üb", "u#1", "ý"])
    assert sks(store.query("p", "ü")) == ["ü#1", "ü#2", "üb"]
    assert sks(store.query("p", "ü#", descending=True)) == ["ü#2", "ü#1"]


def test_query_does_not_leak_other_partitions(store):
    # GIVEN partitions whose names share a prefix
    seed(store, "tenant", ["a", "b"])
    seed(store, "tenant2", ["a", "c"])
    seed(store, "tenan", ["z"])

    # THEN each query sees its own partition only
    assert [(i.pk, i.sk) for i in store.query("tenant")] == [("tenant", "a"), ("tenant", "b")]
    assert [(i.pk, i.sk) for i in store.query("tenant2")] == [("tenant2", "a"), ("tenant2", "c")]
    assert [(i.pk, i.sk) for i in store.query("tenan")] == [("tenan", "z")]


def test_query_limit_caps_the_page(store):
    seed(store, "p", [f"k{i:02d}" for i in range(10)])

    assert sks(store.query("p", limit=3)) == ["k00", "k01", "k02"]
    assert sks(store.query("p", limit=3, descending=True)) == ["k09", "k08", "k07"]
    assert len(store.query("p", limit=100)) == 10


def test_query_default_limit_is_100(store):
    for start in range(0, 120, 20):
        seed(store, "p", [f"k{i:03d}" for i in range(start, start + 20)])

    assert len(store.query("p")) == 100


def test_query_after_starts_strictly_after_the_given_sort_key(store):
    seed(store, "p", ["a", "b", "c", "d"])

    assert sks(store.query("p", after="b")) == ["c", "d"]
    assert sks(store.query("p", after="bb")) == ["c", "d"]  # need not be an existing key
    assert sks(store.query("p", after="d")) == []


def test_query_after_descending_continues_downwards(store):
    seed(store, "p", ["a", "b", "c", "d"])
    assert sks(store.query("p", after="c", descending=True)) == ["b", "a"]
    assert sks(store.query("p", after="a", descending=True)) == []


def test_paging_with_after_visits_every_item_once(store):
    # GIVEN 23 items in a prefix plus noise around it
    wanted = [f"use#{i:03d}" for i in range(23)]
    seed(store, "p", wanted[:12])
    seed(store, "p", [*wanted[12:], "usd", "usf", "usage"])

    for descending in (False, True):
        # WHEN reading pages of 5, each starting after the previous page's last sort key
        seen, after = [], None
        while True:
            page = store.query("p", "use#", limit=5, after=after, descending=descending)
            seen += sks(page)
            if len(page) < 5:
                break
            after = page[-1].sk

        # THEN every item is seen once, in order
        assert seen == sorted(wanted, reverse=descending)


def test_query_skips_expired_items(store, clock):
    seed(store, "p", ["a", "c"])
    seed(store, "p", ["b", "d"], expires_at=clock.now() + 10)
    assert sks(store.query("p")) == ["a", "b", "c", "d"]

    clock.advance(10)

    assert sks(store.query("p")) == ["a", "c"]
    assert sks(store.query("p", descending=True)) == ["c", "a"]


def test_query_limit_counts_only_live_items(store, clock):
    seed(store, "p", ["a", "b", "c"], expires_at=clock.now() + 1)
    seed(store, "p", ["d", "e", "f"])
    clock.advance(2)

    assert sks(store.query("p", limit=2)) == ["d", "e"]


def test_a_limit_below_one_is_a_programming_error(store):
    with pytest.raises(ValueError):
        store.query("P", limit=0)
