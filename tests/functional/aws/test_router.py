"""The router Lambda without the authorizer in front: the whole pipeline per invocation,
driven with API Gateway 2.0 events over DynamoDB (moto), asserted on the response dicts.
Named by the status each test proves."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import httpx
import pytest

from shared.adapters import log_usage as aws_usage
from shared.core import keys as keymod
from shared.core.models import KeyState
from tests.functional.aws.conftest import body, emf_metrics, usage_lines


@pytest.fixture(autouse=True)
def without_authorizer(monkeypatch, handlers):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )


@pytest.fixture
def route(handlers, ctx):
    return lambda ev: handlers["router"].handler(ev, ctx)


def test_200_with_ratelimit_headers_and_api_gateway_request_id(world, route, capsys):
    resp = route(world.proxy(key=world.keys["a"], headers={"x-request-id": "client-chosen-1"}))
    assert resp["statusCode"] == 200
    assert resp["isBase64Encoded"] is False
    h = resp["headers"]
    assert h["RateLimit-Policy"] == '"per-minute";q=3;w=60'
    assert h["RateLimit"].startswith('"per-minute";r=2;t=')
    # The client's X-Request-Id is a correlation id: echoed and propagated upstream...
    assert h["X-Request-Id"] == "client-chosen-1"
    sent = body(resp)
    assert sent["path"] == "/echo/hello"
    assert sent["query"] == "lang=en&page=2"
    assert sent["headers"]["cookie"] == "session=abc123; theme=dark"
    assert sent["headers"]["x-request-id"] == "client-chosen-1"
    assert sent["headers"]["x-tollway-consumer"] == "con_a"
    # ...while metering dedups by API Gateway's requestId (made URL-safe), never the client's.
    (line,) = usage_lines(capsys.readouterr().out)
    assert aws_usage.parse(line).request_id == "KUs8BiEIIAM0001"
    assert sent["headers"]["x-forwarded-for"] == "203.0.113.10"
    assert "x-api-key" not in sent["headers"]
    assert "connection" not in {k.lower() for k in h}


def test_429_past_the_limit_with_retry_after(world, route):
    statuses = [route(world.proxy(key=world.keys["a"]))["statusCode"] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["headers"]["Retry-After"] == "50"
    assert '"per-minute";r=0' in resp["headers"]["RateLimit"]
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert body(resp)["status"] == 429
    world.clock.advance(50)
    assert route(world.proxy(key=world.keys["a"]))["statusCode"] == 200


def test_401_identical_for_every_credential_failure(world, route):
    revoked = world.add_key("con_a", "revoked", state=KeyState.REVOKED)
    expired = world.add_key("con_a", "expired", expires_at=world.clock.now() - 1)
    cases = {
        "missing": {},
        "malformed": {"x-api-key": "tw_nope"},
        "unknown": {"x-api-key": keymod.generate("tw").plaintext},
        "revoked": {"x-api-key": revoked},
        "expired": {"x-api-key": expired},
        "bad bearer": {"authorization": "Bearer a.b.c"},
        "basic": {"authorization": "Basic Zm9vOmJhcg=="},
    }
    responses = {n: route(world.proxy(headers=h)) for n, h in cases.items()}
    assert {r["statusCode"] for r in responses.values()} == {401}
    assert len({r["body"] for r in responses.values()}) == 1
    shapes = {
        tuple(sorted((k, v) for k, v in r["headers"].items() if k != "X-Request-Id"))
        for r in responses.values()
    }
    assert len(shapes) == 1
    assert "WWW-Authenticate" in responses["missing"]["headers"]


def test_401_before_routing_so_unknown_paths_reveal_nothing(world, route):
    assert route(world.proxy("/nope"))["statusCode"] == 401


def test_403_not_subscribed(world, route):
    resp = route(world.proxy("/billing/v1/echo/x", key=world.keys["a"]))
    assert resp["statusCode"] == 403
    assert body(resp)["type"].endswith("/not-subscribed")


def test_404_unknown_route_and_draft_never_forwarded(world, route):
    world.upstream_handler = lambda r: pytest.fail("must not be forwarded")
    for path in ("/nope", "/demo/v2/unknown", "/draft/v1/echo/x"):
        assert route(world.proxy(path, key=world.keys["a"]))["statusCode"] == 404


def test_410_retired_api(world, route):
    resp = route(world.proxy("/demo/v0/echo/x", key=world.keys["a"]))
    assert resp["statusCode"] == 410
    assert body(resp)["title"] == "Gone"


def test_200_deprecated_api_carries_deprecation_and_sunset(world, route):
    resp = route(world.proxy("/demo/v1/echo/x", key=world.keys["a"]))
    assert resp["statusCode"] == 200
    assert resp["headers"]["Deprecation"].startswith("@")
    assert resp["headers"]["Sunset"].endswith("GMT")


def test_400_two_api_keys_even_when_api_gateway_comma_joins_them(world, route):
    joined = world.keys["a"] + "," + world.keys["a"]
    resp = route(world.proxy(headers={"x-api-key": joined}))
    assert resp["statusCode"] == 400
    assert body(resp)["type"].endswith("/ambiguous-credentials")


def test_200_base64_request_body_reaches_upstream_as_bytes(world, route):
    ev = world.proxy(
        "/demo/v2/echo/upload",
        key=world.keys["a"],
        method="POST",
        name="http_api_v2_proxy_post_base64",
    )
    resp = route(ev)
    assert resp["statusCode"] == 200
    assert base64.b64decode(body(resp)["body"]) == b"\x00\x01\xff\x80\x80\x80\x01\x02"


def test_200_binary_upstream_body_goes_back_base64(world, route):
    resp = route(world.proxy("/demo/v2/echo/binary", key=world.keys["a"]))
    assert resp["statusCode"] == 200
    assert resp["isBase64Encoded"] is True
    assert base64.b64decode(resp["body"]) == bytes(range(256))


def test_413_body_over_the_limit(world, route, handlers):
    big = b"x" * (handlers["router"].gateway.max_body + 1)
    resp = route(world.proxy(key=world.keys["a"], method="POST", body=big))
    assert resp["statusCode"] == 413


def test_502_and_504_when_the_upstream_fails(world, route):
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    world.upstream_handler = refuse
    assert route(world.proxy(key=world.keys["a"]))["statusCode"] == 502
    world.upstream_handler = slow
    assert route(world.proxy(key=world.keys["a"]))["statusCode"] == 504


def test_502_when_the_upstream_answer_exceeds_the_lambda_payload_limit(world, route):
    world.upstream_handler = lambda r: httpx.Response(
        200, content=b"a" * 6_000_000, headers={"content-type": "text/plain"}
    )
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["statusCode"] == 502
    assert resp["headers"]["X-Request-Id"]


def test_500_problem_document_when_the_handler_itself_breaks(world, route, handlers, monkeypatch):
    def boom(req):
        raise RuntimeError("bug")

    monkeypatch.setattr(handlers["router"].gateway, "decide", boom)
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["statusCode"] == 500
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert resp["headers"]["X-Request-Id"] == "KUs8BiEIIAM0001"


def test_set_cookie_from_upstream_moves_to_cookies(world, route):
    world.upstream_handler = lambda r: httpx.Response(
        200, text="ok", headers={"set-cookie": "a=1; Secure", "content-type": "text/plain"}
    )
    resp = route(world.proxy(key=world.keys["a"]))
    assert resp["cookies"] == ["a=1; Secure"]
    assert "set-cookie" not in {k.lower() for k in resp["headers"]}
    assert resp["body"] == "ok"


def test_one_usage_line_per_metered_request_and_none_for_anonymous(world, route, capsys):
    capsys.readouterr()
    route(world.proxy(key=world.keys["a"]))
    route(world.proxy("/billing/v1/echo/x", key=world.keys["a"]))
    route(world.proxy())  # anonymous: nobody to attribute it to
    lines = usage_lines(capsys.readouterr().out)
    events = [aws_usage.parse(line) for line in lines]
    assert [(e.status, e.cost, e.api_id) for e in events] == [
        (200, 1, "demo-v2"),
        (403, 0, "billing-v1"),
    ]
    assert events[0].request_id == "KUs8BiEIIAM0001"
    assert events[0].consumer_id == "con_a"


def test_emf_metrics_count_requests_throttles_denials_and_upstream_latency(world, route, capsys):
    capsys.readouterr()
    for _ in range(4):
        route(world.proxy(key=world.keys["a"]))
    route(world.proxy())
    m = emf_metrics(capsys.readouterr().out)
    assert m["Requests"] == 5
    assert m["Throttles"] == 1
    assert m["Denials"] == 1
    assert "UpstreamLatency" in m


def test_emf_namespace_is_tollway(world, route, capsys):
    capsys.readouterr()
    route(world.proxy(key=world.keys["a"]))
    emf = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith('{"_aws"')]
    assert emf and all(d["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Tollway" for d in emf)


def test_stage_prefix_is_stripped_on_a_named_stage(world, route):
    ev = world.proxy("/prod/demo/v2/echo/hello", key=world.keys["a"])
    ev["requestContext"]["stage"] = "prod"
    resp = route(ev)
    assert resp["statusCode"] == 200
    assert body(resp)["path"] == "/echo/hello"


def test_400_for_a_body_flagged_base64_that_is_not(world, route):
    ev = world.proxy(key=world.keys["a"], method="POST")
    ev["body"], ev["isBase64Encoded"] = "not base64!", True
    resp = route(ev)
    assert resp["statusCode"] == 400
    assert resp["headers"]["X-Request-Id"] == "KUs8BiEIIAM0001"
