"""The usage export's token on AWS comes from Secrets Manager (moto), as the other secrets
do: the jobs function's cold start reads the secret named in ``TOLLWAY_SECRET_IDS`` and
takes ``TOLLWAY_EXPORT_TOKEN`` from it, and nothing else the secret holds."""

from __future__ import annotations

import json

import botocore.session
import pytest
from moto import mock_aws

from shared.clouds.aws import runtime
from shared.settings import from_env
from shared.wiring import build_exporter


@pytest.fixture
def secrets():
    with mock_aws():
        yield botocore.session.get_session().create_client(
            "secretsmanager", region_name="us-east-1", aws_access_key_id="testing",
            aws_secret_access_key="testing")


def test_the_export_token_is_read_from_its_secret(secrets):
    arn = secrets.create_secret(
        Name="tollway-dev-export",
        SecretString=json.dumps({"TOLLWAY_EXPORT_TOKEN": "om_token", "TOLLWAY_STORE": "x"}),
    )["ARN"]
    env = {"TOLLWAY_STORE": "memory", "TOLLWAY_SECRET_IDS": arn,
           "TOLLWAY_EXPORT_URL": "https://openmeter.cloud",
           "TOLLWAY_EXPORT_SOURCE": "tollway/dev"}
    got = runtime.with_secrets(env, client=secrets)
    assert got["TOLLWAY_EXPORT_TOKEN"] == "om_token"
    assert got["TOLLWAY_STORE"] == "memory"  # only the known variables come from a secret
    settings = from_env(got)
    assert (settings.export_url, settings.export_token, settings.export_source) == (
        "https://openmeter.cloud", "om_token", "tollway/dev")
    assert "om_token" not in repr(settings)
    assert build_exporter(settings) is not None


def test_an_empty_token_is_a_self_hosted_target_without_auth(secrets):
    # What the template creates before the operator puts a token in.
    arn = secrets.create_secret(
        Name="tollway-dev-export", SecretString='{"TOLLWAY_EXPORT_TOKEN": ""}')["ARN"]
    got = runtime.with_secrets({"TOLLWAY_SECRET_IDS": arn,
                                "TOLLWAY_EXPORT_URL": "http://openmeter.internal:8888"},
                               client=secrets)
    settings = from_env({**got, "TOLLWAY_STORE": "memory"})
    assert settings.export_token == ""
    assert build_exporter(settings) is not None
