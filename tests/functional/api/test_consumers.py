"""Consumers: admin listing, suspension (effective at the gateway), accounts and roles."""

from tests.functional.api.harness import ADMIN, PASSWORD


def test_admin_lists_consumers_a_page_at_a_time_200(h):
    made = {h.signup().consumer_id for _ in range(3)}

    first = h.admin("GET", "/v1/admin/consumers?limit=2")
    rest = h.admin("GET", f"/v1/admin/consumers?limit=2&cursor={first['next_cursor']}")

    assert {c["id"] for c in first["items"] + rest["items"]} == made
    assert rest["next_cursor"] is None


def test_suspension_takes_effect_at_the_gateway_within_the_ttl_and_resume_lifts_it_200(h):
    world = h.world()
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    assert h.through_gateway(key) == 200

    suspended = h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/suspend",
                        json={"reason": "card declined"})

    assert suspended["status"] == "suspended"
    h.after_cache_ttl()
    assert h.through_gateway(key) == 403
    only = h.admin("GET", "/v1/admin/consumers?status=suspended")["items"]
    assert [c["id"] for c in only] == [dev.consumer_id]
    h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/resume")
    h.after_cache_ttl()
    assert h.through_gateway(key) == 200
    audit = h.admin("GET", f"/v1/admin/audit?target_id={dev.consumer_id}")["items"]
    assert [(e["action"], e["note"]) for e in audit][-1] == ("consumer.suspend", "card declined")


def test_suspend_an_unknown_consumer_404(h):
    assert h.client.post("/v1/admin/consumers/con_nope/suspend",
                         headers=ADMIN).status_code == 404


def test_developer_renames_their_consumer_200(h):
    dev = h.signup()

    me = h.ok("PATCH", "/v1/me", json={"name": "Acme Ltd"}, headers=dev.headers)

    assert me["consumer"]["name"] == "Acme Ltd"
    assert h.admin("GET", f"/v1/admin/consumers/{dev.consumer_id}")["name"] == "Acme Ltd"


def test_admin_token_has_no_developer_account_403(h):
    assert h.client.get("/v1/me", headers=ADMIN).status_code == 403


def test_promoted_account_gets_the_admin_role_in_its_next_session_200(h):
    dev = h.signup("ops@example.com")
    assert h.client.get("/v1/admin/consumers", headers=dev.headers).status_code == 403

    h.admin("PUT", f"/v1/admin/accounts/{dev.account_id}/role", json={"role": "admin"})
    session = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})

    assert session["role"] == "admin"
    as_admin = {"Authorization": f"Bearer {session['access_token']}"}
    h.ok("GET", "/v1/admin/consumers", headers=as_admin)
    entry = h.ok("GET", "/v1/admin/audit?action=account.role", headers=as_admin)["items"][0]
    assert entry["actor"] == "admin-token"
    assert (entry["before"]["role"], entry["after"]["role"]) == ("developer", "admin")


def test_withdrawn_admin_role_applies_at_once_to_existing_sessions_403(h):
    dev = h.signup("ex-ops@example.com")
    h.admin("PUT", f"/v1/admin/accounts/{dev.account_id}/role", json={"role": "admin"})
    session = h.ok("POST", "/v1/auth/login", json={"email": dev.email, "password": PASSWORD})
    as_admin = {"Authorization": f"Bearer {session['access_token']}"}

    h.admin("PUT", f"/v1/admin/accounts/{dev.account_id}/role", json={"role": "developer"})

    assert h.client.get("/v1/admin/consumers", headers=as_admin).status_code == 403
    assert h.client.get("/v1/me", headers=as_admin).status_code == 200


def test_admin_lists_accounts_without_password_hashes_200(h):
    h.signup()

    accounts = h.admin("GET", "/v1/admin/accounts")["items"]

    assert set(accounts[0]) == {"id", "email", "role", "consumer_id", "created_at"}
