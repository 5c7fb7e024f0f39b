"""The management function: FastAPI through Mangum, secrets from Secrets Manager (moto),
driven with API Gateway 2.0 events."""

from __future__ import annotations

import copy
import importlib
import json
import sys

import boto3
import pytest
from moto import mock_aws

from shared.adapters.dynamodb import DynamoStore
from shared.clouds.aws import runtime as _runtime
from shared.management import records
from shared.settings import SettingsError
from tests.functional.aws.conftest import catalog, event

ADMIN = "a" * 48
SESSION = "s" * 64


@pytest.fixture
def management(monkeypatch, deployed_table):
    for k in ("TOLLWAY_ADMIN_TOKEN", "TOLLWAY_SESSION_KEYS", "TOLLWAY_JWT_ISSUERS"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        admin = sm.create_secret(
            Name="admin", SecretString=json.dumps({"TOLLWAY_ADMIN_TOKEN": ADMIN})
        )["ARN"]
        session = sm.create_secret(
            Name="session",
            SecretString=json.dumps({"TOLLWAY_SESSION_KEYS": SESSION, "PATH": "/evil"}),
        )["ARN"]
        records.save_unaudited(
            DynamoStore(deployed_table), [records.put_api_write(a) for a in catalog()]
        )
        monkeypatch.setenv("TOLLWAY_STORE", "dynamodb")
        monkeypatch.setenv("TOLLWAY_SECRET_IDS", f"{admin},{session}")
        sys.modules.pop("functions.aws.management", None)
        yield importlib.import_module("functions.aws.management")
    sys.modules.pop("functions.aws.management", None)


def http(path: str, method: str = "GET", headers: dict | None = None) -> dict:
    ev = copy.deepcopy(event("http_api_v2_proxy"))
    ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
    ev["rawQueryString"] = ""
    ev.pop("queryStringParameters", None)
    ev["requestContext"]["http"]["method"] = method
    ev["routeKey"] = ev["requestContext"]["routeKey"] = "$default"
    ev["headers"].update(headers or {})
    return ev


def test_200_healthz_through_mangum(management, ctx):
    resp = management.handler(http("/healthz"), ctx)
    assert resp["statusCode"] == 200
    assert json.loads(resp["body"])["status"] == "ok"


def test_200_catalog_reads_the_table(management, ctx):
    resp = management.handler(http("/v1/catalog"), ctx)
    assert resp["statusCode"] == 200
    names = {(a["name"], a["version"]) for a in json.loads(resp["body"])["items"]}
    assert ("demo", "v2") in names and ("draft", "v1") not in names


def test_secrets_come_from_secrets_manager_and_only_the_known_variables(management):
    assert management.settings.admin_token == ADMIN
    assert management.settings.session_keys == (SESSION,)


def test_a_secret_that_is_not_a_json_object_fails_the_cold_start():
    class Fake:
        def get_secret_value(self, SecretId):
            return {"SecretString": "not json"}

    with pytest.raises(SettingsError, match="not a JSON object"):
        _runtime.with_secrets({"TOLLWAY_SECRET_IDS": "x"}, client=Fake())


def test_no_secret_ids_means_no_secrets_manager_call():
    assert _runtime.with_secrets({"A": "1"}, client=object()) == {"A": "1"}
