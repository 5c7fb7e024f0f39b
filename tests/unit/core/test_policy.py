"""Policies: reading and validating the stored shape, merging API and route, and the pure
rules each policy applies (core/policy.py, core/policy_rules.py)."""

from __future__ import annotations

import pytest

from shared.core.models import Api, Route, Upstream, from_dict, to_dict
from shared.core.policy import Breaker, CachePolicy, PolicyError, merge, parse, to_json
from shared.core.policy_rules import (
    BreakerState,
    IpMatcher,
    cache_key,
    cache_ttl,
    pick,
    request_headers,
    response_headers,
    sticky_seed,
    upstream_path,
    upstream_query,
)
from shared.core.request import Headers

EVERY = {
    "transform": {"request_headers": {"set": {"X-Env": "prod"}, "remove": ["X-Debug"],
                                      "rename": {"X-Old": "X-New"}},
                  "response_headers": {"remove": ["Server"]},
                  "strip_prefix": "/old", "add_prefix": "/v2",
                  "query_remove": ["debug"], "query_set": {"src": "gw"}},
    "cors": {"origins": ["https://app.example.com"], "credentials": True, "max_age": 60},
    "ip": {"allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.0.0.7"]},
    "max_body_bytes": 100,
    "anonymous": {"rate_per_minute": 5},
    "limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 2, "shadow": True}],
    "cost": 10,
    "traffic": {"timeout_seconds": 2, "retries": 1, "sticky": True,
                "breaker": {"failure_rate": 0.5, "min_requests": 2}},
    "cache": {"ttl_seconds": 30, "vary_headers": ["Accept"]},
}


def test_every_policy_round_trips_through_the_stored_shape():
    p = parse(EVERY)
    assert p is not None and parse(to_json(p)) == p and to_json(parse(to_json(p))) == to_json(p)
    api = Api("a", "a", "v1", "/a", (Upstream("http://u"),), (Route("GET", "/x", (), p),),
              policies=p)
    assert from_dict(Api, to_dict(api)) == api


def test_no_policy_is_none():
    assert parse(None) is None and parse({}) is None and to_json(None) is None


@pytest.mark.parametrize(("doc", "field", "words"), [
    ({"transform": {"request_headers": {"set": {"Authorization": "Bearer x"}}}},
     "policies.transform.request_headers.set", "credentials"),
    ({"transform": {"request_headers": {"set": {"X-Api-Key": "k"}}}},
     "policies.transform.request_headers.set", "credentials"),
    ({"transform": {"request_headers": {"rename": {"Authorization": "X-Auth"}}}},
     "policies.transform.request_headers.rename", "credentials"),
    ({"transform": {"request_headers": {"set": {"X-Tollway-Consumer": "admin"}}}},
     "policies.transform.request_headers.set", "gateway alone"),
    ({"transform": {"response_headers": {"set": {"RateLimit": "x"}}}},
     "policies.transform.response_headers.set", "gateway alone"),
    ({"transform": {"response_headers": {"remove": ["Retry-After"]}}},
     "policies.transform.response_headers.remove", "gateway alone"),
    ({"transform": {"request_headers": {"set": {"Connection": "close"}}}},
     "policies.transform.request_headers.set", "hop-by-hop"),
    ({"transform": {"strip_prefix": "/a/../b"}}, "policies.transform.strip_prefix", "prefix"),
    ({"ip": {"deny": ["10.0.0.300/8"]}}, "policies.ip.deny", "CIDR"),
    ({"ip": {}}, "policies.ip", "allow or a deny"),
    ({"cors": {"origins": ["*"], "credentials": True}}, "policies.cors.credentials",
     "explicit origins"),
    ({"cors": {"origins": ["app.example.com"]}}, "policies.cors.origins", "origin"),
    ({"limits": [{"by": "moon", "rate_per_minute": 1}]}, "policies.limits[0].by", "one of"),
    ({"limits": [{"by": "ip"}]}, "policies.limits[0]", "at least one"),
    ({"limits": [{"by": "header", "header": "X-Api-Key", "rate_per_minute": 1}]},
     "policies.limits[0].header", "credential"),
    ({"anonymous": {}}, "policies.anonymous", "per-IP limit"),
    ({"cache": {}}, "policies.cache.ttl_seconds", "1 to 86400"),
    ({"cache": {"ttl_seconds": 5, "shared": True, "private": True}}, "policies.cache",
     "not both"),
    ({"traffic": {"timeout_seconds": 0}}, "policies.traffic.timeout_seconds", "0.1"),
    ({"surprise": 1}, "policies", "unknown field"),
])
def test_invalid_policies_say_what_and_where(doc, field, words):
    with pytest.raises(PolicyError) as e:
        parse(doc)
    assert e.value.field == field and words in e.value.message, str(e.value)


def test_route_policies_replace_the_apis_kind_by_kind():
    api = parse({"cost": 2, "ip": {"deny": ["10.0.0.0/8"]}})
    route = parse({"cost": 5})
    merged = merge(api, route)
    assert merged is not None and merged.cost == 5 and merged.ip == api.ip
    assert merge(None, None) is None and merge(api, None) == api and merge(None, route) == route


def test_header_transforms_remove_rename_then_set():
    ops = parse(EVERY).transform.request_headers
    pairs = (("x-debug", "1"), ("x-old", "o"), ("x-env", "dev"), ("accept", "a"))
    assert request_headers(pairs, ops) == (("x-new", "o"), ("accept", "a"), ("x-env", "prod"))
    h = Headers([("Server", "nginx"), ("X-A", "1")])
    response_headers(h, parse(EVERY).transform.response_headers)
    assert h.items() == [("X-A", "1")]


@pytest.mark.parametrize(("rest", "want"), [
    ("/old/items", "/v2/items"), ("/old", "/v2/"), ("/older", "/v2/older"), ("/", "/v2/"),
])
def test_upstream_path_prefix_rewrite(rest, want):
    t = parse(EVERY).transform
    assert upstream_path(rest, t) == want


def test_query_strip_and_inject_keep_the_rest_byte_for_byte():
    t = parse(EVERY).transform
    assert upstream_query("a=%20&debug=1&src=me&b", t) == "a=%20&b&src=gw"


@pytest.mark.parametrize(("ip", "admitted"), [
    ("10.1.2.3", True), ("10.0.0.7", False), ("192.0.2.1", False),
    ("2001:db8::1", True), ("2001:db9::1", False), ("::ffff:10.1.2.3", True), ("", False),
])
def test_ip_allow_and_deny_ipv4_and_ipv6(ip, admitted):
    m = IpMatcher.of(["10.0.0.0/8", "2001:db8::/32"], ["10.0.0.7/32"])
    assert m.admits(ip) is admitted


def test_deny_only_admits_everyone_else():
    m = IpMatcher.of([], ["203.0.113.0/24"])
    assert m.admits("198.51.100.1") and not m.admits("203.0.113.9") and m.admits("")


def test_weighted_pick_skips_unhealthy_and_sticky_is_stable():
    ups = (Upstream("http://a", 90), Upstream("http://b", 10))
    share = sum(pick(ups, s) == 1 for s in range(1000))
    assert share == 100
    assert all(pick(ups, s, [False, True]) == 1 for s in range(50))
    assert all(pick(ups, s, [False, False]) in (0, 1) for s in range(50))  # none: all again
    assert sticky_seed("con_a") == sticky_seed("con_a")


def test_breaker_opens_on_failure_rate_then_half_open_probe_closes_it():
    b = BreakerState(Breaker(failure_rate=0.5, min_requests=4, window_seconds=10,
                             open_seconds=30, probes=1))
    for t, failed in ((0, False), (1, True), (2, False)):
        b.record(failed, t)
    assert b.state(3) == "closed"
    b.record(True, 3)  # 2 of 4 failed
    assert b.state(3) == "open" and not b.allow(10)
    assert b.state(33) == "half-open" and b.allow(33) and not b.allow(33)  # one probe
    b.record(True, 34)  # the probe failed: open again, for another 30 s
    assert b.state(40) == "open" and b.state(64) == "half-open"
    assert b.allow(64)
    b.record(False, 65)
    assert b.state(65) == "closed"


def test_breaker_window_forgets_old_failures():
    b = BreakerState(Breaker(min_requests=2, window_seconds=10))
    b.record(True, 0)
    b.record(True, 20)  # the first fell out of the window
    assert b.state(20) == "closed"


@pytest.mark.parametrize(("headers", "ttl"), [
    ([], 30), ([("Cache-Control", "max-age=5")], 5), ([("Cache-Control", "s-maxage=7")], 7),
    ([("Cache-Control", "no-store")], 0), ([("Cache-Control", "no-cache")], 0),
    ([("Cache-Control", "private")], 0), ([("Set-Cookie", "a=1")], 0), ([("Vary", "*")], 0),
])
def test_cache_control_is_respected(headers, ttl):
    assert cache_ttl(200, Headers(headers), CachePolicy(30)) == ttl


def test_private_responses_kept_only_when_the_route_says_so():
    assert cache_ttl(200, Headers([("Cache-Control", "private")]),
                     CachePolicy(30, private=True)) == 30
    assert cache_ttl(500, Headers(), CachePolicy(30)) == 0


def test_cache_key_varies_on_consumer_unless_shared_and_on_chosen_headers():
    def key(rule, consumer="c1", accept="json"):
        return cache_key(rule, api_id="a", method="GET", path="/x", query="q=1",
                         headers=(("accept", accept),), consumer=consumer)

    own, shared = CachePolicy(30, vary_headers=("accept",)), CachePolicy(30, shared=True)
    assert key(own) != key(own, consumer="c2") and key(own) != key(own, accept="xml")
    assert key(shared) == key(shared, consumer="c2") == key(shared, accept="xml")
