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
