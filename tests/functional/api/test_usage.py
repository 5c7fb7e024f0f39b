"""Usage: my own by API, day or hour and status class; anyone's and the top (admin)."""

import itertools

import pytest

from shared.core.models import UsageEvent
from shared.metering.aggregate import record
from tests.functional.api.harness import ADMIN

_ids = itertools.count()
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def hit(h, consumer_id, status=200, api_id="api_demo", at=T0, n=1):
    for _ in range(n):
        record(h.store, UsageEvent(f"req-{next(_ids)}", at, consumer_id, "key_x", api_id, "/*",
                                   "GET", status, 10, 100, 4.0))


def test_my_usage_by_day_with_status_classes_200(h):
    dev = h.signup()
    hit(h, dev.consumer_id, 200, n=3)
    hit(h, dev.consumer_id, 429, at=T0 + 3600)
    hit(h, dev.consumer_id, 502, at=T0 + 86_400)

    usage = h.ok("GET", "/v1/me/usage?start=2026-01-01&end=2026-01-02", headers=dev.headers)

    assert [(r["period"], r["requests"], r["by_status"]) for r in usage["rows"]] == [
        ("2026-01-01", 4, {"2xx": 3, "4xx": 1}),
        ("2026-01-02", 1, {"5xx": 1}),
    ]
    assert usage["total"]["requests"] == 5 and usage["total"]["errors"] == 2
    assert usage["total"]["avg_latency_ms"] == 4.0


def test_my_usage_by_hour_and_api_200(h):
    dev = h.signup()
    hit(h, dev.consumer_id, api_id="api_a")
    hit(h, dev.consumer_id, api_id="api_b", at=T0 + 3600, n=2)

    usage = h.ok("GET", "/v1/me/usage?start=2026-01-01&end=2026-01-01&granularity=hour"
                 "&api_id=api_b", headers=dev.headers)

    assert [(r["period"], r["api_id"], r["requests"]) for r in usage["rows"]] == [
        ("2026-01-01T01", "api_b", 2)]


def test_usage_defaults_to_the_last_30_days_200(h):
    dev = h.signup()
    hit(h, dev.consumer_id, at=T0 - 40 * 86_400)
    hit(h, dev.consumer_id)

    usage = h.ok("GET", "/v1/me/usage", headers=dev.headers)

    assert (usage["start"], usage["end"]) == ("2025-12-03", "2026-01-01")
    assert usage["total"]["requests"] == 1


def test_hourly_usage_defaults_to_today_and_yesterday_48_hours_200(h):
    dev = h.signup()
    hit(h, dev.consumer_id, at=T0 - 2 * 86_400)  # three days ago: outside
    hit(h, dev.consumer_id, at=T0 - 86_400 + 5)  # yesterday, 00:00
    hit(h, dev.consumer_id)

    usage = h.ok("GET", "/v1/me/usage?granularity=hour", headers=dev.headers)

    assert (usage["start"], usage["end"]) == ("2025-12-31", "2026-01-01")
    assert [r["period"] for r in usage["rows"]] == ["2025-12-31T00", "2026-01-01T00"]


@pytest.mark.parametrize("query", ["start=2026-01-02&end=2026-01-01",
                                   "start=2025-11-01&end=2026-01-01&granularity=hour",
                                   "granularity=minute", "start=yesterday"])
def test_usage_with_a_bad_period_422(h, query):
    dev = h.signup()

    assert h.client.get(f"/v1/me/usage?{query}", headers=dev.headers).status_code == 422


def test_admin_reads_anyones_usage_200_and_unknown_consumer_404(h):
    dev = h.signup()
    hit(h, dev.consumer_id, n=2)

    usage = h.admin("GET", f"/v1/admin/usage?consumer_id={dev.consumer_id}")

    assert usage["total"]["requests"] == 2
    assert h.client.get("/v1/admin/usage?consumer_id=con_nope", headers=ADMIN).status_code == 404


def test_admin_reads_the_top_consumers_most_requests_first_200(h):
    a, b, idle = h.signup(name="A"), h.signup(name="B"), h.signup(name="Idle")
    hit(h, a.consumer_id, n=2)
    hit(h, b.consumer_id, n=5)
    hit(h, b.consumer_id, 500)

    top = h.admin("GET", "/v1/admin/usage/top?start=2026-01-01&end=2026-01-01")

    assert [(t["consumer"]["name"], t["requests"], t["errors"]) for t in top["items"]] == [
        ("B", 6, 1), ("A", 2, 0)]
    assert idle.consumer_id not in str(top)


def test_usage_before_1970_422(h):
    dev = h.signup()

    resp = h.client.get("/v1/me/usage?end=0001-01-01", headers=dev.headers)

    assert resp.status_code == 422
