"""Schemathesis against the management app's own OpenAPI document, in process.

Every operation is fuzzed as an admin and as a developer, with a bounded number of
examples: no server errors, every status and content type documented, every body valid
against its documented schema, and schema-invalid requests rejected.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from tests.functional.api.harness import ADMIN_TOKEN, CHEAP_HASHER, PASSWORD
from tests.functional.api.harness import settings as app_settings

CLOCK = ManualClock()
STORE = MemoryStore(CLOCK)
APP = create_app(store=STORE, clock=CLOCK, settings=app_settings(max_keys_per_consumer=50),
                 password_hasher=CHEAP_HASHER)
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def _developer_token() -> str:
    case = schema["/v1/auth/signup"]["POST"].Case(
        body={"email": "fuzz@example.com", "password": PASSWORD})
    return str(case.call().json()["access_token"])


TOKENS = {"admin": ADMIN_TOKEN, "developer": _developer_token()}


@pytest.fixture(params=sorted(TOKENS))
def token(request: pytest.FixtureRequest) -> str:
    return TOKENS[request.param]


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_no_schema_violations(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
