"""The test events are what the deployed stack would send, not what we imagined (issue 10).

Checked against two sources: the documented payload formats (API Gateway HTTP API payload
2.0, its REQUEST authorizer payload 2.0, the decoded CloudWatch Logs subscription event)
and template.yaml (the ``$default`` route, the log group names it creates, the filter name
and pattern: only messages matching the pattern are ever delivered).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.adapters import log_usage
from tests.events import regenerate
from tests.functional.aws.conftest import EVENTS, awslogs, event
from tests.functional.aws.test_template_policies import _CfnLoader

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
STAGE = "dev"  # the fixtures' stage

# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
PROXY_KEYS = {"version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
              "queryStringParameters", "requestContext", "body", "pathParameters",
              "isBase64Encoded", "stageVariables"}
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
AUTHORIZER_KEYS = {"version", "type", "routeArn", "identitySource", "routeKey", "rawPath",
                   "rawQueryString", "cookies", "headers", "queryStringParameters",
                   "requestContext", "pathParameters", "stageVariables"}
CONTEXT_KEYS = {"accountId", "apiId", "authentication", "authorizer", "domainName",
                "domainPrefix", "http", "requestId", "routeKey", "stage", "time", "timeEpoch"}
HTTP_KEYS = {"method", "path", "protocol", "sourceIp", "userAgent"}
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
LOGS_KEYS = {"messageType", "owner", "logGroup", "logStream", "subscriptionFilters",
             "logEvents"}

PROXIES = ["http_api_v2_proxy", "http_api_v2_proxy_after_authorizer",
           "http_api_v2_proxy_post_base64"]


def resources() -> dict[str, Any]:
    doc = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return doc["Resources"]


def sub(value: str) -> str:
    return value.replace("${Stage}", STAGE)


def decoded(ev: dict[str, Any]) -> dict[str, Any]:
    return json.loads(gzip.decompress(base64.b64decode(ev["awslogs"]["data"])))


@pytest.mark.parametrize("name", [*PROXIES, "http_api_v2_authorizer_request"])
def test_route_key_is_the_templates_default_route(name):
    route = resources()["GatewayRoute"]["Properties"]["RouteKey"]
    ev = event(name)
    assert route == "$default"
    assert ev["routeKey"] == ev["requestContext"]["routeKey"] == route
    assert "pathParameters" not in ev  # $default has no {proxy+} to fill
    assert ev["requestContext"]["stage"] == "$default"  # GatewayStage


@pytest.mark.parametrize("name", PROXIES)
def test_proxy_events_have_the_documented_shape(name):
    ev = event(name)
    assert ev["version"] == "2.0"
    assert set(ev) <= PROXY_KEYS
    assert set(ev["requestContext"]) <= CONTEXT_KEYS
    assert set(ev["requestContext"]["http"]) == HTTP_KEYS
    assert all(k == k.lower() for k in ev["headers"])  # "All headers are lowercase"
    assert ev["rawPath"] == ev["requestContext"]["http"]["path"]


def test_authorizer_event_has_the_documented_shape_and_route_arn():
    ev = event("http_api_v2_authorizer_request")
    assert ev["version"] == "2.0" and ev["type"] == "REQUEST"
    assert set(ev) <= AUTHORIZER_KEYS
    assert set(ev["requestContext"]) <= CONTEXT_KEYS - {"authorizer"}
    http = ev["requestContext"]["http"]
    api = ev["requestContext"]["apiId"]
    # <api>/<stage>/<METHOD>/<path>, as in the documented sample (…abcdef123/test/GET/request)
    assert re.fullmatch(
        rf"arn:aws:execute-api:[a-z0-9-]+:\d{{12}}:{api}/\$default/{http['method']}"
        + re.escape(ev["rawPath"]), ev["routeArn"])


def test_usage_batch_comes_from_a_log_group_and_filter_the_template_creates():
    res = resources()
    doc = decoded(event("cloudwatch_logs_usage"))
    assert set(doc) == LOGS_KEYS and doc["messageType"] == "DATA_MESSAGE"
    groups = {sub(r["Properties"]["LogGroupName"]) for r in res.values()
              if r["Type"] == "AWS::Logs::LogGroup"}
    assert doc["logGroup"] in groups
    assert doc["logGroup"] == sub(res["RouterLogGroup"]["Properties"]["LogGroupName"])
    assert doc["subscriptionFilters"] == [sub(res["UsageFromRouter"]["Properties"]["FilterName"])]
    # Lambda's log stream names: YYYY/MM/DD/[$LATEST]<32 hex>
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", doc["logStream"])


def test_usage_batch_holds_only_what_the_filter_pattern_delivers():
    res = resources()
    pattern = res["UsageFromRouter"]["Properties"]["FilterPattern"]
    term = pattern.strip('"')
    assert res["UsageFromAuthorizer"]["Properties"]["FilterPattern"] == pattern
    messages = [e["message"] for e in decoded(event("cloudwatch_logs_usage"))["logEvents"]]
    assert messages and all(term in m for m in messages)
    assert not any(m.startswith(("START ", "END ", "REPORT ", '{"_aws"')) for m in messages)
    # The usage lines are byte for byte what the router's sink writes.
    assert [m for m in messages if log_usage.parse(m)] == regenerate.usage_lines()


def test_the_awslogs_helper_delivers_like_the_template_and_refuses_what_it_would_not():
    doc = decoded(awslogs(regenerate.usage_lines()))
    assert doc["logGroup"] == sub(resources()["RouterLogGroup"]["Properties"]["LogGroupName"])
    with pytest.raises(AssertionError):
        awslogs(["START RequestId: x Version: $LATEST\n"])


def test_fixtures_on_disk_are_what_the_generator_writes():
    for name, build in (("cloudwatch_logs_usage", regenerate.usage_event),
                        ("cloudwatch_logs_control", regenerate.control_event)):
        assert decoded(json.loads((EVENTS / f"{name}.json").read_text())) == decoded(build())
