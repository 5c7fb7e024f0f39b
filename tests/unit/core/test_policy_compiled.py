"""The per-route compiled forms (core/policy_rules.py) give exactly what the plain rules
give: transforms, the weighted choice, the breaker's running totals; and the cache TTL's
shortcut for answers that say nothing about caching."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from shared.core.models import Upstream
from shared.core.policy import Breaker, CachePolicy, HeaderOps, LimitRule, Transform, parse
from shared.core.policy_rules import (
    BreakerState,
    CompiledCache,
    CompiledTransform,
    CorsRule,
    cache_key,
    cache_ttl,
    header_tail,
    limit_key,
    limit_prefix,
    limit_tail,
    pick,
    pick_from,
    pick_table,
    request_headers,
    response_headers,
    upstream_path,
    upstream_query,
)
from shared.core.request import GatewayRequest, Headers

TRANSFORMS = [
    {"request_headers": {"set": {"X-Env": "prod"}, "remove": ["X-Debug"],
                         "rename": {"X-Old": "X-New"}},
     "response_headers": {"remove": ["Server"], "rename": {"X-Up": "X-Down"},
                          "set": {"X-Served-By": "tw"}},
     "strip_prefix": "/old/", "add_prefix": "/v2/", "query_remove": ["debug"],
     "query_set": {"src": "gw"}},
    {"request_headers": {"rename": {"X-Old": "X-Env"}, "set": {"X-Env": "prod"}}},
    {"request_headers": {"remove": ["Accept"]}, "strip_prefix": "/"},
    {"response_headers": {"remove": ["Server"]}, "add_prefix": "/api"},
    {"query_remove": ["a", "b"]},
    {"strip_prefix": "/old"},
]
PAIRS = [(), (("x-debug", "1"), ("x-old", "o"), ("x-env", "dev"), ("accept", "a"),
              ("x-old", "p"), ("accept", "b"))]
RESTS = ["", "/", "/old", "/old/", "/old/items", "/older", "/v2/x"]
QUERIES = ["", "a=1", "a=%20&debug=1&src=me&b", "&&debug&src=&debug=2", "b=1&a=2&c"]


@pytest.mark.parametrize("data", TRANSFORMS)
def test_a_compiled_transform_is_the_transform(data):
    t = parse({"transform": data}).transform
    ct = CompiledTransform(t)
    for pairs in PAIRS:
        want = tuple(pairs) if t.request_headers is None else request_headers(
            pairs, t.request_headers)
        assert ct.request(pairs) == want
    for rest in RESTS:
        assert ct.path(rest) == upstream_path(rest, t)
    for query in QUERIES:
        assert ct.query(query) == upstream_query(query, t)


@pytest.mark.parametrize("weights", [(90, 10), (1,), (0, 5, 0, 3), (0, 0), (3, 1, 1)])
def test_the_pick_table_chooses_as_pick_does(weights):
    ups = tuple(Upstream(f"http://u{i}", w) for i, w in enumerate(weights))
    table = pick_table(ups)
    for seed in itertools.chain(range(300), (2**32 - 1, 123456789)):
        assert pick_from(table, seed) == pick(ups, seed)


def test_cors_decorate_replaces_what_the_upstream_sent_and_appends_the_rest():
    rule = CorsRule.of(parse({"cors": {"origins": ["https://a.example"],
                                       "credentials": True}}).cors, "X-Request-Id")
    h = Headers([("access-control-allow-origin", "*"), ("Vary", "Accept"), ("X", "1")])
    rule.decorate(h, "https://a.example")
    assert h.items() == [("Vary", "Accept"), ("X", "1"),
                         ("Access-Control-Allow-Origin", "https://a.example"),
                         ("Vary", "Origin"), ("Access-Control-Expose-Headers", "X-Request-Id"),
                         ("Access-Control-Allow-Credentials", "true")]


def test_breaker_totals_follow_the_window():
    b = BreakerState(Breaker(failure_rate=0.5, min_requests=4, window_seconds=10))
    for i, failed in enumerate([True, False, False, True, False, False]):
        b.record(failed, float(i * 3))
        assert (b.total, b.fails) == (sum(int(x[1]) for x in b.buckets),
                                      sum(int(x[2]) for x in b.buckets))
    assert b.state(18.0) == "closed"
    for t in (19.0, 19.5, 20.0):
        b.record(True, t)
    assert b.state(20.0) == "open" and (b.total, b.fails) == (0, 0)


@pytest.mark.parametrize(("pairs", "want"), [
    ([], 30), ([("Content-Type", "a"), ("X-A", "1")], 30), ([("Cache-Control", "max-age=5")], 5),
    ([("VARY", "*")], 0), ([("Vary", "Accept")], 30), ([("set-cookie", "a=b")], 0),
    ([("X", "1"), ("cache-control", "no-store")], 0), ([("Cache-Control", "public")], 30),
])
def test_cache_ttl_whatever_the_case_of_the_names(pairs, want):
    assert cache_ttl(200, Headers(pairs), CachePolicy(30)) == want


@pytest.mark.parametrize("data", TRANSFORMS)
def test_a_compiled_response_transform_is_the_transform(data):
    t = parse({"transform": data}).transform
    for pairs in ([], [("Server", "x"), ("X-Up", "1"), ("x-up", "2"), ("X-Served-By", "up")],
                  [("content-type", "a"), ("SERVER", "y")]):
        want, got = Headers(pairs), Headers(pairs)
        if t.response_headers is not None:
            response_headers(want, t.response_headers)
        CompiledTransform(t).response(got)
        assert got.items() == want.items()


CACHE_RULES = [CachePolicy(30), CachePolicy(30, vary_query=False),
               CachePolicy(30, vary_headers=("accept",)),
               CachePolicy(30, vary_headers=("accept", "x-tenant"), shared=True),
               CachePolicy(30, vary_headers=("cache-control",), private=True)]
REQUEST_HEADERS = [(), (("accept", "a"), ("x-tenant", "t"), ("accept", "b")),
                   (("cache-control", "no-cache"),), (("cache-control", "max-age=0"),),
                   (("x", "1"), ("cache-control", "no-store, x"), ("accept", "a"))]


@pytest.mark.parametrize("rule", CACHE_RULES)
def test_a_compiled_cache_keys_and_skips_as_the_rules_do(rule):
    cc = CompiledCache(rule, "api_1")
    for headers in REQUEST_HEADERS:
        for query in ("", "a=1"):
            key, skip = cc.key("GET", "/x", query, headers, "con_1")
            assert key == cache_key(rule, api_id="api_1", method="GET", path="/x",
                                    query=query, headers=headers, consumer="con_1")
            assert skip == any(k == "cache-control" and ("no-cache" in v or "no-store" in v)
                               for k, v in headers)


@pytest.mark.parametrize("rule", CACHE_RULES)
@pytest.mark.parametrize("status", [200, 204, 302, 404, 500])
@pytest.mark.parametrize("pairs", [
    [], [("Content-Type", "a")], [("Cache-Control", "max-age=5")], [("VARY", "*")],
    [("Vary", "Accept")], [("set-cookie", "a=b")], [("Cache-Control", "private")],
    [("X", "1"), ("cache-control", "s-maxage=7, max-age=3")],
])
def test_a_compiled_cache_ttl_is_the_rule(rule, status, pairs):
    assert CompiledCache(rule, "a").ttl(status, tuple(pairs)) == cache_ttl(
        status, Headers(pairs), rule)


@pytest.mark.parametrize("by", ["consumer", "key", "ip", "header", "consumer+route"])
def test_a_limit_key_is_its_prefix_and_tail(by):
    rule = LimitRule(by, header="x-tenant" if by == "header" else "", rate_per_minute=1)
    for key_id, ip, header in (("key_1", "10.0.0.1", "t1"), ("", "", None), ("k", "::1", "")):
        kw = {"consumer": "con_1", "key_id": key_id, "ip": ip, "header": header,
              "route": "GET /x"}
        for scope in ("", "P:pln_1#"):
            want = limit_key(rule, api="demo", index=2, scope=scope, **kw)
            assert limit_prefix("demo", 2, scope) + limit_tail(rule, **kw) == want
            if by == "header":
                assert limit_prefix("demo", 2, scope) + header_tail(header) == want


@pytest.mark.parametrize("ops", [
    HeaderOps(rename=(("X-A", "X-B"),), remove=("X-B",)),
    HeaderOps(rename=(("X-A", "X-B"), ("X-B", "X-A"))),
    HeaderOps(rename=(("X-A", "X-C"),), set=(("X-C", "1"), ("X-A", "2"))),
    HeaderOps(remove=("X-A", "x-c"), set=(("X-B", "3"),)),
    HeaderOps(set=(("X-Z", "z"),)),
])
def test_request_header_ops_touch_only_the_names_they_name(ops):
    ct = CompiledTransform(Transform(request_headers=ops))
    for pairs in [*PAIRS, (("x-a", "1"), ("x-b", "2"), ("x-a", "3"), ("x-c", "4"), ("y", "5")),
                  (("x-b", "1"), ("x-b", "2")), (("y", "1"),)]:
        assert ct.request(pairs) == request_headers(pairs, ops)


@pytest.mark.parametrize("data", TRANSFORMS)
def test_upstream_is_request_query_and_path_in_one(data):
    ct = CompiledTransform(parse({"transform": data}).transform)
    for pairs, query, rest in itertools.product(PAIRS, QUERIES, RESTS):
        req = GatewayRequest("GET", "/p", query, pairs, b"b", "10.0.0.1", "rid", 5.0)
        out, path = ct.upstream(req, rest)
        assert path == ct.path(rest)
        assert out == dataclasses.replace(req, query=ct.query(query),
                                          headers=ct.request(pairs))
