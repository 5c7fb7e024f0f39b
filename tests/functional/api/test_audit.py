"""The audit log: who, what, when, before and after; newest first; filters; pages."""

from tests.functional.api.harness import ADMIN


def test_admin_actions_are_recorded_with_before_and_after_200(h):
    h.create_api()
    plan = h.create_plan(rate_per_minute=5)
    h.clock.advance(1)
    h.admin("PATCH", f"/v1/admin/plans/{plan['id']}", json={"rate_per_minute": 10})

    latest = h.admin("GET", "/v1/admin/audit?limit=1")

    entry = latest["items"][0]
    assert entry["action"] == "plan.update"
    assert (entry["actor"], entry["actor_role"]) == ("admin-token", "admin")
    assert entry["at"] == "2026-01-01T00:00:01Z"
    assert (entry["before"]["rate_per_minute"], entry["after"]["rate_per_minute"]) == (5, 10)
    assert latest["next_cursor"] is not None


def test_audit_snapshots_show_times_as_iso_8601_utc_like_the_rest_200(h):
    dev = h.signup()
    h.create_key(dev)

    entry = h.admin("GET", "/v1/admin/audit?action=key.create&limit=1")["items"][0]

    assert entry["action"] == "key.create"
    assert entry["after"]["created_at"] == entry["at"] == "2026-01-01T00:00:00Z"
    assert entry["after"]["expires_at"] is None


def test_audit_log_pages_newest_first_without_repeats_200(h):
    for n in range(5):
        h.create_api(f"api{n}")
        h.clock.advance(1)

    first = h.admin("GET", "/v1/admin/audit?limit=3")
    second = h.admin("GET", f"/v1/admin/audit?limit=3&cursor={first['next_cursor']}")

    names = [e["after"]["name"] for e in first["items"] + second["items"]]
    assert names == ["api4", "api3", "api2", "api1", "api0"]
    assert second["next_cursor"] is None


def test_audit_log_filters_by_actor_and_consumer_200(h):
    dev = h.signup()
    h.create_key(dev)
    h.create_api()

    mine = h.admin("GET", f"/v1/admin/audit?consumer_id={dev.consumer_id}")["items"]
    by_admin = h.admin("GET", "/v1/admin/audit?actor=admin-token")["items"]

    assert {e["action"] for e in mine} == {"account.create", "key.create"}
    assert [e["action"] for e in by_admin] == ["api.create"]


def test_audit_log_is_for_admins_only_403(h):
    dev = h.signup()

    assert h.client.get("/v1/admin/audit", headers=dev.headers).status_code == 403
    assert h.client.get("/v1/admin/audit").status_code == 401
    assert h.client.get("/v1/admin/audit", headers=ADMIN).status_code == 200


def test_every_admin_write_route_is_audited_with_the_admin_as_actor(h):
    """Covers every non-GET admin route in the OpenAPI document: a new one fails here until
    it is added (and audited)."""
    spare = h.create_api("spare")["id"]
    dev = h.signup()
    approval = h.create_plan("Partner", apis=(), requires_approval=True)
    pending = h.subscribe(dev, approval["id"])
    other = h.subscribe(dev, h.create_plan("Other", apis=())["id"])
    done: dict[tuple[str, str], str] = {}

    def step(method, template, action, status=200, body=None, **ids):
        kwargs = {} if body is None else {"json": body}
        h.admin(method, template.format(**ids), status=status, **kwargs)
        done[(method, template.split("?")[0])] = action

    api = h.create_api()
    step("POST", "/v1/admin/apis", "api.create", 201,
         body={"name": "new", "version": "v1", "base_path": "/new/v1",
               "upstreams": [{"url": "http://u.test"}]})
    step("PATCH", "/v1/admin/apis/{api_id}", "api.update", api_id=api["id"],
         body={"description": "changed"})
    step("PUT", "/v1/admin/apis/{api_id}/openapi", "api.openapi", api_id=api["id"],
         body={"openapi": "3.1.0", "info": {"title": "t", "version": "1"}})
    step("POST", "/v1/admin/apis/{api_id}/lifecycle", "api.published", api_id=api["id"],
         body={"state": "published"})
    step("DELETE", "/v1/admin/apis/{api_id}", "api.delete", 204, api_id=spare)
    step("POST", "/v1/admin/plans", "plan.create", 201, body={"name": "Gold"})
    plan = h.admin("GET", "/v1/admin/plans")["items"]
    gold = next(p["id"] for p in plan if p["name"] == "Gold")
    step("PATCH", "/v1/admin/plans/{plan_id}", "plan.update", plan_id=gold,
         body={"rate_per_second": 9})
    step("POST", "/v1/admin/plans/{plan_id}/retire", "plan.retire", plan_id=gold)
    step("DELETE", "/v1/admin/plans/{plan_id}", "plan.delete", 204, plan_id=gold)
    cid = dev.consumer_id
    step("POST", "/v1/admin/consumers/{consumer_id}/suspend", "consumer.suspend",
         consumer_id=cid, body={"reason": "x"})
    step("POST", "/v1/admin/consumers/{consumer_id}/resume", "consumer.resume",
         consumer_id=cid)
    step("PUT", "/v1/admin/consumers/{consumer_id}/policies", "consumer.policies",
         consumer_id=cid, body={"ip": {"deny": ["203.0.113.0/24"]}})
    free = h.create_plan("Free2", apis=())
    step("POST", "/v1/admin/consumers/{consumer_id}/subscriptions", "subscription.create", 201,
         consumer_id=cid, body={"plan_id": free["id"]})
    step("PATCH", "/v1/admin/consumers/{consumer_id}/subscriptions/{subscription_id}",
         "subscription.update", consumer_id=cid, subscription_id=other["id"],
         body={"overrides": {"quota_per_day": 5}})
    step("DELETE", "/v1/admin/consumers/{consumer_id}/subscriptions/{subscription_id}",
         "subscription.cancel", consumer_id=cid, subscription_id=other["id"])
    step("POST", "/v1/admin/subscriptions/{subscription_id}/approve", "subscription.approve",
         subscription_id=pending["id"])
    again = h.subscribe(h.signup(), approval["id"])
    step("POST", "/v1/admin/subscriptions/{subscription_id}/reject", "subscription.reject",
         subscription_id=again["id"])
    step("PUT", "/v1/admin/accounts/{account_id}/role", "account.role",
         account_id=dev.account_id, body={"role": "admin"})
    step("POST", "/v1/admin/billing/{consumer_id}/close?period=2025-12", "statement.close",
         consumer_id=cid)
    step("POST", "/v1/admin/notifications/run", "notification.run")
    h.admin("POST", f"/v1/admin/apis/{api['id']}/lifecycle",
            json={"state": "deprecated", "sunset_at": "2026-06-30T00:00:00Z"})
    step("POST", "/v1/admin/notifications/deprecation?api_id={api_id}",
         "notification.deprecation", api_id=api["id"])


    class Accepting:  # an export target that takes every batch
        name = "openmeter"

        def send(self, events):
            pass

    h.app.state.exporter = Accepting()
    step("POST", "/v1/admin/billing/export", "usage.export")

    admin_writes = {(m.upper(), p) for p, ops in h.app.openapi()["paths"].items()
                    for m in ops if p.startswith("/v1/admin/") and m != "get"}
    assert set(done) == admin_writes
    logged = {e["action"] for e in h.admin(
        "GET", "/v1/admin/audit?actor=admin-token&limit=100")["items"]}
    assert set(done.values()) <= logged
