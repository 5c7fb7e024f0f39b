"""Responses in the documented 2.0 response format (issue 10 items 1 and 8): every
Set-Cookie in ``cookies``, other repeats comma-joined; the Lambda payload limit checked in
encoded bytes, so a multi-byte UTF-8 body just under fits and just over becomes a 502."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest

from shared.clouds.aws import events as aws_events
from shared.core.request import GatewayResponse, Headers

# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
RESPONSE_KEYS = {"statusCode", "headers", "body", "isBase64Encoded", "cookies"}


@pytest.fixture(autouse=True)
def without_authorizer(monkeypatch, handlers):
    monkeypatch.setattr(handlers["router"], "settings",
                        replace(handlers["router"].settings, authorizer_in_front=False))


@pytest.fixture
def route(handlers, ctx):
    return lambda ev: handlers["router"].handler(ev, ctx)


def test_two_cookies_and_two_vary_survive_in_the_documented_shape(world, route):
    world.upstream_handler = lambda r: httpx.Response(200, text="ok", headers=[
        ("content-type", "text/plain"),
        ("set-cookie", "a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT"),
        ("set-cookie", "b=2; Secure"), ("vary", "Accept"), ("vary", "Accept-Encoding")])
    resp = route(world.proxy(key=world.keys["a"]))
    assert set(resp) <= RESPONSE_KEYS
    assert resp["cookies"] == ["a=1; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT",
                               "b=2; Secure"]  # a comma inside a cookie stays one cookie
    vary = {k.lower(): v for k, v in resp["headers"].items()}["vary"]
    assert [v.strip() for v in vary.split(",")] == ["Accept", "Accept-Encoding"]
    assert all(isinstance(v, str) for v in resp["headers"].values())


def _json_bytes(body: bytes) -> int:
    return len(json.dumps(body.decode()))


def test_multi_byte_body_just_under_the_limit_fits_and_just_over_does_not():
    # json.dumps escapes non-ASCII, so 3 bytes of "€" cost 6 in the payload: find the
    # largest body that fits and check one more character does not.
    limit = aws_events.MAX_RESPONSE_BYTES
    chars = (limit - 2) // 6
    under = ("€" * chars).encode()
    over = ("€" * (chars + 1)).encode()
    assert len(under.decode()) < limit // 2  # far under the limit counted in characters
    headers = Headers({"content-type": "text/plain; charset=utf-8"})
    assert _json_bytes(under) <= limit < _json_bytes(over)
    assert aws_events.fits(GatewayResponse(200, headers, under))
    assert not aws_events.fits(GatewayResponse(200, headers, over))


def test_router_answers_502_for_the_body_over_and_200_for_the_body_under(world, route):
    limit = aws_events.MAX_RESPONSE_BYTES
    chars = (limit - 2) // 6
    for n, status in ((chars, 200), (chars + 1, 502)):
        world.upstream_handler = lambda r, n=n: httpx.Response(
            200, content=("€" * n).encode(), headers={"content-type": "text/plain"})
        assert route(world.proxy(key=world.keys["a"]))["statusCode"] == status
