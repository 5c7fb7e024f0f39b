"""Keys: shown once, listed by hint, rotated with a grace period, revoked, capped."""

import hashlib

from shared.management import records


def ready(h):
    """A developer subscribed to a plan granting the published API 'demo' v1."""
    world = h.world()
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])
    return dev


def test_create_key_returns_plaintext_once_201(h):
    dev = h.signup()

    created = h.create_key(dev, "billing-service")

    assert set(created) == {"id", "name", "hint", "state", "created_at", "expires_at",
                            "last_used_at", "key"}
    assert created["key"].startswith(h.settings.key_prefix + "_")
    assert created["hint"].endswith(created["key"][-4:]) and created["state"] == "active"
    listed = h.ok("GET", "/v1/me/keys", headers=dev.headers)["items"]
    one = h.ok("GET", f"/v1/me/keys/{created['id']}", headers=dev.headers)
    assert listed == [one]
    assert set(one) == {"id", "name", "hint", "state", "created_at", "expires_at",
                        "last_used_at"}


def test_created_key_is_stored_only_as_its_sha256_201(h):
    dev = h.signup()
    key = h.create_key(dev)["key"]

    dump = repr(h.store._items)

    assert key not in dump
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert records.key_by_hash(h.store, digest).consumer_id == dev.consumer_id


def test_created_key_is_accepted_at_the_gateway_200(h):
    dev = ready(h)

    key = h.create_key(dev)["key"]

    assert h.through_gateway(key) == 200


def test_create_key_with_expiry_sets_expires_at_201(h):
    dev = h.signup()

    created = h.ok("POST", "/v1/me/keys", json={"name": "ci", "expires_in_days": 30},
                   headers=dev.headers, status=201)

    assert created["expires_at"] == "2026-01-31T00:00:00Z"


def test_create_key_beyond_the_per_consumer_cap_409(h):
    dev = h.signup()
    for n in range(h.settings.max_keys_per_consumer):
        h.create_key(dev, f"k{n}")

    resp = h.client.post("/v1/me/keys", json={"name": "one too many"}, headers=dev.headers)

    assert resp.status_code == 409
    assert "Revoke one" in resp.json()["detail"]


def test_revoked_keys_do_not_count_toward_the_cap_201(h):
    dev = h.signup()
    ids = [h.create_key(dev, f"k{n}")["id"] for n in range(h.settings.max_keys_per_consumer)]
    h.ok("DELETE", f"/v1/me/keys/{ids[0]}", headers=dev.headers)

    h.create_key(dev, "replacement")


def test_list_keys_pages_with_a_cursor_200(h):
    dev = h.signup()
    made = {h.create_key(dev, f"k{n}")["id"] for n in range(5)}

    first = h.ok("GET", "/v1/me/keys?limit=2", headers=dev.headers)
    second = h.ok("GET", f"/v1/me/keys?limit=2&cursor={first['next_cursor']}", headers=dev.headers)
    third = h.ok("GET", f"/v1/me/keys?limit=2&cursor={second['next_cursor']}", headers=dev.headers)

    seen = [k["id"] for page in (first, second, third) for k in page["items"]]
    assert len(seen) == 5 and set(seen) == made
    assert third["next_cursor"] is None


def test_page_size_above_the_maximum_422(h):
    dev = h.signup()

    resp = h.client.get("/v1/me/keys?limit=101", headers=dev.headers)

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "query.limit"


def test_unknown_key_404(h):
    dev = h.signup()

    assert h.client.get("/v1/me/keys/key_nope", headers=dev.headers).status_code == 404


def test_rotate_key_both_work_during_the_grace_period_then_only_the_new_one_201(h):
    dev = ready(h)
    old = h.create_key(dev)

    rotated = h.ok("POST", f"/v1/me/keys/{old['id']}/rotate", json={"grace_seconds": 600},
                   headers=dev.headers, status=201)

    assert rotated["key"] != old["key"] and rotated["name"] == old["name"]
    assert rotated["previous"]["id"] == old["id"]
    assert rotated["previous"]["expires_at"] == "2026-01-01T00:10:00Z"
    assert "key" not in rotated["previous"]
    assert h.through_gateway(old["key"]) == 200
    assert h.through_gateway(rotated["key"]) == 200
    h.clock.advance(600)
    h.after_cache_ttl()
    assert h.through_gateway(old["key"]) == 401
    assert h.through_gateway(rotated["key"]) == 200
    state = h.ok("GET", f"/v1/me/keys/{old['id']}", headers=dev.headers)["state"]
    assert state == "expired"


def test_rotate_without_a_body_uses_a_24_hour_grace_201(h):
    dev = h.signup()
    old = h.create_key(dev)

    rotated = h.ok("POST", f"/v1/me/keys/{old['id']}/rotate", headers=dev.headers, status=201)

    assert rotated["previous"]["expires_at"] == "2026-01-02T00:00:00Z"


def test_rotate_with_a_grace_above_seven_days_422(h):
    dev = h.signup()
    old = h.create_key(dev)

    resp = h.client.post(f"/v1/me/keys/{old['id']}/rotate", json={"grace_seconds": 7 * 86400 + 1},
                         headers=dev.headers)

    assert resp.status_code == 422


def test_rotate_a_revoked_key_409(h):
    dev = h.signup()
    old = h.create_key(dev)
    h.ok("DELETE", f"/v1/me/keys/{old['id']}", headers=dev.headers)

    resp = h.client.post(f"/v1/me/keys/{old['id']}/rotate", headers=dev.headers)

    assert resp.status_code == 409


def test_revoke_key_200_and_the_gateway_refuses_it_within_the_cache_ttl(h):
    dev = ready(h)
    key = h.create_key(dev)
    assert h.through_gateway(key["key"]) == 200

    revoked = h.ok("DELETE", f"/v1/me/keys/{key['id']}", headers=dev.headers)

    assert revoked["state"] == "revoked"
    h.after_cache_ttl()
    assert h.through_gateway(key["key"]) == 401


def test_revoke_twice_is_harmless_200(h):
    dev = h.signup()
    key = h.create_key(dev)
    h.ok("DELETE", f"/v1/me/keys/{key['id']}", headers=dev.headers)

    assert h.ok("DELETE", f"/v1/me/keys/{key['id']}", headers=dev.headers)["state"] == "revoked"


def test_suspended_consumer_cannot_create_keys_403(h):
    dev = h.signup()
    h.admin("POST", f"/v1/admin/consumers/{dev.consumer_id}/suspend", json={"reason": "abuse"})

    resp = h.client.post("/v1/me/keys", json={"name": "x"}, headers=dev.headers)

    assert resp.status_code == 403


def test_every_key_action_is_audited_with_the_developer_as_actor_200(h):
    dev = h.signup()
    key = h.create_key(dev)
    h.ok("POST", f"/v1/me/keys/{key['id']}/rotate", headers=dev.headers, status=201)
    h.ok("DELETE", f"/v1/me/keys/{key['id']}", headers=dev.headers)

    entries = h.admin("GET", "/v1/admin/audit?action=key")["items"]

    assert sorted(e["action"] for e in entries) == ["key.create", "key.revoke", "key.rotate"]
    assert {e["actor"] for e in entries} == {dev.account_id}
    assert all(e["consumer_id"] == dev.consumer_id for e in entries)
    revoke = next(e for e in entries if e["action"] == "key.revoke")
    assert (revoke["before"]["state"], revoke["after"]["state"]) == ("active", "revoked")
