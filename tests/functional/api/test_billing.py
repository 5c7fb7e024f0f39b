"""Statements through the management API: preview, proration across a plan change, close
(409 before the month ends, frozen after), CSV, developer-own vs admin-any."""

import csv
import io
import itertools

from shared.core.models import UsageEvent
from shared.metering.aggregate import record_batch
from tests.functional.api.harness import ADMIN, PASSWORD

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the harness clock's start
JAN = 31 * 86_400
_ids = itertools.count()


def use(h, consumer_id, api_id, at, n):
    record_batch(h.store, [UsageEvent(f"r{next(_ids)}", at, consumer_id, "key", api_id, "/*",
                                      "GET", 200, 1, 1, 1.0) for _ in range(n)])


def login(h, dev):
    """Sessions expire: after moving the clock by days, log in again."""
    s = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})
    return {"Authorization": f"Bearer {s['access_token']}"}


def setup(h):
    api = h.create_api()
    h.publish(api["id"])
    basic = h.create_plan("Basic", monthly_fee_cents=1000, included_requests=100,
                          overage_cents_per_1000=100)
    pro = h.create_plan("Pro", monthly_fee_cents=3100, included_requests=1000,
                        overage_cents_per_1000=50)
    dev = h.signup()
    sub = h.subscribe(dev, basic["id"])
    return api, basic, pro, dev, sub


def test_preview_prorates_a_mid_month_plan_change_200(h):
    api, _, pro, dev, sub = setup(h)
    use(h, dev.consumer_id, api["id"], T0 + 3600, 150)
    h.clock.set(T0 + JAN / 2)  # exactly half of January on each plan
    h.admin("PATCH", f"/v1/admin/consumers/{dev.consumer_id}/subscriptions/{sub['id']}",
            json={"plan_id": pro["id"]})
    use(h, dev.consumer_id, api["id"], T0 + JAN / 2 + 3600, 2000)

    st = h.ok("GET", "/v1/me/billing/preview", headers=login(h, dev))

    lines = {line["plan_name"]: line for line in st["lines"]}
    assert lines["Basic"]["seconds"] == lines["Pro"]["seconds"] == JAN // 2
    # Basic: 10.00 / 2 = 500; allowance 50; 100 over at 1 c per 10 -> 10 c
    assert (lines["Basic"]["fee_cents"], lines["Basic"]["allowance"],
            lines["Basic"]["overage_units"], lines["Basic"]["overage_cents"]) == (500, 50, 100, 10)
    # Pro: 31.00 / 2 = 1550; allowance 500; 1,500 over at 0.05 c -> 75 c
    assert (lines["Pro"]["fee_cents"], lines["Pro"]["allowance"],
            lines["Pro"]["overage_units"], lines["Pro"]["overage_cents"]) == (1550, 500, 1500, 75)
    assert st["total_cents"] == 500 + 10 + 1550 + 75 and st["status"] == "open"
    assert lines["Pro"]["units_by_api"] == {"demo": 2000}


def test_closing_before_the_month_ends_is_409_and_after_it_freezes_200(h):
    api, _, _, dev, _ = setup(h)
    use(h, dev.consumer_id, api["id"], T0 + 60, 300)
    path = f"/v1/admin/billing/{dev.consumer_id}/statement?period=2026-01"
    close = f"/v1/admin/billing/{dev.consumer_id}/close?period=2026-01"
    resp = h.client.post(close, headers=ADMIN)
    assert resp.status_code == 409 and "2026-02-01" in resp.json()["detail"]

    h.clock.set(T0 + JAN + 1)
    closed = h.admin("POST", close)
    assert closed["status"] == "closed" and closed["total_cents"] == 1000 + 20

    use(h, dev.consumer_id, api["id"], T0 + 7200, 5000)  # arrives after the close
    assert h.admin("GET", path) == closed
    assert h.admin("POST", close) == closed  # closing again changes nothing
    mine = login(h, dev)
    assert h.ok("GET", "/v1/me/billing/statement?period=2026-01", headers=mine) == closed
    listed = h.ok("GET", "/v1/me/billing/statements", headers=mine)["items"]
    assert [(s["period"], s["status"]) for s in listed] == [("2026-02", "open"),
                                                            ("2026-01", "closed")]
    audit = h.admin("GET", "/v1/admin/audit?action=statement")["items"]
    assert [a["action"] for a in audit] == ["statement.close"]


def test_statement_as_csv_200(h):
    api, _, _, dev, _ = setup(h)
    use(h, dev.consumer_id, api["id"], T0 + 60, 150)
    resp = h.client.get("/v1/me/billing/statement?period=2026-01&format=csv", headers=dev.headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [(r["plan_name"], r["units"], r["total_cents"]) for r in rows] == [
        ("Basic", "150", "1005"), ("", "", "1005")]
    assert rows[-1]["subscription_id"] == "TOTAL"


def test_usage_without_a_subscription_is_reported_unbilled_200(h):
    api, _, _, dev, sub = setup(h)
    h.clock.set(T0 + 86_400)
    mine = login(h, dev)
    h.ok("DELETE", f"/v1/me/subscriptions/{sub['id']}", headers=mine)
    use(h, dev.consumer_id, api["id"], T0 + 2 * 86_400, 40)
    st = h.ok("GET", "/v1/me/billing/preview", headers=mine)
    assert st["unbilled_units_by_api"] == {"demo": 40}
    assert st["lines"][0]["seconds"] == 86_400 and st["lines"][0]["units"] == 0


def test_a_developer_sees_only_their_own_and_an_admin_any_200(h):
    api, _, _, dev, _ = setup(h)
    other = h.signup()
    use(h, dev.consumer_id, api["id"], T0 + 60, 10)
    assert h.ok("GET", "/v1/me/billing/preview", headers=other.headers)["lines"] == []
    assert h.admin("GET", f"/v1/admin/billing/{dev.consumer_id}/preview")["lines"]
    assert h.client.get(f"/v1/admin/billing/{dev.consumer_id}/preview",
                        headers=other.headers).status_code == 403


def test_unknown_consumer_404_and_malformed_period_422(h):
    assert h.client.get("/v1/admin/billing/con_nobody/preview", headers=ADMIN).status_code == 404
    dev = h.signup()
    for bad in ("2026-13", "202601", "2026-1"):
        resp = h.client.get(f"/v1/me/billing/statement?period={bad}", headers=dev.headers)
        assert resp.status_code == 422, bad


def test_graduated_overage_tiers_set_on_the_plan_price_each_unit_at_its_tier_200(h):
    api = h.create_api()
    h.publish(api["id"])
    tiers = [{"up_to": 1000, "cents_per_1000": 100}, {"up_to": None, "cents_per_1000": 50}]
    plan = h.create_plan("Tiered", included_requests=100, overage_tiers=tiers)
    assert plan["overage_tiers"] == tiers
    public = {p["id"]: p for p in h.ok("GET", "/v1/plans")["items"]}
    assert public[plan["id"]]["overage_tiers"] == tiers  # developers see the price list
    dev = h.signup()
    h.subscribe(dev, plan["id"])
    use(h, dev.consumer_id, api["id"], T0 + 3600, 3100)

    st = h.ok("GET", "/v1/me/billing/preview", headers=login(h, dev))

    [line] = st["lines"]
    # 3,000 over: the first 1,000 at 1.00 per 1,000, the other 2,000 at 0.50 per 1,000
    assert (line["overage_units"], line["overage_cents"]) == (3000, 100 + 100)
    assert line["tiers"] == [{"up_to": 1000, "cents_per_1000": 100},
                             {"up_to": None, "cents_per_1000": 50}]
