"""The OpenAPI document is accurate: every route has request and response schemas, every
error is a problem document, and every request body refuses unknown fields."""

import pytest

from tests.functional.api.harness import ADMIN
from tests.security.routes import DOC, OPERATIONS

SCHEMAS = DOC["components"]["schemas"]
#: The one body that is open by design: an API's OpenAPI document, stored as given.
OPEN_BODIES = {"OpenApiDocumentIn"}


def resolve(schema):
    for alt in schema.get("anyOf", [schema]):
        if "$ref" in alt:
            name = alt["$ref"].rsplit("/", 1)[1]
            return name, SCHEMAS[name]
    return None, schema


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_documents_its_success_and_error_bodies(method, path, op):
    assert op.get("summary") and op.get("tags")
    success = [c for c in op["responses"] if c.startswith("2")]
    assert len(success) == 1
    if success[0] != "204":
        assert op["responses"][success[0]]["content"]["application/json"]["schema"]
    for code, resp in op["responses"].items():
        if code[0] in "45":
            assert resp["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert {"422", "503"} <= set(op["responses"])


@pytest.mark.parametrize(("method", "path", "op"),
                         [o for o in OPERATIONS if "requestBody" in o[2]],
                         ids=[f"{m} {p}" for m, p, o in OPERATIONS if "requestBody" in o])
def test_every_request_body_refuses_unknown_fields(method, path, op):
    name, schema = resolve(op["requestBody"]["content"]["application/json"]["schema"])

    assert name is not None
    if name not in OPEN_BODIES:
        assert schema.get("additionalProperties") is False, name
    assert "400" in op["responses"]  # malformed JSON


def test_operation_ids_are_unique_camel_case_names_not_fastapis_defaults():
    ids = [op["operationId"] for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids))
    assert all(i.isidentifier() and i[0].islower() and "_" not in i for i in ids), ids
    by_route = {(m, p): op["operationId"] for m, p, op in OPERATIONS}
    assert by_route[("POST", "/v1/auth/signup")] == "signup"
    assert by_route[("POST", "/v1/me/keys")] == "createKey"
    assert by_route[("GET", "/v1/admin/plans")] == "listPlans"


def test_a_plans_apis_are_one_string_schema_whose_pattern_admits_star():
    import re

    for name in ("PlanCreateIn", "PlanUpdateIn"):
        apis = SCHEMAS[name]["properties"]["apis"]
        items = next(a for a in apis.get("anyOf", [apis]) if a.get("type") == "array")["items"]
        assert items["type"] == "string" and "anyOf" not in items, items
        assert re.match(items["pattern"], "*") and re.match(items["pattern"], "demo")
        assert not re.match(items["pattern"], "Demo") and not re.match(items["pattern"], "**")


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_lists_405_with_allow_and_404_when_it_has_path_parameters(
        method, path, op):
    assert op["responses"]["405"]["headers"]["Allow"]["required"] is True
    if "{" in path:
        assert "404" in op["responses"]


def test_a_path_value_that_matches_a_sibling_route_is_the_documented_405(h):
    # what schemathesis's stateful phase found: POST .../consumers/{id}/resume with an empty
    # id is POST /v1/admin/consumers/resume, i.e. GET /v1/admin/consumers/{consumer_id}
    resp = h.client.post("/v1/admin/consumers/resume", headers=ADMIN)
    assert resp.status_code == 405 and resp.headers["allow"] == "GET"
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.content.endswith(b"}\n")
