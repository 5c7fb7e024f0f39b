"""The OpenAPI document, made to match what the app really answers.

FastAPI documents only what a route declares. Here every operation also gets the problems
any route can answer: 400 (malformed JSON) when it takes a body, 422 (invalid input,
unknown query parameters), 401/403 when it needs a credential, 503 when the store is down.
Every 4xx/5xx is ``application/problem+json`` with the ``Problem`` schema, replacing
FastAPI's ``HTTPValidationError``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.api.errors import PROBLEM, Problem

_REF = "#/components/schemas/Problem"

DESCRIPTION = """\
Manage the Tollway API program: the catalog, plans, consumers, keys and usage.

* **Auth**: `Authorization: Bearer <token>`, where the token is a session from
  `POST /v1/auth/login` or `/v1/auth/signup`, or (admins) the configured admin token.
  Routes under `/v1/admin` need the admin role: anonymous callers get 401, developers 403.
* **Errors** are RFC 9457 problem documents (`application/problem+json`); validation
  errors list the failing fields in `errors`.
* **Pages**: list routes take `limit` (1-100, default 50) and `cursor` (the previous
  page's `next_cursor`).
* A developer only ever sees their own keys, subscriptions and usage; another developer's
  ids answer 404.
"""


_HEADERS: dict[str, dict[str, Any]] = {
    "401": {"WWW-Authenticate": {"required": True, "schema": {"type": "string"},
                                 "description": "The scheme to authenticate with: Bearer."}},
    "429": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                            "description": "Seconds to wait before trying again."}},
    "503": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                            "description": "Seconds to wait before trying again."}},
}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {PROBLEM: {"schema": {"$ref": _REF}}},
    }


def _fix(op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses["422"] = _problem(422)  # invalid input, including unknown query parameters
    if op.get("requestBody"):
        responses["400"] = _problem(400)
    if op.get("security"):
        responses.setdefault("401", _problem(401))
        responses.setdefault("403", _problem(403))
    responses["503"] = _problem(503)
    for code, resp in responses.items():
        if code[0] in "45":
            resp["content"] = {PROBLEM: {"schema": {"$ref": _REF}}}
        if code in _HEADERS:
            resp["headers"] = _HEADERS[code]


def build(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    for ops in doc.get("paths", {}).values():
        for op in ops.values():
            _fix(op)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    app.openapi_schema = doc
    return doc
