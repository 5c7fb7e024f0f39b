"""Analytics per API version/route/status class/hour with percentiles, deprecated callers
(exactly the consumers that called), and the quota meter."""

import itertools

from shared.core.models import UsageEvent
from shared.metering.analytics import record_all

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
_ids = itertools.count()


def events(consumer_id, api_id, latencies, status=200, at=T0 + 60, route="/items/{id}"):
    return [UsageEvent(f"e{next(_ids)}", at, consumer_id, "key", api_id, route, "GET", status,
                       10, 100, ms) for ms in latencies]


def two_versions(h):
    v1 = h.create_api("demo", "v1")
    v2 = h.create_api("demo", "v2")
    for api in (v1, v2):
        h.publish(api["id"])
    return v1, v2


def test_hourly_rows_with_percentiles_and_error_rates_counted_once_200(h):
    v1, _ = two_versions(h)
    dev = h.signup()
    batch = (events(dev.consumer_id, v1["id"], [float(ms) for ms in range(1, 101)])
             + events(dev.consumer_id, v1["id"], [5.0] * 10, status=503))
    record_all(h.store, batch)
    record_all(h.store, list(reversed(batch)))  # redelivered: counted once

    out = h.admin("GET", "/v1/admin/analytics?start=2026-01-01&api_id=" + v1["id"])
    rows = {(r["status_class"], r["route"]): r for r in out["rows"]}
    ok = rows[("2xx", "/items/{id}")]
    assert ok["hour"] == "2026-01-01T00" and ok["requests"] == 100 and ok["bytes_out"] == 10_000
    assert abs(ok["p50_ms"] - 50) <= 0.05 * 50 and abs(ok["p99_ms"] - 99) <= 0.05 * 99
    assert rows[("5xx", "/items/{id}")]["requests"] == 10

    per_api = h.admin("GET", "/v1/admin/analytics?by=api&api_id=" + v1["id"]
                      + "&start=2026-01-01")["rows"]
    assert [(r["version"], r["requests"], r["errors"], r["error_rate"]) for r in per_api] == [
        ("v1", 110, 10, round(10 / 110, 4))]


def test_deprecated_callers_are_exactly_those_who_called_in_30_days_200(h):
    v1, v2 = two_versions(h)
    caller, modern, idle = h.signup(), h.signup(), h.signup()
    record_all(h.store, events(caller.consumer_id, v1["id"], [3.0] * 4)
               + events(modern.consumer_id, v2["id"], [3.0] * 9))
    h.admin("POST", f"/v1/admin/apis/{v1['id']}/lifecycle",
            json={"state": "deprecated", "sunset_at": "2026-06-01T00:00:00Z"})

    out = h.admin("GET", "/v1/admin/analytics/deprecated-callers")
    assert [(i["version"], [(c["consumer_id"], c["requests"]) for c in i["callers"]])
            for i in out["items"]] == [("v1", [(caller.consumer_id, 4)])]
    assert idle.consumer_id not in str(out)

    h.clock.advance(31 * 86_400)  # the call is now older than the window
    assert h.admin("GET", "/v1/admin/analytics/deprecated-callers")["items"][0]["callers"] == []


def test_quota_meter_shows_the_gateways_own_count_200(h):
    api = h.create_api()
    h.publish(api["id"])
    plan = h.create_plan("Metered", quota_per_month=200)
    dev = h.signup()
    h.subscribe(dev, plan["id"])
    key = h.create_key(dev)["key"]
    for _ in range(146):
        assert h.through_gateway(key) == 200

    meter = h.ok("GET", "/v1/me/quota", headers=dev.headers)["items"]
    assert [(m["api"], m["used"], m["limit"], m["percent"]) for m in meter] == [
        ("demo", 146, 200, 73)]
    assert meter[0]["resets_at"] == 1_769_904_000  # 2026-02-01T00:00:00Z


def test_analytics_is_admin_only_403(h):
    dev = h.signup()
    assert h.client.get("/v1/admin/analytics", headers=dev.headers).status_code == 403
