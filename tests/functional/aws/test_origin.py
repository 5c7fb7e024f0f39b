"""The management API behind CloudFront (issue 10 item 3): the secret origin header closes
the direct execute-api path and is the only thing that makes CloudFront's viewer address
the client's, so sign-up and log-in limits count people, not edges."""

from __future__ import annotations

import importlib
import json
import sys

import boto3
import pytest
from moto import mock_aws

from shared.clouds.aws import origin
from tests.functional.aws.test_fixtures import resources
from tests.functional.aws.test_management import ADMIN, SESSION, http

SECRET = "o" * 48
EDGE = "130.176.1.10"  # a CloudFront edge: what API Gateway sees as sourceIp
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def management(monkeypatch, deployed_table):
    for k in ("TOLLWAY_ADMIN_TOKEN", "TOLLWAY_SESSION_KEYS", "TOLLWAY_ORIGIN_SECRET"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        ids = [
            sm.create_secret(Name=name, SecretString=json.dumps({var: value}))["ARN"]
            for name, var, value in (("admin", "TOLLWAY_ADMIN_TOKEN", ADMIN),
                                     ("session", "TOLLWAY_SESSION_KEYS", SESSION),
                                     ("origin", "TOLLWAY_ORIGIN_SECRET", SECRET))
        ]
        monkeypatch.setenv("TOLLWAY_STORE", "dynamodb")
        monkeypatch.setenv("TOLLWAY_SECRET_IDS", ",".join(ids))
        sys.modules.pop("functions.aws.management", None)
        yield importlib.import_module("functions.aws.management")
    sys.modules.pop("functions.aws.management", None)


def via_cloudfront(path: str, viewer: str | None, *, method: str = "GET", body=None,
                   secret: str | None = SECRET, viewer_header: bool = True) -> dict:
    """An event as API Gateway delivers a request CloudFront forwarded for ``viewer``."""
    headers = {"x-forwarded-for": f"{viewer}, {EDGE}" if viewer else EDGE,
               "via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)"}
    if secret is not None:
        headers[origin.ORIGIN_HEADER] = secret
    if viewer and viewer_header:
        headers[origin.VIEWER_ADDRESS] = f"{viewer}:46532"
    ev = http(path, method, headers)
    ev["requestContext"]["http"]["sourceIp"] = EDGE
    if body is not None:
        ev["body"], ev["isBase64Encoded"] = json.dumps(body), False
        ev["headers"]["content-type"] = "application/json"
    return ev


def signup(management, ctx, viewer: str, n: int, **kw) -> int:
    body = {"email": f"dev{n}@example.com", "password": PASSWORD}
    ev = via_cloudfront("/v1/auth/signup", viewer, method="POST", body=body, **kw)
    return management.handler(ev, ctx)["statusCode"]


def test_403_problem_on_the_direct_execute_api_path(management, ctx):
    direct = http("/healthz")  # no origin header: someone called execute-api directly
    resp = management.handler(direct, ctx)
    assert resp["statusCode"] == 403
    assert json.loads(resp["body"])["status"] == 403
    forged = via_cloudfront("/healthz", "203.0.113.5", secret="x" * 48)
    assert management.handler(forged, ctx)["statusCode"] == 403
    assert management.handler(via_cloudfront("/healthz", "203.0.113.5"), ctx)["statusCode"] == 200


def test_twenty_people_behind_one_edge_each_get_their_own_sign_up_bucket(management, ctx):
    statuses = [signup(management, ctx, f"198.51.100.{i}", i) for i in range(1, 22)]
    assert statuses == [201] * 21  # one edge address, 21 viewers: nobody is refused


def test_one_viewer_is_limited_whichever_edge_it_comes_through(management, ctx):
    statuses = [signup(management, ctx, "203.0.113.9", i) for i in range(21)]
    assert statuses[:20] == [201] * 20 and statuses[20] == 429


def test_x_forwarded_for_is_the_fallback_and_a_spoofed_hop_is_ignored(management, ctx):
    # Without CloudFront-Viewer-Address the hop CloudFront appended (before the edge's) is
    # the viewer; what the client put first in X-Forwarded-For is not trusted.
    headers = {"x-forwarded-for": f"6.6.6.6, 198.51.100.77, {EDGE}",
               origin.ORIGIN_HEADER: SECRET}
    assert origin.viewer_address(headers, EDGE) == "198.51.100.77"
    assert origin.viewer_address({origin.VIEWER_ADDRESS: "2001:db8::7:443"}, EDGE) == "2001:db8::7"
    assert origin.viewer_address({}, EDGE) == EDGE
    statuses = [signup(management, ctx, "198.51.100.77", i, viewer_header=False)
                for i in range(21)]
    assert statuses[20] == 429


def test_the_secret_never_reaches_the_app_and_nothing_passes_unchecked_when_configured():
    ev = via_cloudfront("/healthz", "198.51.100.1")
    admitted = origin.through_cloudfront(ev, (SECRET,))
    assert origin.ORIGIN_HEADER not in admitted["headers"]
    assert admitted["requestContext"]["http"]["sourceIp"] == "198.51.100.1"
    assert ev["requestContext"]["http"]["sourceIp"] == EDGE  # the event itself is untouched
    assert origin.through_cloudfront(ev, ("n" * 48, SECRET)) is not None  # during rotation
    assert origin.through_cloudfront(http("/healthz"), (SECRET,)) is None


def test_template_wires_the_secret_from_secrets_manager_to_cloudfront_and_the_function():
    res = resources()
    secret = res["OriginSecret"]["Properties"]["GenerateSecretString"]
    assert secret["GenerateStringKey"] == "TOLLWAY_ORIGIN_SECRET"
    assert secret["PasswordLength"] >= 32
    (mgmt,) = [o for o in res["PortalDistribution"]["Properties"]["DistributionConfig"]["Origins"]
               if o["Id"] == "management"]
    (header,) = mgmt["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == origin.ORIGIN_HEADER
    assert "resolve:secretsmanager:${OriginSecret}" in header["HeaderValue"]
    fn = res["ManagementFunction"]["Properties"]["Environment"]["Variables"]
    assert "OriginSecret" in str(fn["TOLLWAY_SECRET_IDS"])
    assert "execute-api" not in str(
        yaml_outputs()["ManagementUrl"]["Value"])  # the advertised URL is CloudFront's


def yaml_outputs():
    import yaml

    from tests.functional.aws.test_fixtures import TEMPLATE
    from tests.functional.aws.test_template_policies import _CfnLoader

    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Outputs"]
