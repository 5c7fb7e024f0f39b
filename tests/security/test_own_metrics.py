"""My analytics and my keys' "last used" come from my own metering only: developer B
never sees A's numbers, and neither route takes a consumer to read."""

from shared.core.models import UsageEvent
from shared.metering.analytics import record_all
from tests.security.routes import DOC


def test_b_never_sees_as_latency_or_counts(sec, pair):
    # A's calls are slow and failing; B's (from the pair's setup) fast and fine.
    record_all(sec.store, [UsageEvent(f"slow-{i}", sec.clock.now(), pair.a.dev.consumer_id,
                                      pair.a.key_id, "api_demo", "/*", "GET", 503, 1, 1,
                                      5000.0) for i in range(50)])

    a = sec.ok("GET", "/v1/me/analytics", headers=pair.a.dev.headers)
    b = sec.ok("GET", "/v1/me/analytics", headers=pair.b.dev.headers)

    assert b["consumer_id"] == pair.b.dev.consumer_id
    assert [(r["requests"], r["errors"]) for r in b["apis"]] == [(pair.b.requests, 0)]
    assert b["apis"][0]["p99_ms"] < 10  # B's own 1 ms calls, none of A's 5 s
    assert [(r["requests"], r["errors"]) for r in a["apis"]] == [(pair.a.requests + 50, 50)]
    assert pair.a.dev.consumer_id not in str(b)


def test_a_query_for_another_consumer_is_refused_422(sec, pair):
    asked = sec.client.get(f"/v1/me/analytics?consumer_id={pair.a.dev.consumer_id}",
                           headers=pair.b.dev.headers)

    assert asked.status_code == 422
    assert "Unknown query parameter 'consumer_id'" in asked.json()["detail"]


def test_last_used_shows_only_my_keys_use(sec, pair):
    keys = sec.ok("GET", "/v1/me/keys", headers=pair.b.dev.headers)["items"]

    used = {k["id"] for k in keys if k["last_used_at"]}
    assert used == {pair.b.key_id}  # the pair's setup metered B's calls with that key
    assert pair.a.key_id not in str(keys)


def test_the_routes_take_no_consumer_parameter():
    for path in ("/v1/me/analytics", "/v1/me/keys"):
        names = {p["name"] for p in DOC["paths"][path]["get"].get("parameters", [])}
        assert not names & {"consumer_id", "account_id"}, path
