"""`tollway local` as a newcomer runs it: a subprocess on free ports, driven over HTTP."""

from __future__ import annotations

import hashlib
import re
import socket
import stat
import time

import pytest

from tests.servers import client, local_stack

pytestmark = pytest.mark.slow


def day_remaining(resp) -> int:
    m = re.search(r'"per-day";r=(\d+)', resp.headers["ratelimit"])
    assert m, resp.headers["ratelimit"]
    return int(m.group(1))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("stack") / "data"
    with local_stack(data) as state:
        state["data_dir"] = data
        yield state


def test_local_json_has_the_fields_scripts_need_and_is_private(stack):
    for field in (
        "gateway_url",
        "management_url",
        "portal_url",
        "admin_token",
        "demo_key",
        "demo_url",
    ):
        assert stack[field], field
    mode = stat.S_IMODE((stack["data_dir"] / "local.json").stat().st_mode)
    assert mode == 0o600


def test_demo_key_gets_200_with_ratelimit_headers_then_429_with_retry_after(stack):
    with client() as c:
        seen = []
        for _ in range(8):  # 2/s: a 429 by the 5th call unless two second boundaries pass
            r = c.get(stack["demo_url"], headers={"X-Api-Key": stack["demo_key"]})
            seen.append(r.status_code)
            if r.status_code == 429:
                break
            assert r.headers["ratelimit-policy"].startswith('"per-second";q=2;w=1')
            assert r.json()["path"] == "/echo/hello"
        assert seen[-1] == 429 and set(seen[:-1]) == {200}
        assert int(r.headers["retry-after"]) == 1
        assert r.headers["content-type"] == "application/problem+json"


def test_wrong_malformed_and_revoked_keys_get_the_same_401(stack):
    from functions.local.seed import issue_demo_key
    from shared.adapters.sqlite import SqliteStore
    from shared.core import keys as keymod
    from shared.core.models import KeyState
    from shared.management import records

    store = SqliteStore(str(stack["data_dir"] / "tollway.db"))
    try:
        revoked = issue_demo_key(store, "tw", time.time())
        rec = records.key_by_hash(store, hashlib.sha256(revoked.encode()).hexdigest())
        import dataclasses

        revoked_record = dataclasses.replace(rec, state=KeyState.REVOKED)
        records.save_unaudited(store, records.key_writes(revoked_record))
    finally:
        store.close()
    bodies = set()
    with client() as c:
        for key in [keymod.generate("tw").plaintext, "tw_garbage", revoked, ""]:
            r = c.get(stack["demo_url"], headers={"X-Api-Key": key})
            assert r.status_code == 401
            bodies.add(r.content)
        r = c.get(stack["demo_url"])
        assert r.status_code == 401
        bodies.add(r.content)
    assert len(bodies) == 1


def test_unknown_path_is_404_and_retired_version_is_410(stack):
    with client() as c:
        h = {"X-Api-Key": stack["demo_key"]}
        assert c.get(stack["gateway_url"] + "/nope", headers=h).status_code == 404
        assert c.get(stack["gateway_url"] + "/demo/v2/nope", headers=h).status_code == 404
        assert c.get(stack["gateway_url"] + "/demo/v0/echo/x", headers=h).status_code == 410


def test_portal_and_management_answer(stack):
    with client() as c:
        assert c.get(stack["portal_url"] + "/").status_code == 200
        cfg = c.get(stack["portal_url"] + "/config.js").text
        assert stack["management_url"] in cfg
        assert c.get(stack["management_url"] + "/healthz").status_code == 200


def test_restart_keeps_keys_and_counters(tmp_path):
    data = tmp_path / "data"
    with local_stack(data) as state, client() as c:
        h = {"X-Api-Key": state["demo_key"]}
        c.get(state["demo_url"], headers=h)
        before = day_remaining(c.get(state["demo_url"], headers=h))
        key = state["demo_key"]
        port = int(state["gateway_url"].rsplit(":", 1)[1])
    # Ctrl-C (SIGINT) stopped every server it started.
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    with local_stack(data) as state, client() as c:
        assert state["demo_key"] == key
        r = c.get(state["demo_url"], headers={"X-Api-Key": key})
        assert r.status_code == 200
        # Same UTC day: the daily quota kept counting across the restart.
        assert day_remaining(r) in (before - 1, 999)
        if time.gmtime().tm_hour or time.gmtime().tm_min:
            assert day_remaining(r) == before - 1
