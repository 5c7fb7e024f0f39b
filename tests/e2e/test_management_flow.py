"""The management API and the gateway together, through the running local stack:
"management decides, the gateway acts" within the cache TTL (1 s here)."""

from __future__ import annotations

import time

import pytest

from tests.servers import client, local_stack

pytestmark = pytest.mark.slow
TTL = 1.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("mgmt") / "data", cache_ttl=TTL) as state:
        yield state


def eventually(check, timeout: float = TTL + 3.0):
    """Poll ``check`` until it returns truthy; the bound is the cache TTL plus slack."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_signup_key_subscribe_call_usage_rotate_revoke_and_plan_change(stack):
    mgmt, gw = stack["management_url"], stack["gateway_url"]
    url = f"{gw}/demo/v2/echo/e2e"
    admin = {"Authorization": f"Bearer {stack['admin_token']}"}
    with client() as c:
        # sign up
        r = c.post(
            f"{mgmt}/v1/auth/signup",
            json={"email": "dev@example.com", "password": "correct horse battery"},
        )
        assert r.status_code == 201, r.text
        session = r.json()
        dev = {"Authorization": f"Bearer {session['access_token']}"}
        consumer_id = session["consumer_id"]

        # create a key (plaintext once) and subscribe to the pro plan
        r = c.post(f"{mgmt}/v1/me/keys", json={"name": "laptop"}, headers=dev)
        assert r.status_code == 201, r.text
        key1, key1_id = r.json()["key"], r.json()["id"]
        assert key1 not in c.get(f"{mgmt}/v1/me/keys", headers=dev).text
        # without a subscription the key is valid but grants nothing
        assert eventually(lambda: c.get(url, headers={"X-Api-Key": key1}).status_code == 403)
        r = c.post(f"{mgmt}/v1/me/subscriptions", json={"plan_id": "pro"}, headers=dev)
        assert r.status_code == 201 and r.json()["status"] == "active", r.text
        sub_id = r.json()["id"]

        # call the gateway
        assert eventually(lambda: c.get(url, headers={"X-Api-Key": key1}).status_code == 200)
        r = c.get(url, headers={"X-Api-Key": key1})
        assert '"per-second";q=50' in r.headers["ratelimit-policy"]

        # the call shows in my usage (aggregated off the request path)
        def usage_requests():
            u = c.get(f"{mgmt}/v1/me/usage", params={"granularity": "hour"}, headers=dev)
            assert u.status_code == 200, u.text
            return u.json()["total"]["requests"]

        assert eventually(lambda: usage_requests() >= 2)

        # rotate with a short grace: both keys work, then only the new one
        r = c.post(f"{mgmt}/v1/me/keys/{key1_id}/rotate", json={"grace_seconds": 3}, headers=dev)
        assert r.status_code == 201, r.text
        key2, key2_id = r.json()["key"], r.json()["id"]
        assert eventually(lambda: c.get(url, headers={"X-Api-Key": key2}).status_code == 200)
        assert c.get(url, headers={"X-Api-Key": key1}).status_code == 200
        assert eventually(
            lambda: c.get(url, headers={"X-Api-Key": key1}).status_code == 401, timeout=3 + TTL + 3
        )
        assert c.get(url, headers={"X-Api-Key": key2}).status_code == 200

        # an admin moves the consumer to the free plan: the gateway enforces its limits
        r = c.patch(
            f"{mgmt}/v1/admin/consumers/{consumer_id}/subscriptions/{sub_id}",
            json={"plan_id": "free"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert eventually(
            lambda: (
                '"per-second";q=2;'
                in c.get(url, headers={"X-Api-Key": key2}).headers.get("ratelimit-policy", "")
            )
        )

        # revoke: 401 within the cache TTL
        r = c.delete(f"{mgmt}/v1/me/keys/{key2_id}", headers=dev)
        assert r.status_code == 200 and r.json()["state"] == "revoked"
        revoked_at = time.monotonic()
        assert eventually(lambda: c.get(url, headers={"X-Api-Key": key2}).status_code == 401)
        assert time.monotonic() - revoked_at <= TTL + 3.0

        # the audit log saw the key actions
        r = c.get(f"{mgmt}/v1/admin/audit", params={"consumer_id": consumer_id}, headers=admin)
        assert r.status_code == 200
        actions = {e["action"] for e in r.json()["items"]}
        assert {"key.create", "key.rotate", "key.revoke"} <= actions, actions


def test_suspension_takes_effect_at_the_gateway(stack):
    mgmt, admin = stack["management_url"], {"Authorization": f"Bearer {stack['admin_token']}"}
    with client() as c:
        r = c.post(f"{mgmt}/v1/admin/consumers/con_demo/suspend", json={}, headers=admin)
        assert r.status_code == 200, r.text
        demo = {"X-Api-Key": stack["demo_key"]}
        assert eventually(lambda: c.get(stack["demo_url"], headers=demo).status_code == 403)
        c.post(f"{mgmt}/v1/admin/consumers/con_demo/resume", json={}, headers=admin)
        assert eventually(lambda: c.get(stack["demo_url"], headers=demo).status_code != 403)
