"""Every error a caller sees is an RFC 9457 problem document (``application/problem+json``).

Service errors, FastAPI's validation errors, Starlette's 404/405 and anything unexpected
all pass through here. Validation errors list the failing fields but never echo the
input (it may be a password). Nothing here includes a stack trace.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.management import errors as svc
from shared.ports import StoreError, StoreUnavailable

log = logging.getLogger("tollway.api")

PROBLEM = "application/problem+json"
TYPE_BASE = "https://tollway.dev/problems/"
WWW_AUTHENTICATE = 'Bearer realm="tollway-management"'


class FieldError(BaseModel):
    field: str  # "body.email", "query.limit"
    detail: str
    type: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


def problem(
    status: int, slug: str, detail: str, *, headers: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = WWW_AUTHENTICATE
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


_KINDS: dict[type[svc.ServiceError], tuple[int, str]] = {
    svc.NotFound: (404, "not-found"),
    svc.Conflict: (409, "conflict"),
    svc.Invalid: (422, "invalid"),
    svc.Forbidden: (403, "forbidden"),
    svc.Unauthorized: (401, "unauthorized"),
    svc.TooManyRequests: (429, "too-many-requests"),
}


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, svc.ServiceError)
    status, slug = next(v for k, v in _KINDS.items() if isinstance(exc, k))
    headers = {}
    if isinstance(exc, svc.TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    errors = [FieldError(field=exc.field, detail=exc.detail, type=slug)] if exc.field else None
    return problem(status, slug, exc.detail, headers=headers, errors=errors)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in problems):
        return problem(400, "malformed-json",
                       "The request body is not valid JSON. Send a JSON document with "
                       "Content-Type: application/json.")
    errors = [
        FieldError(field=_field(tuple(e.get("loc", ()))), detail=str(e.get("msg", "invalid")),
                   type=str(e.get("type", "invalid")))
        for e in problems
    ]
    fields = ", ".join(sorted({e.field for e in errors}))
    return problem(422, "validation", f"Some fields are invalid: {fields}. See 'errors'.",
                   errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 404:
        detail = "No route matches this path. The API is described at /v1/openapi.json."
    elif status == 405:
        allowed = headers.get("Allow") or headers.get("allow") or "see the API description"
        detail = f"This route does not accept {request.method}. Allowed: {allowed}."
    else:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    slug = HTTPStatus(status).phrase.lower().replace(" ", "-")
    return problem(status, slug, detail, headers=headers)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable: %s %s", request.method, request.url.path)
        return problem(503, "store-unavailable", "The store is unavailable. Retry shortly.",
                       headers={"Retry-After": "1"})
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path,
              exc_info=exc)
    return problem(500, "internal", "Something went wrong on our side. It has been logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(svc.ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreError, _store_error)
    app.add_exception_handler(Exception, _unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problems a route may answer (see ``openapi.py``)."""
    return {s: {"model": Problem, "description": HTTPStatus(s).phrase} for s in statuses}
