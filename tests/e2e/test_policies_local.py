"""Management decides, the gateway acts — for policies, through `tollway local` (what
`make run` runs): an admin changes an API's policies over HTTP and the running gateway
enforces the change within its cache TTL, then stops when the policy is cleared. No
restart, no redeploy."""

from __future__ import annotations

import time

import pytest

from tests.servers import client, local_stack

pytestmark = pytest.mark.slow

TTL = 1.0  # the stack's --cache-ttl
BOUND = TTL + 9.0  # the TTL plus generous slack for a busy machine


def _demo_api(c, state) -> dict:
    admin = {"Authorization": f"Bearer {state['admin_token']}"}
    apis = c.get(f"{state['management_url']}/v1/admin/apis", headers=admin).json()["items"]
    path = state["demo_url"].removeprefix(state["gateway_url"])
    return next(a for a in apis if path.startswith(a["base_path"] + "/"))


def _until(c, state, wanted: int) -> tuple[int, float, dict]:
    """Call the demo route (slower than the free plan's 2 a second) until it answers
    ``wanted``; returns (status, seconds waited, last headers)."""
    started = time.monotonic()
    while True:
        r = c.get(state["demo_url"], headers={"X-Api-Key": state["demo_key"]})
        waited = time.monotonic() - started
        if r.status_code == wanted or waited > BOUND:
            return r.status_code, waited, dict(r.headers)
        time.sleep(0.6)


def test_a_policy_set_and_cleared_over_the_management_api_reaches_the_running_gateway(tmp_path):
    with local_stack(tmp_path / "data", cache_ttl=TTL) as state, client() as c:
        admin = {"Authorization": f"Bearer {state['admin_token']}"}
        api = _demo_api(c, state)
        url = f"{state['management_url']}/v1/admin/apis/{api['id']}"
        assert _until(c, state, 200)[0] == 200

        # GIVEN a running gateway WHEN the admin denies the caller's address (loopback)
        r = c.patch(url, headers=admin, json={"policies": {"ip": {"deny": ["127.0.0.0/8"]}}})
        assert r.status_code == 200, r.text
        assert r.json()["policies"]["ip"]["deny"] == ["127.0.0.0/8"]
        # THEN the gateway refuses it within the TTL, with the problem type for IP denials
        status, waited, headers = _until(c, state, 403)
        assert status == 403, f"still {status} after {waited:.1f} s"
        assert headers["content-type"].startswith("application/problem+json")

        # WHEN the admin adds a response header instead (the deny list cleared)
        r = c.patch(url, headers=admin, json={"policies": {"transform": {
            "response_headers": {"set": {"X-Tour": "policies"}}}}})
        assert r.status_code == 200, r.text
        status, waited, headers = _until(c, state, 200)
        assert status == 200, f"still {status} after {waited:.1f} s"
        deadline = time.monotonic() + BOUND
        while headers.get("x-tour") != "policies" and time.monotonic() < deadline:
            status, _, headers = _until(c, state, 200)
        assert headers.get("x-tour") == "policies"

        # WHEN every policy is cleared THEN the header goes within the TTL too
        assert c.patch(url, headers=admin, json={"policies": {}}).status_code == 200
        deadline = time.monotonic() + BOUND
        while "x-tour" in headers and time.monotonic() < deadline:
            status, _, headers = _until(c, state, 200)
        assert status == 200 and "x-tour" not in headers

        # AND each change is in the audit log with the admin as its actor
        entries = c.get(f"{state['management_url']}/v1/admin/audit?limit=100",
                        headers=admin).json()["items"]
        updates = [e for e in entries if e["action"] == "api.update"
                   and e["target_id"] == api["id"]]
        assert len(updates) >= 3
