"""The OpenAPI document is accurate: every route has request and response schemas, every
error is a problem document, and every request body refuses unknown fields."""

import pytest

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
