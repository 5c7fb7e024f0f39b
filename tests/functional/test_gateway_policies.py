"""Gateway policies end to end over the memory store, named by the outcome they prove.

Each test sets policies on the published ``demo`` v2 (or one of its routes) straight in
the store, then sends requests through ``Gateway.handle`` with the manual clock."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from shared.core.models import Route, Upstream
from shared.core.policy import parse
from shared.core.request import GatewayRequest
from shared.management import records
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse
from tests.functional.conftest import World, catalog, make_world

ORIGIN = "https://app.example.com"


class Upstreams:
    """Answers per upstream host: ``down`` hosts fail; every request is kept."""

    def __init__(self) -> None:
        self.requests: list[UpstreamRequest] = []
        self.down: set[str] = set()
        self.headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
        self.status = 200

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        self.requests.append(request)
        host = request.url.split("/")[2]
        if host in self.down:
            raise UpstreamFailure(f"{host} refused the connection")
        body = json.dumps({"url": request.url, "n": len(self.requests)}).encode()
        return UpstreamResponse(self.status, self.headers, body)

    def hosts(self) -> Counter[str]:
        return Counter(r.url.split("/")[2] for r in self.requests)


class Counts:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, name: str, value: float = 1.0) -> None:
        self.counts[name] += int(value)

    def timing(self, name: str, milliseconds: float) -> None:
        pass


def _world(api_policies=None, route_policies=None, *, upstreams=None,
           routes=None) -> tuple[World, Upstreams, Counts]:
    w = make_world()
    up, metrics = Upstreams(), Counts()
    w.gateway.upstream = w.upstream = up  # type: ignore[assignment]
    w.gateway.metrics = w.gateway.policies.metrics = metrics  # type: ignore[assignment]
    v2 = next(a for a in catalog() if a.id == "demo-v2")
    rts = routes or (
        Route("GET", "/echo/*", (), parse(route_policies)),
        Route("POST", "/echo/*"),
        Route("GET", "/public/*", (), parse({"anonymous": {"rate_per_minute": 2}})),
    )
    api = dataclasses.replace(v2, routes=rts, policies=parse(api_policies),
                              upstreams=upstreams or v2.upstreams)
    records.save_unaudited(w.store, [records.put_api_write(api)])
    return w, up, metrics


def _send(w: World, path="/demo/v2/echo/hi", *, key: str | None = "a", method="GET",
          headers=(), body=b"", ip="192.0.2.10", query="", rid=""):
    h = list(headers)
    if key is not None:
        h.append(("x-api-key", w.keys[key]))
    return w.gateway.handle(GatewayRequest(method, path, query, tuple(h), body, source_ip=ip,
                                           request_id=rid))


# --- no policies -------------------------------------------------------------------------------


def test_200_a_route_without_policies_carries_none():
    w, _, _ = _world()
    v = w.gateway.decide(GatewayRequest("POST", "/demo/v2/echo/x", "",
                                        (("x-api-key", w.keys["a"]),)))
    assert v.policy is None


# --- transforms --------------------------------------------------------------------------------


def test_200_request_and_response_transforms():
    w, up, _ = _world(route_policies={"transform": {
        "request_headers": {"set": {"X-Env": "prod"}, "remove": ["X-Debug"],
                            "rename": {"X-Old": "X-New"}},
        "response_headers": {"set": {"X-Served-By": "tollway"}, "remove": ["Content-Type"]},
        "strip_prefix": "/echo", "add_prefix": "/v2/api",
        "query_remove": ["debug"], "query_set": {"src": "gw"},
    }})
    resp = _send(w, "/demo/v2/echo/items", query="a=1&debug=yes",
                 headers=[("x-debug", "1"), ("x-old", "o"), ("x-env", "dev")])
    assert resp.status == 200
    (sent,) = up.requests
    assert sent.url == "http://upstream.test/v2/api/items?a=1&src=gw"
    names = dict(sent.headers)
    assert names["x-env"] == "prod" and names["x-new"] == "o"
    assert "x-debug" not in names and "x-old" not in names
    assert "x-api-key" not in names and names["x-tollway-consumer"] == "con_a"
    assert resp.headers["X-Served-By"] == "tollway" and "Content-Type" not in resp.headers
    assert "RateLimit" in resp.headers  # the gateway's own headers are untouched


def test_a_transform_cannot_smuggle_identity_past_the_gateway():
    # Even ops that validation would refuse cannot assert identity: forwarding strips
    # credentials and X-Tollway-* after every transform.
    from shared.core.policy import HeaderOps
    from shared.core.policy_rules import request_headers
    from shared.gateway.forward import upstream_headers

    ops = HeaderOps(set=(("X-Tollway-Consumer", "con_admin"), ("Authorization", "Bearer x")))
    req = GatewayRequest("GET", "/", "", request_headers((("accept", "a"),), ops))
    names = dict(upstream_headers(req, correlation_id="c", consumer_id="con_a", plan_id="p"))
    assert names["x-tollway-consumer"] == "con_a" and "authorization" not in names


# --- access ------------------------------------------------------------------------------------


def test_403_ip_denied_before_any_limit_is_charged():
    w, up, _ = _world({"ip": {"deny": ["203.0.113.0/24", "2001:db8::/32"]}})
    for ip in ("203.0.113.9", "2001:db8::5") * 3:
        resp = _send(w, ip=ip)
        assert resp.status == 403
        assert json.loads(resp.body)["type"].endswith("/ip-denied")
    assert up.requests == []
    assert [_send(w).status for _ in range(4)] == [200, 200, 200, 429]  # quota untouched


def test_403_outside_the_allow_list_200_inside():
    w, _, _ = _world({"ip": {"allow": ["10.0.0.0/8", "2001:db8::/32"]}})
    assert _send(w, ip="10.2.3.4").status == 200
    assert _send(w, ip="2001:db8::1").status == 200
    assert _send(w, ip="192.0.2.1").status == 403


def test_413_body_over_the_routes_limit():
    w, up, _ = _world(routes=(Route("POST", "/echo/*", (), parse({"max_body_bytes": 10})),))
    assert _send(w, method="POST", body=b"x" * 10).status == 200
    assert _send(w, method="POST", body=b"x" * 11).status == 413
    assert len(up.requests) == 1


def test_200_anonymous_route_counted_per_ip_then_429():
    w, up, _ = _world()
    statuses = [_send(w, "/demo/v2/public/x", key=None).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert _send(w, "/demo/v2/public/x", key=None, ip="192.0.2.99").status == 200
    assert _send(w, "/demo/v2/echo/x", key=None).status == 401  # other routes still need one
    assert _send(w, "/demo/v2/nope", key=None).status == 401  # the catalog cannot be probed
    assert dict(up.requests[0].headers)["x-tollway-consumer"] == ""
    assert w.usage.events == [] or all(e.consumer_id for e in w.usage.events)


def test_204_cors_preflight_per_api_and_headers_on_the_answer():
    w, _, _ = _world({"cors": {"origins": [ORIGIN], "methods": ["GET"], "headers": ["X-Api-Key"],
                               "credentials": True, "max_age": 120, "expose": ["X-Trace"]}})
    pre = _send(w, "/demo/v2/echo/x", key=None, method="OPTIONS",
                headers=[("origin", ORIGIN), ("access-control-request-method", "GET")])
    assert pre.status == 204
    assert pre.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert pre.headers["Access-Control-Allow-Methods"] == "GET"
    assert pre.headers["Access-Control-Allow-Headers"] == "X-Api-Key"
    assert pre.headers["Access-Control-Max-Age"] == "120"
    assert pre.headers["Access-Control-Allow-Credentials"] == "true"
    resp = _send(w, headers=[("origin", ORIGIN)])
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Trace" in resp.headers["Access-Control-Expose-Headers"]
    other = _send(w, headers=[("origin", "https://evil.test")])
    assert "Access-Control-Allow-Origin" not in other.headers
    evil = _send(w, "/demo/v2/echo/x", key=None, method="OPTIONS",
                 headers=[("origin", "https://evil.test"),
                          ("access-control-request-method", "GET")])
    assert evil.status == 401


# --- limits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "vary", "same"), [
    ({"by": "ip"}, {"ip": "192.0.2.2"}, {"headers": [("x-tenant", "other")]}),
    ({"by": "header", "header": "X-Tenant"}, {"headers": [("x-tenant", "other")]},
     {"ip": "192.0.2.2"}),
])
def test_429_limits_by_ip_and_by_header(rule, vary, same):
    w, _, _ = _world(route_policies={"limits": [{**rule, "rate_per_minute": 1}]})
    # the plan allows 3 a minute; the policy 1
    assert _send(w, headers=[("x-tenant", "t1")]).status == 200
    kw_same = {"headers": [("x-tenant", "t1")], **same} if "headers" not in same else same
    kw_vary = {"headers": [("x-tenant", "t1")], **vary} if "headers" not in vary else vary
    assert _send(w, **kw_same).status == 429
    assert _send(w, **kw_vary).status == 200


def test_429_compound_consumer_plus_route():
    w, _, _ = _world({"limits": [{"by": "consumer+route", "rate_per_minute": 1}]},
                     routes=(Route("GET", "/echo/*"), Route("GET", "/other/*")))
    assert _send(w).status == 200 and _send(w).status == 429
    assert _send(w, "/demo/v2/other/x").status == 200  # another route, another count


def test_200_route_cost_counts_ten_units():
    w, _, _ = _world(route_policies={"cost": 2})
    first = _send(w)
    assert first.headers["RateLimit"].startswith('"per-minute";r=1;')
    assert _send(w).status == 429  # 2 + 2 > 3
    assert w.usage.events[0].cost == 2


def test_200_shadow_limit_reports_would_throttle_and_counts_it():
    w, _, metrics = _world(route_policies={"limits": [{"by": "consumer", "rate_per_minute": 1,
                                                       "shadow": True}]})
    first, second = _send(w), _send(w)
    assert first.status == second.status == 200
    assert "X-Tollway-Shadow" not in first.headers
    assert second.headers["X-Tollway-Shadow"] == "would-throttle"
    assert metrics.counts["WouldThrottle"] == 1


# --- traffic -----------------------------------------------------------------------------------

TWO = (Upstream("http://a.test", 50), Upstream("http://b.test", 50))


def test_200_sticky_weighted_upstream_per_consumer():
    w, up, _ = _world(route_policies={"traffic": {"sticky": True}}, upstreams=TWO)
    for _ in range(3):
        _send(w)
    assert len(up.hosts()) == 1  # one consumer, one upstream


def test_route_timeout_and_retries_reach_the_upstream():
    w, up, _ = _world(route_policies={"traffic": {"timeout_seconds": 1.5, "retries": 2}})
    _send(w)
    assert (up.requests[0].timeout, up.requests[0].retries) == (1.5, 2)


def test_502_post_retried_only_when_the_route_allows_it():
    pol = {"traffic": {"retries": 2, "retry_unsafe": True}}
    w, up, _ = _world(routes=(Route("POST", "/echo/*", (), parse(pol)),
                              Route("PUT", "/echo/*", (), parse({"traffic": {"retries": 2}}))))
    up.down.add("upstream.test")
    assert _send(w, method="POST").status == 502
    assert len(up.requests) == 3
    up.requests.clear()
    w.clock.advance(60)
    assert _send(w, method="PUT").status == 502
    assert len(up.requests) == 1  # idempotent: the adapter's own retries (not this fake's)


def test_503_circuit_opens_then_half_open_probe_closes_it():
    pol = {"traffic": {"breaker": {"failure_rate": 0.5, "min_requests": 2, "open_seconds": 30,
                                   "probes": 1}}}
    pol["traffic"]["breaker"]["open_seconds"] = 60
    w, up, metrics = _world(pol)
    up.down.add("upstream.test")
    assert [_send(w).status for _ in range(2)] == [502, 502]
    w.clock.advance(1)
    resp = _send(w)
    assert resp.status == 503 and json.loads(resp.body)["type"].endswith("/circuit-open")
    assert resp.headers["Retry-After"] == "59"  # opened at the second failure, 1 s ago
    assert len(up.requests) == 2 and metrics.counts["CircuitOpen"] == 1
    assert w.gateway.policies.breaker_state("http://upstream.test") == "open"
    w.clock.advance(59)
    up.down.clear()
    assert _send(w).status == 200  # the probe
    assert w.gateway.policies.breaker_state("http://upstream.test") == "closed"


def test_200_health_aware_choice_moves_traffic_off_an_open_upstream():
    import zlib

    pol = {"traffic": {"breaker": {"min_requests": 1, "failure_rate": 1.0,
                                   "open_seconds": 600}}}
    w, up, _ = _world(pol, upstreams=TWO)
    up.down.add("a.test")
    to_a = [r for r in (f"req-{i:08d}" for i in range(100)) if zlib.crc32(r.encode()) % 100 < 50]
    statuses = []
    for rid in to_a[:6]:  # each would go to a.test by weight alone
        statuses.append(_send(w, rid=rid).status)
        w.clock.advance(20)  # stay under the plan's 3 a minute
    assert statuses == [502, 200, 200, 200, 200, 200]  # a.test's breaker opened at once
    assert up.hosts() == {"a.test": 1, "b.test": 5}


# --- caching -----------------------------------------------------------------------------------


def test_200_cache_miss_then_hit_with_age_per_consumer():
    w, up, metrics = _world(route_policies={"cache": {"ttl_seconds": 30}})
    w.add_key("con_a", "a2")
    first = _send(w)
    w.clock.advance(5)
    second = _send(w)
    assert first.headers["X-Cache"] == "MISS" and second.headers["X-Cache"] == "HIT"
    assert second.headers["Age"] == "5" and second.body == first.body
    assert second.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert second.headers["RateLimit"].startswith('"per-minute";r=1;')  # still counted
    assert len(up.requests) == 1 and metrics.counts["CacheHit"] == 1
    w.clock.advance(26)
    assert _send(w).headers["X-Cache"] == "MISS"  # expired


def test_200_cache_keeps_consumers_apart_unless_shared():
    from shared.core.models import Consumer, Subscription

    w, _, _ = _world(route_policies={"cache": {"ttl_seconds": 30}})
    records.save_unaudited(w.store, [records.put_consumer_write(Consumer("con_b", "B")),
                                     records.put_subscription_write(
                                         Subscription("sub_b", "con_b", "free"))])
    w.add_key("con_b", "b")
    _send(w)
    assert _send(w, key="b").headers["X-Cache"] == "MISS"
    w2, _, _ = _world(route_policies={"cache": {"ttl_seconds": 30, "shared": True}})
    records.save_unaudited(w2.store, [records.put_consumer_write(Consumer("con_b", "B")),
                                      records.put_subscription_write(
                                          Subscription("sub_b", "con_b", "free"))])
    w2.add_key("con_b", "b")
    _send(w2)
    assert _send(w2, key="b").headers["X-Cache"] == "HIT"


@pytest.mark.parametrize("headers", [
    (("cache-control", "no-store"),), (("cache-control", "private, max-age=60"),),
    (("set-cookie", "session=1"),),
])
def test_200_no_store_private_and_cookie_responses_not_cached(headers):
    w, up, _ = _world(route_policies={"cache": {"ttl_seconds": 30}})
    up.headers = headers
    _send(w)
    assert _send(w).headers["X-Cache"] == "MISS" and len(up.requests) == 2


def test_cache_is_bounded_in_bytes():
    from shared.gateway.policy import ResponseCache

    c = ResponseCache(max_bytes=800)
    for i in range(20):
        c.put(f"k{i}", 100, 0, 200, (), b"x" * 90)
    assert c.size <= 800 and c.get("k0", 1) is None and c.get("k19", 1) is not None
    assert not c.put("big", 100, 0, 200, (), b"x" * 200)  # over an eighth: not kept


# --- plans and consumers -----------------------------------------------------------------------


def _scoped(w: World, plan=None, consumer=None, rate=3) -> None:
    from shared.core.models import Consumer
    from tests.functional.conftest import FREE

    writes = []
    if plan is not None:
        writes.append(records.put_plan_write(
            dataclasses.replace(FREE, rate_per_minute=rate, policies=parse(plan))))
    if consumer is not None:
        writes.append(records.put_consumer_write(Consumer("con_a", "A",
                                                          policies=parse(consumer))))
    records.save_unaudited(w.store, writes)


def test_403_a_plans_deny_list_applies_to_every_subscriber_before_any_charge():
    w, up, _ = _world()
    _scoped(w, plan={"ip": {"deny": ["203.0.113.0/24"]}})
    assert _send(w, ip="203.0.113.7").status == 403
    assert _send(w, ip="198.51.100.1").status == 200
    assert len(up.requests) == 1
    assert ";r=1;" in _send(w).headers["RateLimit"]  # 3 a minute: the 403 charged nothing


def test_403_a_consumers_allow_list_and_the_apis_deny_list_both_apply():
    w, _, _ = _world(api_policies={"ip": {"deny": ["198.51.100.9"]}})
    _scoped(w, consumer={"ip": {"allow": ["198.51.100.0/24"]}})
    assert _send(w, ip="198.51.100.1").status == 200
    assert _send(w, ip="192.0.2.10").status == 403  # outside the consumer's allow list
    assert _send(w, ip="198.51.100.9").status == 403  # inside it, but the API denies it


def test_429_limits_of_every_level_are_all_charged():
    w, _, _ = _world(route_policies={"limits": [{"by": "ip", "rate_per_minute": 50}]})
    _scoped(w, plan={"limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 2}]},
            consumer={"limits": [{"by": "key", "quota_per_day": 100}]}, rate=100)
    t1 = [("x-tenant", "t1")]
    assert [_send(w, headers=t1).status for _ in range(3)] == [200, 200, 429]
    assert _send(w, headers=[("x-tenant", "t2")]).status == 200  # its own bucket
    buckets = set(w.store._counters)  # counted apart per level
    assert any(b.startswith("POL#P:free#demo#0#H#t1") for b in buckets)
    assert any(b.startswith("POL#C:con_a#demo#0#KEY#") for b in buckets)
    assert any(b.startswith("POL#demo#0#IP#") for b in buckets)


def test_200_a_plan_shadow_limit_only_reports():
    w, _, metrics = _world()
    _scoped(w, plan={"limits": [{"by": "consumer", "rate_per_minute": 1, "shadow": True}]})
    assert _send(w).status == 200
    second = _send(w)
    assert second.status == 200 and second.headers["X-Tollway-Shadow"] == "would-throttle"
    assert metrics.counts["WouldThrottle"] == 1


def test_a_consumer_policy_change_reaches_the_gateway_within_the_ttl():
    w, _, _ = _world()
    assert _send(w).status == 200
    _scoped(w, consumer={"ip": {"deny": ["192.0.2.0/24"]}})
    assert _send(w).status == 200  # warm: the old consumer record, for at most the TTL
    w.clock.advance(6)
    assert _send(w).status == 403


# --- request validation ------------------------------------------------------------------------

DOC = {"openapi": "3.1.0", "info": {"title": "demo", "version": "2"}, "paths": {
    "/echo/{n}": {
        "parameters": [{"name": "n", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1}}],
        "post": {"parameters": [{"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/Item"}}}}}}},
    "components": {"schemas": {"Item": {
        "type": "object", "required": ["name"], "additionalProperties": False,
        "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}}}}}}


def _doc(w: World, doc) -> None:
    text = json.dumps(doc)
    records.save_unaudited(w.store, records.doc_writes("demo-v2", text, {"size": len(text)}, 0))


def _validating(doc=DOC):
    w, up, metrics = _world(routes=(
        Route("POST", "/echo/*", (), parse({"validate": {"body": True, "query": True,
                                                         "path": True}})),))
    _doc(w, doc)
    return w, up, metrics


JSON = (("content-type", "application/json"),)


def test_200_a_valid_request_passes_validation():
    w, up, _ = _validating()
    resp = _send(w, "/demo/v2/echo/3", method="POST", query="dry=true", headers=JSON,
                 body=b'{"name": "a", "qty": 2}')
    assert resp.status == 200 and len(up.requests) == 1


def test_400_an_invalid_request_lists_every_error_and_is_not_forwarded():
    w, up, metrics = _validating()
    resp = _send(w, "/demo/v2/echo/0", method="POST", query="dry=maybe", headers=JSON,
                 body=b'{"qty": "two", "extra": 1}')
    assert resp.status == 400 and not up.requests
    doc = json.loads(resp.body)
    assert doc["type"].endswith("/request-invalid")
    got = [(e["in"], e.get("pointer", e.get("name"))) for e in doc["errors"]]
    assert ("body", "") in got and ("body", "/qty") in got
    assert ("path", "n") in got and ("query", "dry") in got
    assert "RateLimit" in resp.headers and metrics.counts["RequestInvalid"] == 1


@pytest.mark.parametrize("body,headers", [(b"", JSON), (b"{not json", JSON),
                                          (b'{"name": "a"}', (("content-type", "text/plain"),))])
def test_400_a_missing_malformed_or_non_json_body(body, headers):
    w, _up, _ = _validating()
    resp = _send(w, "/demo/v2/echo/1", method="POST", headers=headers, body=body)
    assert resp.status == 400 and json.loads(resp.body)["errors"][0]["in"] == "body"


def test_200_an_operation_the_document_does_not_describe_is_not_validated():
    w, _up, _ = _validating()
    assert _send(w, "/demo/v2/echo/x/y", method="POST", body=b"anything").status == 200


def test_200_a_broken_document_turns_validation_off_never_a_500(caplog):
    broken = {**DOC, "components": {"schemas": {}}}  # the $ref points nowhere
    w, _up, _ = _validating(broken)
    resp = _send(w, "/demo/v2/echo/0", method="POST", body=b"{}")
    assert resp.status == 200
    assert "validation is off" in caplog.text


def test_a_new_document_is_used_after_the_route_table_refresh():
    w, _, _ = _validating()
    assert _send(w, "/demo/v2/echo/1", method="POST", headers=JSON,
                 body=b'{"name": "a"}').status == 200
    loose = {**DOC, "components": {"schemas": {"Item": {"type": "object"}}}}
    text = json.dumps(loose)
    records.save_unaudited(w.store, records.doc_writes("demo-v2", text, {"size": len(text)}, 1))
    assert _send(w, "/demo/v2/echo/1", method="POST", headers=JSON,
                 body=b'{"zzz": 1}').status == 400  # the compiled document, until the TTL
    w.clock.advance(6)
    assert _send(w, "/demo/v2/echo/1", method="POST", headers=JSON,
                 body=b'{"zzz": 1}').status == 200


def test_a_document_the_store_could_not_give_is_read_again_on_the_next_request(monkeypatch):
    from shared.gateway import policy as gateway_policy
    from shared.ports import StoreUnavailable

    w, _, _ = _validating()
    real, calls = gateway_policy.records.doc_meta, []

    def once_down(store, api_id):
        calls.append(api_id)
        if len(calls) == 1:
            raise StoreUnavailable("down")
        return real(store, api_id)

    monkeypatch.setattr(gateway_policy.records, "doc_meta", once_down)
    bad = {"method": "POST", "headers": JSON, "body": b'{"zzz": 1}'}
    assert _send(w, "/demo/v2/echo/1", **bad).status == 200  # no document: passed, as before
    assert _send(w, "/demo/v2/echo/1", **bad).status == 400  # read again, then kept
    reads = len(calls)
    assert _send(w, "/demo/v2/echo/1", **bad).status == 400 and len(calls) == reads


# --- shared response cache ---------------------------------------------------------------------


def test_200_a_shared_cache_entry_is_served_by_another_gateway_instance():
    from shared.gateway.directory import Directory
    from shared.gateway.service import Gateway
    from shared.gateway.throttle import Limiter

    w, up, metrics = _world(route_policies={"cache": {"ttl_seconds": 30, "shared": True}})
    assert _send(w).headers["X-Cache"] == "MISS"
    other = Gateway(Directory(w.store, w.clock), Limiter(w.store, w.clock), w.clock,
                    upstream=up)
    other.metrics = other.policies.metrics = metrics  # type: ignore[assignment]
    w.clock.advance(3)
    resp = other.handle(GatewayRequest("GET", "/demo/v2/echo/hi", "",
                                       (("x-api-key", w.keys["a"]),), source_ip="192.0.2.10"))
    assert resp.status == 200 and resp.headers["X-Cache"] == "HIT" and resp.headers["Age"] == "3"
    assert len(up.requests) == 1 and metrics.counts["SharedCacheHit"] == 1
    w.clock.advance(30)  # expired in the store too
    assert other.handle(GatewayRequest("GET", "/demo/v2/echo/hi", "",
                                       (("x-api-key", w.keys["a"]),))).headers["X-Cache"] == "MISS"


def test_200_a_per_consumer_cache_stays_in_the_instance():
    w, _, _ = _world(route_policies={"cache": {"ttl_seconds": 30}})
    _send(w)
    assert not any(pk.startswith("RCACHE#") for pk, _ in w.store._items)
