"""The app's routes as its own OpenAPI document lists them, classified by who may call.

Tests parametrised over these cover new routes automatically: a route added to the app
is in the matrix on the next run, with no test edit.
"""

from __future__ import annotations

import re
from typing import Any

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from tests.functional.api.harness import CHEAP_HASHER, settings

#: Routes anyone may call. Anything else must declare the bearer security scheme.
PUBLIC = frozenset({
    ("GET", "/healthz"),
    ("POST", "/v1/auth/signup"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/verify"),  # the mailed token is the credential
    ("POST", "/v1/auth/password-reset"),
    ("POST", "/v1/auth/password-reset/confirm"),
    ("GET", "/v1/catalog"),
    ("GET", "/v1/catalog/{api_id}"),
    ("GET", "/v1/catalog/{api_id}/openapi"),
    ("GET", "/v1/plans"),
    ("GET", "/v1/plans/{plan_id}"),
})


def _document() -> dict[str, Any]:
    clock = ManualClock()
    app = create_app(store=MemoryStore(clock), clock=clock, settings=settings(),
                     password_hasher=CHEAP_HASHER)
    return app.openapi()


DOC = _document()
OPERATIONS: list[tuple[str, str, dict[str, Any]]] = [
    (m.upper(), p, op) for p, ops in DOC["paths"].items() for m, op in ops.items()
]


def role(method: str, path: str) -> str:
    if path.startswith("/v1/admin/") or path == "/v1/admin":
        return "admin"
    return "public" if (method, path) in PUBLIC else "developer"


def by_role(wanted: str) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in OPERATIONS if role(m, p) == wanted]


def path_params(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def fill(path: str, values: dict[str, str] | None = None, default: str = "x_unknown") -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: (values or {}).get(m.group(1), default), path)


def has_body(method: str, path: str) -> bool:
    return "requestBody" in DOC["paths"][path][method.lower()]


def body_properties(method: str, path: str) -> set[str]:
    """Top-level fields of the operation's JSON body schema."""
    content = DOC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    schema = content["schema"]
    for alt in schema.get("anyOf", [schema]):
        if "$ref" in alt:
            name = alt["$ref"].rsplit("/", 1)[1]
            return set(DOC["components"]["schemas"][name].get("properties", {}))
    return set()


def ids(ops: list[tuple[str, str]]) -> list[str]:
    return [f"{m} {p}" for m, p in ops]
