"""Policy limits (route, plan, consumer) on their own path: what a refusal carries, and a
store that fails only for them (enforced limits fail closed, shadow limits never deny)."""

from __future__ import annotations

from shared.ports import StoreUnavailable
from tests.functional.test_gateway_policies import _send, _world


class _PolicyBucketsDown:
    """The world's store, except that every hit on a policy bucket (``POL#``) fails."""

    def __init__(self, store: object) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def hit(self, bucket, slots, guards, cost):
        if bucket.startswith("POL#"):
            raise StoreUnavailable("policy buckets are down")
        return self._store.hit(bucket, slots, guards, cost)


def test_429_a_policy_limit_answers_with_its_own_ratelimit_and_retry_after():
    w, _, _ = _world(route_policies={"limits": [{"by": "header", "header": "X-Tenant",
                                                 "rate_per_minute": 1}]})
    assert _send(w, headers=[("x-tenant", "t1")]).status == 200
    refused = _send(w, headers=[("x-tenant", "t1")])
    assert refused.status == 429
    assert refused.headers["RateLimit-Policy"] == '"per-minute";q=1;w=60'
    reset = refused.headers["RateLimit"].removeprefix('"per-minute";r=0;t=')
    assert reset.isdigit() and refused.headers["Retry-After"] == reset


def test_503_an_enforced_policy_limit_fails_closed_a_shadow_one_passes():
    for shadow, status in ((False, 503), (True, 200)):
        w, _, _ = _world(route_policies={"limits": [{"by": "consumer", "rate_per_minute": 5,
                                                     "shadow": shadow}]})
        w.gateway.limiter.store = _PolicyBucketsDown(w.gateway.limiter.store)  # type: ignore[assignment]
        resp = _send(w)
        assert resp.status == status
        if status == 503:
            assert resp.headers["Retry-After"] == "1"
        else:
            assert "X-Tollway-Shadow" not in resp.headers
