"""Azure Tables only (Azurite): what the shared contract cannot see — purge of expired
entities, keys as stored, big records, round trips per hit, lost ETag races, timeouts and
error mapping, and the settings that select the store. Not parametrized over backends."""

import socket
import time

import pytest

from shared.adapters import azure_tables
from shared.adapters.azure_tables import AzureTableStore
from shared.core.clock import ManualClock
from shared.core.ratelimit import Slot
from shared.ports import ConditionFailed, Delete, Increment, Item, Put, StoreUnavailable
from shared.settings import SettingsError, from_env
from shared.wiring import build_store
from tests.contract.backends import azure_tables as azurite


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def store(clock, tmp_path):
    with azurite.make(clock, tmp_path) as s:
        yield s


def calls(store, monkeypatch):
    """Count the SDK calls (round trips) the store makes from now on."""
    made = []
    real = store._call

    def counting(fn, *a, **kw):
        made.append(getattr(fn, "__name__", fn))
        return real(fn, *a, **kw)

    monkeypatch.setattr(store, "_call", counting)
    return made


# --- expiry ----------------------------------------------------------------------------


def test_purge_expired_deletes_only_expired_entities_and_idle_buckets(store, clock):
    # GIVEN expired and live items, a permanent one, and a rate-limit bucket that goes idle
    store.transact([Put(Item("p", f"old{i}", {}, expires_at=clock.now() + 10)) for i in range(3)])
    store.transact([Put(Item("p", "live", {}, expires_at=clock.now() + 100))])
    store.transact([Put(Item("q", "forever", {}))])
    store.hit("b", [Slot("m1", 5, clock.now() + 20)], [], 1)
    assert store.purge_expired() == 0

    # WHEN time passes the first expiries and purge runs with a small limit, then again
    clock.advance(30)
    first = store.purge_expired(limit=2)
    second = store.purge_expired()

    # THEN the 3 expired items and the idle bucket are gone, physically; the rest stays
    assert (first, second) == (2, 2)
    assert store.purge_expired() == 0
    raw = list(store._client.list_entities())
    assert sorted(e["RowKey"] for e in raw) == ["forever", "live"]
    assert store.hit("b", [Slot("m1", 5, clock.now() + 20)], [], 1).counts["m1"] == 1


def test_store_declares_no_ttl(store):
    assert "ttl" not in store.capabilities


# --- layout ----------------------------------------------------------------------------


def test_keys_are_stored_escaped_and_read_back_as_given(store):
    store.transact([Put(Item("CONSUMER#c1", "KEY#k/1?", {"n": 1}))])

    (raw,) = list(store._client.list_entities())

    assert (raw["PartitionKey"], raw["RowKey"]) == ("CONSUMER$23c1", "KEY$23k.2f1>3f")
    assert store.query("CONSUMER#c1", "KEY#")[0].sk == "KEY#k/1?"


def test_versions_and_big_integers_are_int64(store):
    store.transact([Put(Item("p", "s", {"big": 2**40}))])
    store.transact([Increment("p", "s", {"big": 2**40})])

    item = store.get("p", "s")
    assert (item.data["big"], item.version) == (2**41, 2)


def test_a_record_over_one_property_is_chunked_and_one_over_an_entity_is_refused(store):
    big = {"text": "x" * 100_000}
    store.transact([Put(Item("p", "big", big))])
    assert store.get("p", "big").data == big

    with pytest.raises(ValueError, match="Table Storage holds at most"):
        store.transact([Put(Item("p", "huge", {"text": "x" * 600_000}))])


# --- round trips and races -----------------------------------------------------------------


def test_a_hit_is_one_round_trip_in_steady_state(store, clock, monkeypatch):
    slot = Slot("m1", 3, clock.now() + 60)
    store.hit("b", [slot], [], 1)  # first sight of the bucket: read + write
    made = calls(store, monkeypatch)

    admitted = store.hit("b", [slot], [], 1)
    assert admitted.admitted and made == ["update_entity"]

    store.hit("b", [slot], [], 1)
    made.clear()
    denied = store.hit("b", [slot], [], 1)  # a denial is decided on a fresh read, no write
    assert not denied.admitted and made == ["get_entity"]


def test_a_stale_cache_costs_a_retry_not_a_wrong_count(store, clock, tmp_path):
    # GIVEN two processes (stores) on one table, each with its own cache
    other = AzureTableStore(store._table, clock, connection_string=azurite.connection_string())
    slot = Slot("m1", 10, clock.now() + 60)
    try:
        store.hit("b", [slot], [], 1)
        other.hit("b", [slot], [], 5)

        # WHEN the first hits again with its cached (now stale) ETag
        result = store.hit("b", [slot], [], 1)

        # THEN its write is refused (412), it re-reads and counts on top of the other's
        assert (result.admitted, result.counts["m1"]) == (True, 7)
    finally:
        other.close()


def test_hit_gives_up_with_store_unavailable_after_bounded_conflicts(store, clock, monkeypatch):
    def always_conflict(*a, **kw):
        raise azure_tables._Conflict("412")

    monkeypatch.setattr(store, "_write_counters", always_conflict)
    monkeypatch.setattr(store, "_hit_attempts", 3)

    with pytest.raises(StoreUnavailable, match="too many conflicts"):
        store.hit("b", [Slot("m1", 10, clock.now() + 60)], [], 1)

    # AND the time budget bounds it too, however many attempts are left
    monkeypatch.setattr(store, "_hit_attempts", 10**6)
    monkeypatch.setattr(store, "_hit_budget", 0.2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.hit("b", [Slot("m1", 10, clock.now() + 60)], [], 1)
    assert time.monotonic() - started < 2


def test_a_write_in_between_read_and_commit_is_seen_on_the_next_round(store, clock, monkeypatch):
    # GIVEN an item at version 1, and another writer that slips in after our first read
    store.transact([Put(Item("p", "s", {"n": 1}))])
    real = store._read
    slipped = []

    def read_then_someone_writes(pk, rows):
        found = real(pk, rows)
        if not slipped:
            slipped.append(True)
            real_transact([Increment("p", "s", {"n": 10})])
        return found

    real_transact = store.transact
    monkeypatch.setattr(store, "_read", read_then_someone_writes)

    # WHEN we increment, THEN both increments count (our first commit was refused)
    store.transact([Increment("p", "s", {"n": 1})])
    item = store.get("p", "s")
    assert (item.data["n"], item.version) == (12, 3)

    # AND a conditional write decided on a read that went stale fails with its index
    slipped.clear()
    with pytest.raises(ConditionFailed) as failed:
        store.transact([Put(Item("p", "t", {})), Put(Item("p", "s", {}), if_version=3)])
    assert failed.value.index == 1
    assert store.get("p", "t") is None


def test_deleting_missing_items_in_a_batch_is_a_no_op(store):
    store.transact([Put(Item("p", "a", {}))])
    store.transact([Delete("p", "missing"), Delete("p", "a"), Put(Item("p", "b", {}))])
    assert [i.sk for i in store.query("p")] == ["b"]


# --- failures --------------------------------------------------------------------------


def _dead_store(port, clock, **kw):
    conn = azurite.connection_string().rsplit(":", 1)[0] + f":{port}/devstoreaccount1;"
    return AzureTableStore("t", clock, connection_string=conn, **kw)


def test_a_refused_connection_is_store_unavailable_at_once(clock):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = _dead_store(port, clock)
    started = time.monotonic()
    for op in (
        lambda: store.get("p", "s"),
        lambda: store.query("p"),
        lambda: store.transact([Put(Item("p", "s", {}))]),
        lambda: store.hit("b", [Slot("m1", 1, clock.now() + 60)], [], 1),
        lambda: store.purge_expired(),
    ):
        with pytest.raises(StoreUnavailable):
            op()
    assert time.monotonic() - started < 5


def test_a_server_that_never_answers_is_store_unavailable_after_the_timeouts(clock):
    with socket.socket() as s:  # accepts connections (backlog) but never replies
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        store = _dead_store(s.getsockname()[1], clock, timeout=0.3, retry_total=1)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.get("p", "s")
        assert time.monotonic() - started < 3  # two tries of 0.3 s, not the SDK's minutes


def test_a_missing_table_is_store_unavailable_not_an_absent_item(clock):
    store = AzureTableStore("tnosuchtable", clock, connection_string=azurite.connection_string())
    with pytest.raises(StoreUnavailable, match="TableNotFound"):
        store.get("p", "s")


def test_a_closed_store_is_store_unavailable(store, clock):
    store.get("p", "s")
    other = AzureTableStore(store._table, clock, connection_string=azurite.connection_string())
    other.get("p", "s")  # its client is built
    other.close()
    with pytest.raises(StoreUnavailable):
        other.get("p", "s")


# --- settings and wiring -------------------------------------------------------------------


def test_store_azure_needs_an_endpoint_or_a_connection_string():
    with pytest.raises(SettingsError, match="TOLLWAY_AZURE_TABLE_ENDPOINT"):
        from_env({"TOLLWAY_STORE": "azure"})
    with pytest.raises(SettingsError, match="http"):
        from_env({"TOLLWAY_STORE": "azure", "TOLLWAY_AZURE_TABLE_ENDPOINT": "acct.table"})


def test_wiring_builds_the_azure_store_from_a_connection_string(clock):
    env = {"TOLLWAY_STORE": "azure", "TOLLWAY_AZURE_CONNECTION_STRING": "AccountKey=hidden;x=1"}
    settings = from_env(env)

    assert "hidden" not in repr(settings)
    store = build_store(settings, clock)
    assert isinstance(store, AzureTableStore)
    store.close()


def test_managed_identity_without_azure_identity_says_what_to_install(clock):
    pytest.importorskip("azure.data.tables")
    try:
        import azure.identity  # noqa: F401
    except ImportError:
        settings = from_env(
            {"TOLLWAY_STORE": "azure", "TOLLWAY_AZURE_TABLE_ENDPOINT": "https://a.table.x.net"}
        )
        with pytest.raises(SettingsError, match="azure-identity"):
            build_store(settings, clock)
    else:
        pytest.skip("azure-identity is installed here: the message cannot be shown")
