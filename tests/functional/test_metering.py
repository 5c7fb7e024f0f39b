import threading
from functools import partial

from shared.adapters.buffered_usage import BufferedSink
from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.core.models import UsageEvent
from shared.metering.aggregate import read_usage, record, record_batch

T0 = 1_767_225_600.0


def event(rid, status=200, api="demo-v2", ts=T0 + 10):
    return UsageEvent(rid, ts, "con_a", "key_a", api, "/echo/*", "GET", status, 10, 100, 2.5)


def test_events_aggregate_per_consumer_api_and_hour_idempotently():
    store = MemoryStore(ManualClock(T0))
    assert record(store, event("r1"))
    assert not record(store, event("r1"))  # redelivery is harmless
    record(store, event("r2", status=429))
    record(store, event("r3", api="other"))
    record(store, event("r4", ts=T0 + 3600))
    rows = read_usage(store, "con_a")
    assert [(r["hour"], r["api_id"], r["requests"]) for r in rows] == [
        ("2026-01-01T00", "demo-v2", 2),
        ("2026-01-01T00", "other", 1),
        ("2026-01-01T01", "demo-v2", 1),
    ]
    assert rows[0]["s2xx"] == 1 and rows[0]["s4xx"] == 1 and rows[0]["bytes_out"] == 200


def test_buffered_sink_writes_off_the_request_path():
    store = MemoryStore(ManualClock(T0))
    sink = BufferedSink(partial(record_batch, store))
    before = store.round_trips
    sink.emit(event("r1"))  # returns at once; the write happens on the sink's thread
    sink.flush()
    assert store.round_trips == before + 1
    assert read_usage(store, "con_a")[0]["requests"] == 1
    sink.close()


def test_flush_and_close_do_not_wait_out_the_linger():
    # GIVEN a sink that would let a batch gather for an hour
    recorded: list[UsageEvent] = []
    sink = BufferedSink(recorded.extend, linger=3600)
    sink.emit(event("r1"))

    # WHEN flush() and close() are called (in a thread: a hang fails the test, not the run)
    done = threading.Thread(target=lambda: (sink.flush(), sink.close()), daemon=True)
    done.start()
    done.join(30)

    # THEN both returned and the event was recorded
    assert not done.is_alive()
    assert [e.request_id for e in recorded] == ["r1"]
