"""A key's exact "last used" hour, and my own latency percentiles per API, both read from
metering's hourly usage aggregates."""

import itertools
from datetime import date

import pytest

from shared.core.models import UsageEvent
from shared.management import usage
from shared.metering.analytics import record_all

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the harness clock's start
_ids = itertools.count()


def calls(h, consumer_id, key_id, *, at, latencies=(5.0,), status=200, api_id="api_demo"):
    batch = [UsageEvent(f"u{next(_ids)}", at, consumer_id, key_id, api_id, "/*", "GET",
                        status, 10, 100, ms) for ms in latencies]
    record_all(h.store, batch)
    record_all(h.store, batch)  # redelivered: counted once


def keys_by_name(h, dev):
    return {k["name"]: k for k in h.ok("GET", "/v1/me/keys", headers=dev.headers)["items"]}


def test_only_the_used_key_has_last_used_at_200(h):
    h.clock.advance(3 * 3600 + 120)  # (sessions outlive no clock jump: move it first)
    dev = h.signup()
    used, idle = h.create_key(dev, "used"), h.create_key(dev, "idle")
    calls(h, dev.consumer_id, used["id"], at=T0 + 3600 + 59)  # in 01:00-02:00

    listed = keys_by_name(h, dev)

    assert listed["used"]["last_used_at"] == "2026-01-01T01:00:00Z"
    assert listed["idle"]["last_used_at"] is None
    one = h.ok("GET", f"/v1/me/keys/{used['id']}", headers=dev.headers)
    assert one["last_used_at"] == "2026-01-01T01:00:00Z"
    assert idle["last_used_at"] is None  # a new key


def test_a_rotated_keys_new_id_shows_its_own_use_200(h):
    h.clock.advance(5 * 3600)
    dev = h.signup()
    old = h.create_key(dev, "app")
    calls(h, dev.consumer_id, old["id"], at=T0 + 3600)
    new = h.ok("POST", f"/v1/me/keys/{old['id']}/rotate", headers=dev.headers, status=201,
               json={"grace_seconds": 3600})
    assert new["last_used_at"] is None
    calls(h, dev.consumer_id, new["id"], at=T0 + 4 * 3600 + 30)

    listed = {k["id"]: k["last_used_at"]
              for k in h.ok("GET", "/v1/me/keys", headers=dev.headers)["items"]}

    assert listed == {old["id"]: "2026-01-01T01:00:00Z", new["id"]: "2026-01-01T04:00:00Z"}


def test_use_older_than_the_window_reads_as_none_200(h):
    h.clock.advance(90 * 86_400)  # today is day 91: 2026-01-01 is just outside 90 days
    dev = h.signup()
    key = h.create_key(dev)
    calls(h, dev.consumer_id, key["id"], at=T0 + 86_399)
    calls(h, dev.consumer_id, "key_other", at=T0 + 86_400)

    assert keys_by_name(h, dev)["app"]["last_used_at"] is None
    assert usage.last_used(h.store, dev.consumer_id, date(2026, 4, 1)) == {
        "key_other": T0 + 86_400}  # the window's first day counts


def test_my_latency_percentiles_per_api_and_day_200(h):
    h.clock.advance(2 * 86_400)
    api = h.create_api("demo", "v1")
    dev = h.signup()
    key = h.create_key(dev)
    calls(h, dev.consumer_id, key["id"], at=T0 + 60, api_id=api["id"],
          latencies=[float(ms) for ms in range(1, 101)])
    calls(h, dev.consumer_id, key["id"], at=T0 + 86_400, api_id=api["id"], status=502,
          latencies=[1000.0, 1000.0])

    out = h.ok("GET", "/v1/me/analytics?start=2026-01-01&end=2026-01-02",
               headers=dev.headers)

    assert out["consumer_id"] == dev.consumer_id and out["granularity"] == "day"
    day1, day2 = out["rows"]
    assert (day1["period"], day1["api"], day1["version"]) == ("2026-01-01", "demo", "v1")
    assert (day1["requests"], day1["errors"]) == (100, 0)
    assert day1["p50_ms"] == pytest.approx(50.5, rel=0.05)
    assert day1["p99_ms"] == pytest.approx(99, rel=0.05)
    assert (day2["requests"], day2["errors"], day2["error_rate"]) == (2, 2, 1.0)
    assert day2["p50_ms"] == pytest.approx(1000, rel=0.05)
    (whole,) = out["apis"]
    assert (whole["period"], whole["requests"], whole["errors"]) == (None, 102, 2)
    assert whole["p50_ms"] == pytest.approx(51, rel=0.05)  # the 51st of 102
    assert whole["p99_ms"] == pytest.approx(100, rel=0.05)  # the 100th: below the 502s


def test_my_latency_by_hour_filtered_by_api_200(h):
    h.clock.advance(86_400)
    dev = h.signup()
    calls(h, dev.consumer_id, "key_x", at=T0 + 7200, api_id="api_a", latencies=[10.0])
    calls(h, dev.consumer_id, "key_x", at=T0 + 7200, api_id="api_b", latencies=[20.0])

    out = h.ok("GET", "/v1/me/analytics?start=2026-01-01&end=2026-01-01&granularity=hour"
               "&api_id=api_b", headers=dev.headers)

    assert [(r["period"], r["api_id"], r["api"]) for r in out["rows"]] == [
        ("2026-01-01T02", "api_b", "")]  # an API no longer in the catalog: no name
    assert out["rows"][0]["p50_ms"] == pytest.approx(20, rel=0.05)


def test_my_latency_without_calls_is_empty_and_bad_ranges_422(h):
    dev = h.signup()

    out = h.ok("GET", "/v1/me/analytics", headers=dev.headers)
    assert out["rows"] == [] and out["apis"] == []
    bad = h.client.get("/v1/me/analytics?start=2026-01-02&end=2026-01-01",
                       headers=dev.headers)
    assert bad.status_code == 422
