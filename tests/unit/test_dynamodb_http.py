"""The store's own DynamoDB client: its SigV4 signature is botocore's, byte for byte, and
it finds its region, endpoint and credentials where botocore does."""

from __future__ import annotations

import datetime as dt

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from shared.adapters.dynamodb_http import (
    Credentials,
    DynamoHttpClient,
    Signer,
    TransportError,
    default_endpoint,
    host_header,
)

WHEN = dt.datetime(2026, 11, 27, 21, 4, 5, tzinfo=dt.UTC)
AMZ_DATE = "20261127T210405Z"


def _botocore(
    monkeypatch, url: str, region: str, creds: Credentials, target: str, body: bytes
) -> dict[str, str]:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: WHEN.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target},
    )
    boto = BotoCredentials(creds.access_key, creds.secret_key, creds.token)
    botocore.auth.SigV4Auth(boto, "dynamodb", region).add_auth(request)
    return {k.lower(): v for k, v in request.headers.items()}


@pytest.mark.parametrize(
    ("url", "region", "token"),
    [
        ("https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1", None),
        ("https://dynamodb.us-east-1.amazonaws.com", "us-east-1", "FwoGZXIvYXdzEJr//session"),
        ("http://127.0.0.1:8123", "us-east-1", None),
        ("http://localhost:80", "ap-southeast-2", "t"),
    ],
)
@pytest.mark.parametrize(
    "body",
    [
        b'{"TableName":"t","Key":{"pk":{"S":"K#a"},"sk":{"S":"K"}},"ConsistentRead":true}',
        '{"TableName":"t","Item":{"pk":{"S":"é ✓"}}}'.encode(),
        b"{}",
    ],
)
def test_signature_is_botocores(monkeypatch, url, region, token, body):
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    target = "DynamoDB_20120810.GetItem"
    ours = Signer(region).headers(creds, host_header(url), target, body, AMZ_DATE)
    theirs = _botocore(monkeypatch, url, region, creds, target, body)
    assert ours["authorization"] == theirs["authorization"]
    assert ours["x-amz-date"] == theirs["x-amz-date"]
    assert ours.get("x-amz-security-token") == theirs.get("x-amz-security-token")


def test_signing_key_is_derived_once_a_day_and_again_for_a_new_day_or_secret():
    signer = Signer("us-east-1")
    a, b = Credentials("A", "secret-1"), Credentials("A", "secret-2")
    first = signer.headers(a, "h", "T", b"{}", AMZ_DATE)["authorization"]
    assert signer.headers(a, "h", "T", b"{}", AMZ_DATE)["authorization"] == first
    assert len(signer._keys) == 1
    assert signer.headers(b, "h", "T", b"{}", AMZ_DATE)["authorization"] != first
    assert signer.headers(a, "h", "T", b"{}", "20261128T000001Z")["authorization"] != first
    assert len(signer._keys) == 3


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://dynamodb.us-east-1.amazonaws.com", "dynamodb.us-east-1.amazonaws.com"),
        ("https://dynamodb.us-east-1.amazonaws.com:443", "dynamodb.us-east-1.amazonaws.com"),
        ("http://127.0.0.1:80/", "127.0.0.1"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("https://h.example:8443", "h.example:8443"),
        ("http://[::1]:9000", "[::1]:9000"),
    ],
)
def test_host_header_drops_only_the_default_port(url, host):
    assert host_header(url) == host


def test_default_endpoints():
    assert default_endpoint("eu-central-1", {}) == "https://dynamodb.eu-central-1.amazonaws.com"
    assert default_endpoint("cn-north-1", {}) == "https://dynamodb.cn-north-1.amazonaws.com.cn"
    fips = {"AWS_USE_FIPS_ENDPOINT": "true"}
    assert default_endpoint("us-west-2", fips) == "https://dynamodb-fips.us-west-2.amazonaws.com"


@pytest.fixture
def bare_env(monkeypatch):
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def test_region_endpoint_and_credentials_come_from_the_environment_like_botocore(bare_env):
    bare_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    bare_env.setenv("AWS_ACCESS_KEY_ID", "AKID")
    bare_env.setenv("AWS_SECRET_ACCESS_KEY", "S")
    bare_env.setenv("AWS_SESSION_TOKEN", "TOKEN")
    c = DynamoHttpClient()
    assert (c.region, c.endpoint) == ("eu-west-1", "https://dynamodb.eu-west-1.amazonaws.com")
    creds = c._credentials()
    assert (creds.access_key, creds.secret_key, creds.token) == ("AKID", "S", "TOKEN")

    bare_env.setenv("AWS_REGION", "us-west-2")  # Lambda's own variable wins
    bare_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    assert (DynamoHttpClient().region, DynamoHttpClient().endpoint) == (
        "us-west-2",
        "http://127.0.0.1:1",
    )
    bare_env.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2/")
    assert DynamoHttpClient().endpoint == "http://127.0.0.1:2"
    assert DynamoHttpClient(endpoint_url="http://127.0.0.1:3").endpoint == "http://127.0.0.1:3"


def test_no_region_or_no_credentials_is_a_transport_error_not_a_crash(bare_env):
    with pytest.raises(TransportError, match="region"):
        DynamoHttpClient()
    bare_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(TransportError, match="credentials"):
        DynamoHttpClient()
