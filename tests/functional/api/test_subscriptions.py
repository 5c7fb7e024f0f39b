"""Subscriptions: self-service, approval, admin plan changes and per-consumer overrides."""

from tests.functional.api.harness import ADMIN


def test_subscribe_to_a_plan_is_active_at_once_201(h):
    world = h.world()
    dev = h.signup()

    sub = h.subscribe(dev, world["plan"]["id"])

    assert sub["status"] == "active" and sub["consumer_id"] == dev.consumer_id
    assert h.ok("GET", "/v1/me/subscriptions", headers=dev.headers)["items"] == [sub]


def test_subscribe_twice_to_the_same_plan_409(h):
    world = h.world()
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])

    resp = h.client.post("/v1/me/subscriptions", json={"plan_id": world["plan"]["id"]},
                         headers=dev.headers)

    assert resp.status_code == 409


def test_subscribe_to_an_unknown_plan_422(h):
    dev = h.signup()

    resp = h.client.post("/v1/me/subscriptions", json={"plan_id": "pln_nope"},
                         headers=dev.headers)

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "body.plan_id"


def test_plan_requiring_approval_is_pending_until_an_admin_approves_200(h):
    api = h.create_api()
    h.publish(api["id"])
    plan = h.create_plan("Partner", requires_approval=True)
    dev = h.signup()
    key = h.create_key(dev)["key"]

    sub = h.subscribe(dev, plan["id"])
    assert sub["status"] == "pending"
    assert h.through_gateway(key) == 403
    pending = h.admin("GET", "/v1/admin/subscriptions?status=pending")["items"]
    assert [s["id"] for s in pending] == [sub["id"]]

    approved = h.admin("POST", f"/v1/admin/subscriptions/{sub['id']}/approve")

    assert approved["status"] == "active"
    h.after_cache_ttl()
    assert h.through_gateway(key) == 200
    again = h.client.post(f"/v1/admin/subscriptions/{sub['id']}/approve", headers=ADMIN)
    assert again.status_code == 409


def test_admin_rejects_a_pending_subscription_200(h):
    h.create_api()
    plan = h.create_plan("Partner", requires_approval=True)
    dev = h.signup()
    sub = h.subscribe(dev, plan["id"])

    rejected = h.admin("POST", f"/v1/admin/subscriptions/{sub['id']}/reject")

    assert rejected["status"] == "cancelled"


def test_approve_unknown_subscription_404(h):
    assert h.client.post("/v1/admin/subscriptions/sub_nope/approve",
                         headers=ADMIN).status_code == 404


def test_cancel_my_subscription_200_and_the_gateway_refuses_within_the_ttl(h):
    world = h.world()
    dev = h.signup()
    sub = h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    assert h.through_gateway(key) == 200

    cancelled = h.ok("DELETE", f"/v1/me/subscriptions/{sub['id']}", headers=dev.headers)

    assert cancelled["status"] == "cancelled"
    h.after_cache_ttl()
    assert h.through_gateway(key) == 403


def test_admin_subscribes_a_consumer_directly_even_to_an_approval_plan_201(h):
    h.create_api()
    plan = h.create_plan("Partner", requires_approval=True)
    dev = h.signup()

    sub = h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/subscriptions",
                  json={"plan_id": plan["id"], "overrides": {"quota_per_day": 10}}, status=201)

    assert sub["status"] == "active" and sub["overrides"] == {"quota_per_day": 10}


def test_admin_changes_a_consumers_plan_and_overrides_and_the_gateway_follows_200(h):
    world = h.world()
    gold = h.create_plan("Gold", rate_per_minute=100)
    dev = h.signup()
    sub = h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    path = f"/v1/admin/consumers/{dev.consumer_id}/subscriptions/{sub['id']}"

    changed = h.admin("PATCH", path, json={"plan_id": gold["id"],
                                           "overrides": {"rate_per_minute": 1}})

    assert changed["plan_id"] == gold["id"]
    assert changed["overrides"] == {"rate_per_minute": 1}
    h.after_cache_ttl()
    assert [h.through_gateway(key) for _ in range(2)] == [200, 429]
    listed = h.admin("GET", f"/v1/admin/consumers/{dev.consumer_id}/subscriptions")["items"]
    assert [s["plan_id"] for s in listed] == [gold["id"]]
    # the old plan is no longer in use; the new one is
    assert h.client.delete(f"/v1/admin/plans/{world['plan']['id']}",
                           headers=ADMIN).status_code == 204
    assert h.client.delete(f"/v1/admin/plans/{gold['id']}", headers=ADMIN).status_code == 409


def test_admin_patch_of_a_subscription_of_another_consumer_404(h):
    world = h.world()
    a, b = h.signup(), h.signup()
    sub = h.subscribe(a, world["plan"]["id"])

    resp = h.client.patch(f"/v1/admin/consumers/{b.consumer_id}/subscriptions/{sub['id']}",
                          headers=ADMIN, json={"overrides": {}})

    assert resp.status_code == 404


def test_overrides_accept_only_rate_and_quota_fields_422(h):
    world = h.world()
    dev = h.signup()
    sub = h.subscribe(dev, world["plan"]["id"])

    resp = h.client.patch(f"/v1/admin/consumers/{dev.consumer_id}/subscriptions/{sub['id']}",
                          headers=ADMIN, json={"overrides": {"monthly_fee_cents": 0}})

    assert resp.status_code == 422
