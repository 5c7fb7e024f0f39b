"""The OpenAPI document, made to match what the app really answers.

FastAPI documents only what a route declares. Here every operation also gets the problems
any route can answer: 400 (malformed JSON) when it takes a body, 422 (invalid input,
unknown query parameters), 401/403 when it needs a credential, 503 when the store is down,
405 (with ``Allow``) everywhere and 404 wherever a path parameter may name nothing.
Operation ids are explicit camelCase names (``operation_id``) for generated clients.
Every 4xx/5xx is ``application/problem+json`` with the ``Problem`` schema, replacing
FastAPI's ``HTTPValidationError``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

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
    "405": {"Allow": {"required": True, "schema": {"type": "string"},
                      "description": "The methods the matched route accepts."}},
    "429": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                            "description": "Seconds to wait before trying again."}},
    "503": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1},
                            "description": "Seconds to wait before trying again."}},
}


#: Where two handlers share a function name, the id says whose it is.
_IDS: dict[tuple[str, str], str] = {
    ("GET", "/v1/admin/subscriptions"): "listAllSubscriptions",
    ("GET", "/v1/admin/consumers/{consumer_id}/subscriptions"): "listConsumerSubscriptions",
    ("PATCH", "/v1/admin/consumers/{consumer_id}/subscriptions/{subscription_id}"):
        "updateConsumerSubscription",
    ("DELETE", "/v1/admin/consumers/{consumer_id}/subscriptions/{subscription_id}"):
        "cancelConsumerSubscription",
    ("GET", "/v1/me"): "getMe",
    ("PATCH", "/v1/me"): "updateMe",
}


def operation_id(route: APIRoute) -> str:
    """``operationId``: the handler's name in camelCase (``signup``, ``createKey``,
    ``listPlans``), so generated clients have readable methods, not FastAPI's
    ``signup_v1_auth_signup_post``. Ids must be unique (tests/functional/api/test_openapi.py)."""
    method = sorted(route.methods or {"GET"})[0]
    if (method, route.path_format) in _IDS:
        return _IDS[(method, route.path_format)]
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


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
    # Path parameters may hold any text: a value that names no resource is a 404, and one
    # that makes the path match a sibling route of other methods (``POST
    # /v1/admin/consumers/resume`` is ``GET /v1/admin/consumers/{consumer_id}``) a 405.
    responses["405"] = _problem(405)
    if any(p.get("in") == "path" for p in op.get("parameters", [])):
        responses.setdefault("404", _problem(404))
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
