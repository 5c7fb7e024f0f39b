"""No response, log line or error ever contains a plaintext key after its creation, or
any key hash. The ``sec`` fixture checks this after every test of this suite; the tests
here drive every route that touches keys, and prove that the check itself bites."""

import hashlib
import logging

from tests.functional.api.harness import ADMIN
from tests.security.conftest import Seen, issued_plaintexts, leaks
from tests.security.routes import OPERATIONS, fill


def test_key_lifecycle_through_every_route_shows_each_plaintext_once(sec, pair, recorder):
    dev = pair.a.dev
    created = sec.create_key(dev, "scan")
    rotated = sec.ok("POST", f"/v1/me/keys/{created['id']}/rotate", headers=dev.headers,
                     status=201)
    sec.ok("DELETE", f"/v1/me/keys/{rotated['id']}", headers=dev.headers)
    sec.ok("DELETE", f"/v1/me/keys/{rotated['id']}", headers=dev.headers)
    bad = sec.client.post(f"/v1/me/keys/{rotated['id']}/rotate", headers=dev.headers)
    assert bad.status_code == 409
    sec.create_key(dev)  # the fifth live key: main, old (in grace), its successor, created
    over = sec.client.post("/v1/me/keys", json={"name": "over"}, headers=dev.headers)
    assert over.status_code == 409

    # every GET route, as the developer and as the admin, sees the aftermath
    for method, path, _ in OPERATIONS:
        if method == "GET":
            values = {"key_id": created["id"], "subscription_id": pair.a.subscription_id,
                      "consumer_id": dev.consumer_id, "account_id": dev.account_id}
            sec.client.get(fill(path, values), headers=dev.headers)
            sec.client.get(fill(path, values) + f"?consumer_id={dev.consumer_id}",
                           headers=ADMIN)

    plaintexts = issued_plaintexts(recorder.seen)
    assert created["key"] in plaintexts and rotated["key"] in plaintexts
    assert len(plaintexts) >= 8  # pair setup + this test
    audit = sec.admin("GET", "/v1/admin/audit?action=key&limit=100")["items"]
    assert {"key.create", "key.rotate", "key.revoke"} <= {e["action"] for e in audit}
    # the sec fixture's teardown scans all recorded responses and logs


def test_a_plaintext_key_is_never_logged_even_when_a_request_fails(sec, pair, caplog):
    caplog.set_level(logging.DEBUG)
    key = sec.create_key(pair.a.dev)["key"]

    too_long = sec.client.post("/v1/me/keys", json={"name": key * 4}, headers=pair.a.dev.headers)
    bad_json = sec.client.post("/v1/me/keys", content=f'{{"name": "{key}"',
                               headers={**pair.a.dev.headers, "content-type": "application/json"})

    assert (too_long.status_code, bad_json.status_code) == (422, 400)
    assert key not in caplog.text


def test_the_leak_check_finds_a_second_showing_of_a_plaintext():
    key = "tw_" + "A" * 28
    seen = [Seen("POST", "/v1/me/keys", 201, f'h: v\n\n{{"key": "{key}"}}'),
            Seen("GET", "/v1/me/keys", 200, f'h: v\n\n{{"items": ["{key}"]}}')]

    assert leaks(seen, "", set()) == ["plaintext key in response 1 (GET /v1/me/keys 200)"]


def test_the_leak_check_finds_a_hash_in_a_response_or_a_log_line():
    key = "tw_" + "B" * 28
    digest = hashlib.sha256(key.encode()).hexdigest()
    seen = [Seen("POST", "/v1/me/keys", 201, f'h: v\n\n{{"key": "{key}"}}'),
            Seen("GET", "/v1/admin/audit", 200, f"h: v\n\n{digest}")]

    found = leaks(seen, f"log {digest}", set())

    assert found == ["key hash in response 1 (GET /v1/admin/audit)", "key hash in logs"]
