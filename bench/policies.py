"""Gateway policies (issue 13): a request through an API with every policy on, next to the
same request through the same API with none, in alternating rounds (memory store).

"Every policy" is one route carrying one of each kind at once: header/path/query transforms
both ways, CORS, an IP allow and deny list, a body size, a policy limit (by header, in
shadow mode, reporting would-throttle: one more store hit), a route cost, traffic (timeout,
retries, sticky weighted choice over two upstreams, a circuit breaker), validation of the
query and path against the API's OpenAPI document, and response caching; the plan adds
its own IP deny list and a shadow limit by header (one more hit), the consumer its own IP
allow list. The cache is measured twice: a hit (the upstream is not called) and a bypass
(``Cache-Control: no-cache`` from the client: the lookup skipped, the answer stored).
"""

from __future__ import annotations

import dataclasses
import json
import statistics

from bench.common import goal, paired_rounds, row
from bench.world import PATH, make_world
from shared.core.models import Api, Route, Upstream
from shared.core.policy import parse
from shared.core.request import GatewayRequest
from shared.management import records

#: The policy-on request may cost at most this many times the policy-free one.
LIMIT = 2.0

EVERY = {
    "transform": {
        "request_headers": {"set": {"X-Env": "bench"}, "remove": ["X-Debug"],
                            "rename": {"X-Old": "X-New"}},
        "response_headers": {"set": {"X-Served-By": "tollway"}, "remove": ["Server"]},
        "strip_prefix": "/echo", "add_prefix": "/v2", "query_remove": ["debug"],
        "query_set": {"src": "gw"},
    },
    "cors": {"origins": ["https://app.example.com"], "credentials": True},
    "ip": {"allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.9.9.9"]},
    "max_body_bytes": 4096,
    "limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 1, "shadow": True}],
    "cost": 1,
    "traffic": {"timeout_seconds": 5, "retries": 1, "sticky": True,
                "breaker": {"min_requests": 10_000}},
    "cache": {"ttl_seconds": 3600, "vary_headers": ["Accept"]},
    "validate": {"query": True, "path": True},
}
#: The plan's and the consumer's own (docs/policies.md "Plans and consumers").
PLAN_POLICIES = {"ip": {"deny": ["192.0.2.0/24"]},
                 "limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 1,
                             "shadow": True}]}
CONSUMER_POLICIES = {"ip": {"allow": ["10.0.0.0/8"]}}
#: What the validate policy checks the request against (query a=1, path below /echo).
DOC = {"openapi": "3.1.0", "info": {"title": "bench", "version": "1"}, "paths": {
    "/echo/{rest}": {"get": {"parameters": [
        {"name": "rest", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "a", "in": "query", "schema": {"type": "integer", "minimum": 0}}]}}}}


def _policy_world():
    world = make_world()
    api = Api("demo-v2", "demo", "v2", "/demo/v2",
              (Upstream("http://a.upstream.test", 90), Upstream("http://b.upstream.test", 10)),
              (Route("GET", "/echo/*", (), parse(EVERY)), Route("POST", "/echo/*")),
              policies=None)
    from bench.world import BIG
    from shared.core.models import Consumer, Lifecycle

    records.save_unaudited(world.store, [records.put_api_write(
        dataclasses.replace(api, lifecycle=Lifecycle.PUBLISHED))])
    records.save_unaudited(world.store, [records.put_plan_write(
        dataclasses.replace(BIG, policies=parse(PLAN_POLICIES)))])
    records.save_unaudited(world.store, [records.put_consumer_write(
        Consumer("con_bench", "Bench", policies=parse(CONSUMER_POLICIES)))])
    text = json.dumps(DOC)
    records.save_unaudited(world.store, records.doc_writes("demo-v2", text, {"size": 1}, 0))
    world.gateway.directory.routes()  # compiled once, as a warm instance has it
    return world


def _ratio(a: list[float], b: list[float]) -> float:
    """The median of the per-round ratios: each round's pair ran back to back, so load
    that comes and goes (this machine is shared) falls on both sides of a ratio alike."""
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def run() -> list[str]:
    plain = make_world()
    pol = _policy_world()
    headers = (("x-api-key", plain.key), ("x-request-id", "bench-policy-1"),
               ("accept", "application/json"), ("x-tenant", "t1"), ("x-old", "o"),
               ("origin", "https://app.example.com"))
    plain_req = GatewayRequest("GET", PATH, "a=1", headers, source_ip="10.1.2.3")
    pol_headers = tuple((k, pol.key if k == "x-api-key" else v) for k, v in headers)
    hit_req = GatewayRequest("GET", PATH, "a=1&debug=1", pol_headers, source_ip="10.1.2.3")
    bypass_req = dataclasses.replace(hit_req,
                                     headers=(*pol_headers, ("cache-control", "no-cache")))
    for gw, r in ((plain.gateway, plain_req), (pol.gateway, hit_req),
                  (pol.gateway, bypass_req)):
        resp = gw.handle(r)
        assert resp.status == 200, (resp.status, resp.body)
    assert pol.gateway.decide(hit_req).policy is not None
    assert plain.gateway.decide(plain_req).policy is None

    n, rounds = 1_000, 15
    d_pol, d_plain = paired_rounds(lambda: pol.gateway.decide(hit_req),
                                   lambda: plain.gateway.decide(plain_req), n, rounds)
    h_hit, h_plain = paired_rounds(lambda: pol.gateway.handle(hit_req),
                                   lambda: plain.gateway.handle(plain_req), n, rounds)
    h_bypass, h_plain2 = paired_rounds(lambda: pol.gateway.handle(bypass_req),
                                       lambda: plain.gateway.handle(plain_req), n, rounds)
    med = statistics.median
    decide_ratio = _ratio(d_pol, d_plain)
    hit_ratio = _ratio(h_hit, h_plain)
    bypass_ratio = _ratio(h_bypass, h_plain2)
    worst = max(hit_ratio, bypass_ratio)
    return [
        f"Gateway policies (memory store; CPU medians of {rounds} alternating rounds of "
        f"{n}; ratio: median of the rounds' own ratios)",
        row("decide(): policy-free route", f"{med(d_plain) * 1e6:.1f} µs"),
        row("decide(): every policy (IP x3, body, 2 shadow limits = 2 more hits)",
            f"{med(d_pol) * 1e6:.1f} µs", f"{decide_ratio:.2f}x"),
        row("handle(): policy-free request", f"{med(h_plain) * 1e6:.1f} µs"),
        row("handle(): every policy, cache hit", f"{med(h_hit) * 1e6:.1f} µs",
            f"{hit_ratio:.2f}x"),
        row("handle(): every policy, cache bypassed (stored)", f"{med(h_bypass) * 1e6:.1f} µs",
            f"{bypass_ratio:.2f}x"),
        row("every policy on / policy-free (request, worst case)", f"{worst:.2f}x",
            goal(worst, LIMIT)),
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
