"""Schemathesis against the management app's own OpenAPI document, in process.

Every operation is fuzzed as an admin and as a developer, with a bounded number of
derandomised examples: no server errors, every status and content type documented, every
body valid against its documented schema, and schema-invalid requests rejected. Half of
the generated ids are swapped for ids of a seeded world, so id routes are exercised past
their 404s.
"""

from __future__ import annotations

import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from tests.functional.api.harness import ADMIN, ADMIN_TOKEN, CHEAP_HASHER, PASSWORD
from tests.functional.api.harness import settings as app_settings
from tests.support.management_client import management_client

CLOCK = ManualClock()
APP = create_app(store=MemoryStore(CLOCK), clock=CLOCK,
                 settings=app_settings(max_keys_per_consumer=50), password_hasher=CHEAP_HASHER)
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", APP)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def _seed() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Tokens per role, and ids (by path parameter name) each role can use."""
    with management_client(APP) as c:
        def ok(method: str, path: str, **kw: object) -> dict[str, str]:
            resp = c.request(method, path, **kw)  # type: ignore[arg-type]
            assert resp.status_code < 300, resp.text
            return dict(resp.json())

        api = ok("POST", "/v1/admin/apis", headers=ADMIN, json={
            "name": "fuzz", "version": "v1", "base_path": "/fuzz/v1",
            "upstreams": [{"url": "http://upstream.test"}]})
        ok("POST", f"/v1/admin/apis/{api['id']}/lifecycle", headers=ADMIN,
           json={"state": "published"})
        ok("PUT", f"/v1/admin/apis/{api['id']}/openapi", headers=ADMIN,
           json={"openapi": "3.1.0", "info": {"title": "fuzz", "version": "1"}})
        plan = ok("POST", "/v1/admin/plans", headers=ADMIN,
                  json={"name": "Fuzz", "apis": ["fuzz"], "requires_approval": True})
        dev = ok("POST", "/v1/auth/signup", json={"email": "fuzz@example.com",
                                                 "password": PASSWORD})
        bearer = {"Authorization": f"Bearer {dev['access_token']}"}
        key = ok("POST", "/v1/me/keys", headers=bearer, json={"name": "fuzz"})
        sub = ok("POST", "/v1/me/subscriptions", headers=bearer, json={"plan_id": plan["id"]})
    shared = {"api_id": api["id"], "plan_id": plan["id"]}
    developer = {**shared, "key_id": key["id"], "subscription_id": sub["id"]}
    admin = {**shared, "consumer_id": dev["consumer_id"], "account_id": dev["account_id"],
             "subscription_id": sub["id"]}
    return ({"admin": ADMIN_TOKEN, "developer": dev["access_token"]},
            {"admin": admin, "developer": developer})


TOKENS, KNOWN = _seed()


@pytest.fixture(params=sorted(TOKENS))
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _use_known_ids(case: schemathesis.Case, known: dict[str, str]) -> None:
    meta = case.meta
    if not case.path_parameters or (meta and meta.is_negative_at(ParameterLocation.PATH)):
        return
    for name, value in case.path_parameters.items():
        if name in known and zlib.crc32(str(value).encode()) % 2 == 0:
            case.path_parameters[name] = known[name]


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_no_schema_violations(case, role):
    _use_known_ids(case, KNOWN[role])
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS[role]}"}, checks=CHECKS)


# --- the stateful phase: sequences of calls linked through the responses -----------------
# Links are inferred by schemathesis (Location headers, ids named alike in responses and
# parameters), so it creates an API, a plan, keys, subscriptions... and uses their ids in
# later calls. As the admin: the role that reaches every route, and the one whose calls move
# between resources. Every response must be one the document lists (405 included).


class ManagementWorkflows(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"headers": {"Authorization": f"Bearer {TOKENS['admin']}"}}

    def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
        case.validate_response(response, checks=CHECKS)


TestStatefulWorkflows = ManagementWorkflows.TestCase
TestStatefulWorkflows.settings = settings(
    max_examples=12, stateful_step_count=6, deadline=None, derandomize=True,
    suppress_health_check=list(HealthCheck),
)
