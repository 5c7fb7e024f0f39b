"""One plan per API for a developer: a second plan for the same API is refused (409,
pointing at change-plan), and POST /v1/me/subscriptions/{id}/change-plan moves the
subscription (at once, or through an approval that replaces the old plan atomically)."""

from tests.functional.api.harness import ADMIN


def setup(h):
    api = h.create_api()
    h.publish(api["id"])
    free = h.create_plan("Free", rate_per_minute=1)
    pro = h.create_plan("Pro", monthly_fee_cents=4900)
    partner = h.create_plan("Partner", requires_approval=True)
    dev = h.signup()
    return dev, free, pro, partner


def live(h, dev):
    subs = h.ok("GET", "/v1/me/subscriptions", headers=dev.headers)["items"]
    return {s["plan_id"]: s["status"] for s in subs if s["status"] != "cancelled"}


def test_a_second_plan_for_the_same_api_is_refused_with_a_pointer_to_change_plan_409(h):
    dev, free, pro, _ = setup(h)
    sub = h.subscribe(dev, free["id"])

    resp = h.client.post("/v1/me/subscriptions", json={"plan_id": pro["id"]},
                         headers=dev.headers)

    assert resp.status_code == 409
    assert f"/v1/me/subscriptions/{sub['id']}/change-plan" in resp.json()["detail"]
    assert live(h, dev) == {free["id"]: "active"}
    # A plan for another API is no clash.
    h.create_api("maps")
    other = h.create_plan("Maps", apis=("maps",))
    assert h.subscribe(dev, other["id"])["status"] == "active"


def test_change_plan_moves_the_subscription_and_the_gateway_follows_200(h):
    dev, free, pro, _ = setup(h)
    key = h.create_key(dev)["key"]
    sub = h.subscribe(dev, free["id"])
    assert h.through_gateway(key) == 200
    assert h.through_gateway(key) == 429  # Free: one a minute

    moved = h.ok("POST", f"/v1/me/subscriptions/{sub['id']}/change-plan",
                 json={"plan_id": pro["id"]}, headers=dev.headers)

    assert moved["id"] == sub["id"] and moved["plan_id"] == pro["id"]
    assert moved["status"] == "active"
    assert live(h, dev) == {pro["id"]: "active"}
    h.after_cache_ttl()
    assert h.through_gateway(key) == 200  # Pro has no per-minute limit
    entry = h.admin("GET", "/v1/admin/audit?action=subscription.change_plan")["items"][0]
    assert entry["before"]["plan_id"] == free["id"] and entry["after"]["plan_id"] == pro["id"]
    # Free is open again for this consumer only through another change.
    again = h.ok("POST", f"/v1/me/subscriptions/{sub['id']}/change-plan",
                 json={"plan_id": pro["id"]}, headers=dev.headers)
    assert again == moved  # already there: a no-op


def test_change_to_a_plan_needing_approval_keeps_the_old_one_until_approved(h):
    dev, free, _, partner = setup(h)
    key = h.create_key(dev)["key"]
    sub = h.subscribe(dev, free["id"])

    request = h.ok("POST", f"/v1/me/subscriptions/{sub['id']}/change-plan",
                   json={"plan_id": partner["id"]}, headers=dev.headers)

    assert request["status"] == "pending" and request["id"] != sub["id"]
    assert live(h, dev) == {free["id"]: "active", partner["id"]: "pending"}
    assert h.through_gateway(key) == 200  # still on Free

    h.admin("POST", f"/v1/admin/subscriptions/{request['id']}/approve")

    assert live(h, dev) == {partner["id"]: "active"}
    cancelled = h.admin("GET", "/v1/admin/audit?action=subscription.cancel")["items"][0]
    assert cancelled["target_id"] == sub["id"] and request["id"] in cancelled["note"]


def test_a_rejected_request_leaves_the_old_plan_in_place(h):
    dev, free, _, partner = setup(h)
    sub = h.subscribe(dev, free["id"])
    request = h.ok("POST", f"/v1/me/subscriptions/{sub['id']}/change-plan",
                   json={"plan_id": partner["id"]}, headers=dev.headers)

    h.admin("POST", f"/v1/admin/subscriptions/{request['id']}/reject")

    assert live(h, dev) == {free["id"]: "active"}


def test_change_plan_refusals(h):
    dev, free, pro, _ = setup(h)
    sub = h.subscribe(dev, free["id"])
    url = f"/v1/me/subscriptions/{sub['id']}/change-plan"

    unknown = h.client.post(url, json={"plan_id": "pln_nope"}, headers=dev.headers)
    assert unknown.status_code == 422
    assert h.client.post("/v1/me/subscriptions/sub_nope/change-plan",
                         json={"plan_id": pro["id"]}, headers=dev.headers).status_code == 404
    h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/suspend", json={"reason": "x"})
    assert h.client.post(url, json={"plan_id": pro["id"]},
                         headers=dev.headers).status_code == 403
    h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/resume", json={"reason": ""})
    h.ok("DELETE", f"/v1/me/subscriptions/{sub['id']}", headers=dev.headers)
    assert h.client.post(url, json={"plan_id": pro["id"]},
                         headers=dev.headers).status_code == 409
    assert h.client.post(url, json={"plan_id": pro["id"]}, headers=ADMIN).status_code in (401,
                                                                                          403)
