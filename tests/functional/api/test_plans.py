"""Plans: tiers, prices, the APIs they grant; a plan in use is retired, not deleted."""

import pytest

from shared.core.models import Plan
from shared.management.plans import monthly_charge_cents
from tests.functional.api.harness import ADMIN


def test_create_plan_201_and_it_is_offered_publicly_200(h):
    h.create_api("demo")
    plan = h.create_plan("Pro", rate_per_second=50, quota_per_month=1_000_000,
                         monthly_fee_cents=4900, included_requests=1_000_000,
                         overage_cents_per_1000=50, algorithm="sliding")

    assert plan["id"].startswith("pln_") and plan["algorithm"] == "sliding"
    offered = h.ok("GET", "/v1/plans")["items"]
    assert [p["id"] for p in offered] == [plan["id"]]
    assert "fail_mode" not in offered[0] and offered[0]["monthly_fee_cents"] == 4900
    assert h.ok("GET", f"/v1/plans/{plan['id']}")["name"] == "Pro"


def test_plan_granting_an_unknown_api_422(h):
    resp = h.client.post("/v1/admin/plans", headers=ADMIN, json={"name": "x", "apis": ["nope"]})

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "body.apis"


def test_an_api_may_be_in_several_plans_and_a_plan_may_grant_every_api_201(h):
    h.create_api("demo")
    h.create_api("billing")

    h.create_plan("Free", apis=("demo",))
    h.create_plan("Pro", apis=("demo", "billing"))
    h.create_plan("All", apis=("*",))

    assert len(h.admin("GET", "/v1/admin/plans")["items"]) == 3


def test_update_plan_limits_null_removes_a_limit_200(h):
    h.create_api("demo")
    plan = h.create_plan(rate_per_minute=5, quota_per_day=100)

    updated = h.admin("PATCH", f"/v1/admin/plans/{plan['id']}",
                      json={"rate_per_minute": None, "name": None, "quota_per_day": 200})

    assert updated["rate_per_minute"] is None and updated["quota_per_day"] == 200
    assert updated["name"] == plan["name"]  # null elsewhere means "unchanged"


def test_plan_change_reaches_the_gateway_within_the_cache_ttl(h):
    world = h.world()
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    assert h.through_gateway(key) == 200

    h.admin("PATCH", f"/v1/admin/plans/{world['plan']['id']}", json={"rate_per_minute": 1})
    h.after_cache_ttl()

    assert h.through_gateway(key) == 200
    assert h.through_gateway(key) == 429


def test_delete_an_unused_plan_204(h):
    h.create_api("demo")
    plan = h.create_plan()

    assert h.client.delete(f"/v1/admin/plans/{plan['id']}", headers=ADMIN).status_code == 204
    assert h.client.get(f"/v1/admin/plans/{plan['id']}", headers=ADMIN).status_code == 404


def test_delete_a_plan_in_use_409_retire_it_instead_200(h):
    world = h.world()
    plan_id = world["plan"]["id"]
    dev = h.signup()
    h.subscribe(dev, plan_id)
    key = h.create_key(dev)["key"]

    refused = h.client.delete(f"/v1/admin/plans/{plan_id}", headers=ADMIN)
    retired = h.admin("POST", f"/v1/admin/plans/{plan_id}/retire")

    assert refused.status_code == 409 and "Retire it" in refused.json()["detail"]
    assert retired["retired"] is True
    assert h.ok("GET", "/v1/plans")["items"] == []
    assert h.client.get(f"/v1/plans/{plan_id}").status_code == 404
    newcomer = h.signup()
    resp = h.client.post("/v1/me/subscriptions", json={"plan_id": plan_id},
                         headers=newcomer.headers)
    assert resp.status_code == 422
    h.after_cache_ttl()
    assert h.through_gateway(key) == 200  # existing subscribers keep their service


def test_plan_becomes_deletable_once_its_last_subscription_is_cancelled_204(h):
    world = h.world()
    dev = h.signup()
    sub = h.subscribe(dev, world["plan"]["id"])
    h.ok("DELETE", f"/v1/me/subscriptions/{sub['id']}", headers=dev.headers)

    resp = h.client.delete(f"/v1/admin/plans/{world['plan']['id']}", headers=ADMIN)

    assert resp.status_code == 204


def test_a_months_price_is_the_statements_math_fee_plus_exact_overage():
    plan = Plan("p", "Pro", monthly_fee_cents=4900, included_requests=1000,
                overage_cents_per_1000=50)

    assert monthly_charge_cents(plan, 900) == 4900
    assert monthly_charge_cents(plan, 1000) == 4900
    assert monthly_charge_cents(plan, 1010) == 4900 + 1  # 10 over: 0.5 c, rounded half up
    assert monthly_charge_cents(plan, 3000) == 4900 + 100  # 2,000 over at 0.05 c each


def test_a_new_plan_takes_the_deployment_default_fail_mode_201():
    from tests.functional.api.harness import harness

    with harness(default_fail_mode="open") as h:
        h.create_api("demo")
        assert h.create_plan("Lenient")["fail_mode"] == "open"
        assert h.create_plan("Strict", fail_mode="closed")["fail_mode"] == "closed"


@pytest.mark.parametrize(("tiers", "where"), [
    ([{"up_to": 1000, "cents_per_1000": 1}], "body.overage_tiers.0.up_to"),  # last is bounded
    ([{"up_to": None, "cents_per_1000": 1}, {"up_to": None, "cents_per_1000": 1}],
     "body.overage_tiers.0.up_to"),
    ([{"up_to": 500, "cents_per_1000": 1}, {"up_to": 500, "cents_per_1000": 1},
      {"up_to": None, "cents_per_1000": 1}], "body.overage_tiers.1.up_to"),
])
def test_overage_tiers_out_of_order_or_unbounded_midway_are_422_naming_the_tier(h, tiers, where):
    resp = h.client.post("/v1/admin/plans", headers=ADMIN,
                         json={"name": "Bad", "overage_tiers": tiers})
    assert resp.status_code == 422, resp.text
    assert where in resp.text
    assert all(p["name"] != "Bad" for p in h.admin("GET", "/v1/admin/plans")["items"])


def test_overage_tiers_are_patched_and_cleared_with_an_empty_list_200(h):
    plan = h.create_plan("Gold", apis=())
    tiers = [{"up_to": 10, "cents_per_1000": 9}, {"up_to": None, "cents_per_1000": 3}]
    assert h.admin("PATCH", f"/v1/admin/plans/{plan['id']}",
                   json={"overage_tiers": tiers})["overage_tiers"] == tiers
    assert h.admin("PATCH", f"/v1/admin/plans/{plan['id']}",
                   json={"overage_tiers": []})["overage_tiers"] == []
