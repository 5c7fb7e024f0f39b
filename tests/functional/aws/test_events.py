"""The translation at the edges: API Gateway 2.0 events, response dicts, authorizer context
and usage lines, on the fixture events (no store, no handler)."""

from __future__ import annotations

import copy
import json

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
)

from shared.adapters import log_usage as aws_usage
from shared.clouds.aws import events as aws_events
from shared.core.models import UsageEvent, to_dict
from shared.core.outcomes import Outcome
from shared.core.request import GatewayResponse
from shared.gateway.service import Verdict
from tests.functional.aws.conftest import event


def proxy(**changes) -> APIGatewayProxyEventV2:
    ev = copy.deepcopy(event("http_api_v2_proxy"))
    ev.update(changes)
    return APIGatewayProxyEventV2(ev)


def test_proxy_event_becomes_one_gateway_request():
    req = aws_events.to_request(proxy())
    assert (req.method, req.path, req.query) == ("GET", "/demo/v2/echo/hello", "lang=en&page=2")
    assert req.header("cookie") == "session=abc123; theme=dark"
    assert req.request_id == "KUs8BiEIIAMEVdw"
    assert req.source_ip == "203.0.113.10"
    assert req.header("x-forwarded-for") is None  # API Gateway's own hop; the gateway re-adds it
    assert req.body == b""


def test_authorizer_event_becomes_the_same_kind_of_request():
    ev = APIGatewayAuthorizerEventV2(event("http_api_v2_authorizer_request"))
    req = aws_events.to_request(ev)
    assert (req.method, req.path, req.query) == ("GET", "/demo/v2/echo/hello", "lang=en")
    assert req.request_id == "KUs8DkGKoAMEb_x"  # '/' made URL-safe, '=' dropped


def test_client_forwarded_for_chain_is_kept_without_api_gateways_hop():
    ev = proxy()
    ev["headers"]["x-forwarded-for"] = "198.51.100.1, 203.0.113.10"
    assert aws_events.to_request(ev).header("x-forwarded-for") == "198.51.100.1"


def test_base64_body_is_decoded_and_garbage_is_a_bad_event():
    post = APIGatewayProxyEventV2(event("http_api_v2_proxy_post_base64"))
    assert aws_events.to_request(post).body == b"\x00\x01\xff\x80\x80\x80\x01\x02"
    with pytest.raises(aws_events.BadEvent):
        aws_events.to_request(proxy(body="not base64!", isBase64Encoded=True))


def test_plain_text_body_is_utf8():
    assert aws_events.to_request(proxy(body="héllo")).body == "héllo".encode()


def test_response_text_stays_text_binary_goes_base64_empty_is_empty():
    text = aws_events.to_response(
        GatewayResponse(200, {"Content-Type": "application/json"}, b'{"a":1}')
    )
    assert (text["body"], text["isBase64Encoded"]) == ('{"a":1}', False)
    binary = aws_events.to_response(GatewayResponse(200, {"Content-Type": "image/png"}, b"\x89P"))
    assert (binary["body"], binary["isBase64Encoded"]) == ("iVA=", True)
    latin = aws_events.to_response(GatewayResponse(200, {}, b"\xff\xfe"))
    assert latin["isBase64Encoded"] is True
    empty = aws_events.to_response(GatewayResponse(204, {}, b""))
    assert (empty["statusCode"], empty["body"], empty["isBase64Encoded"]) == (204, "", False)


def test_verdict_round_trips_through_authorizer_context():
    v = Verdict(
        Outcome.OK,
        "rid-12345678",
        consumer_id="c",
        key_id="k",
        plan_id="p",
        subscription_id="s",
        cost=2,
        headers={"RateLimit": '"per-minute";r=1;t=3'},
    )
    ctx = aws_events.verdict_context(v)
    ev = proxy()
    ev["requestContext"]["authorizer"] = {"lambda": ctx}
    back = aws_events.trusted_verdict(ev).verdict()
    assert (back.request_id, back.consumer_id, back.key_id, back.plan_id, back.cost) == (
        "rid-12345678",
        "c",
        "k",
        "p",
        2,
    )
    assert back.headers == v.headers


@pytest.mark.parametrize(
    "broken",
    [
        {"mark": "tollway/1", "consumer": ""},
        {"mark": "tollway/1", "consumer": "c", "headers": "[1, 2]"},
        {"mark": "tollway/1", "consumer": "c", "headers": "{not json"},
        {"mark": "tollway/1", "consumer": "c", "cost": "many"},
        {"consumer": "c"},
    ],
)
def test_context_that_is_not_ours_or_is_broken_is_not_trusted(broken):
    ev = proxy()
    ev["requestContext"]["authorizer"] = {"lambda": broken}
    assert aws_events.trusted_verdict(ev) is None


GOOD = to_dict(
    UsageEvent(
        "rid-12345678",
        1767225610.0,
        "con_a",
        "key_a",
        "demo-v2",
        "/echo/*",
        "GET",
        200,
        0,
        10,
        1.5,
        1,
    )
)


def line(**changes) -> str:
    return aws_usage.PREFIX + json.dumps({**GOOD, **changes})


def test_usage_line_round_trips():
    assert to_dict(aws_usage.parse(line())) == GOOD


@pytest.mark.parametrize(
    "message",
    [
        json.dumps({"message": line()}),  # quoted inside another log line
        " " + line(),
        line()[:-5],  # truncated
        line(status="200"),
        line(status=True),
        line(cost=-1),
        line(latency_ms=float("nan")),
        line(request_id=""),
        line(consumer_id=None),
        aws_usage.PREFIX + "[1, 2]",
    ],
)
def test_usage_parse_rejects_anything_but_a_well_formed_line(message):
    assert aws_usage.parse(message) is None


def test_usage_sink_never_raises():
    class Broken:
        def write(self, _):
            raise OSError("stdout closed")

        def flush(self):
            pass

    aws_usage.LogLineSink(Broken()).emit(aws_usage.parse(line()))
