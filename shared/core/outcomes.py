"""Every way a gateway decision can end, and the one function that maps it to HTTP.

A denial is a normal result, not an exception: each pipeline step returns an
:class:`Outcome`; :func:`problem` turns it into status, headers and an RFC 9457 body.
All credential failures share one byte-identical 401 body so that a caller cannot tell
an unknown key from a revoked one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum


class Outcome(Enum):
    OK = "ok"
    # 400-level input problems
    BAD_REQUEST = "bad-request"
    AMBIGUOUS_CREDENTIALS = "ambiguous-credentials"
    HEADERS_TOO_LARGE = "headers-too-large"
    BODY_TOO_LARGE = "body-too-large"
    # credentials: all map to the same 401
    MISSING_CREDENTIAL = "missing-credential"
    MALFORMED_CREDENTIAL = "malformed-credential"
    UNKNOWN_KEY = "unknown-key"
    REVOKED_KEY = "revoked-key"
    EXPIRED_KEY = "expired-key"
    INVALID_TOKEN = "invalid-token"  # noqa: S105 - an outcome name, not a secret
    UNKNOWN_CONSUMER = "unknown-consumer"
    # authorization
    CONSUMER_SUSPENDED = "consumer-suspended"
    NOT_SUBSCRIBED = "not-subscribed"
    SUBSCRIPTION_PENDING = "subscription-pending"
    INSUFFICIENT_SCOPE = "insufficient-scope"
    IP_DENIED = "ip-denied"
    # limits
    RATE_LIMITED = "rate-limited"
    QUOTA_EXCEEDED = "quota-exceeded"
    # routing
    ROUTE_NOT_FOUND = "route-not-found"
    METHOD_NOT_ALLOWED = "method-not-allowed"
    API_RETIRED = "api-retired"
    # dependencies
    UPSTREAM_ERROR = "upstream-error"
    UPSTREAM_TIMEOUT = "upstream-timeout"
    STORE_UNAVAILABLE = "store-unavailable"
    CIRCUIT_OPEN = "circuit-open"


@dataclass(frozen=True, slots=True)
class _Spec:
    status: int
    title: str
    detail: str


_UNAUTHORIZED = _Spec(
    401,
    "Unauthorized",
    "A valid API key (X-Api-Key header) or bearer token (Authorization header) is required.",
)

_SPECS: dict[Outcome, _Spec] = {
    Outcome.BAD_REQUEST: _Spec(400, "Bad Request", "The request could not be read."),
    Outcome.AMBIGUOUS_CREDENTIALS: _Spec(
        400,
        "Ambiguous credentials",
        "Send exactly one credential: one X-Api-Key header or one Authorization header.",
    ),
    Outcome.HEADERS_TOO_LARGE: _Spec(
        431, "Request Header Fields Too Large", "The request headers exceed the gateway limit."
    ),
    Outcome.BODY_TOO_LARGE: _Spec(
        413, "Content Too Large", "The request body exceeds the gateway limit."
    ),
    Outcome.MISSING_CREDENTIAL: _UNAUTHORIZED,
    Outcome.MALFORMED_CREDENTIAL: _UNAUTHORIZED,
    Outcome.UNKNOWN_KEY: _UNAUTHORIZED,
    Outcome.REVOKED_KEY: _UNAUTHORIZED,
    Outcome.EXPIRED_KEY: _UNAUTHORIZED,
    Outcome.INVALID_TOKEN: _UNAUTHORIZED,
    Outcome.UNKNOWN_CONSUMER: _UNAUTHORIZED,
    Outcome.CONSUMER_SUSPENDED: _Spec(
        403, "Forbidden", "This consumer is suspended. Contact the API provider."
    ),
    Outcome.NOT_SUBSCRIBED: _Spec(
        403, "Forbidden",
        "You are not subscribed to a plan that includes this API. Subscribe to one that does.",
    ),
    Outcome.SUBSCRIPTION_PENDING: _Spec(
        403, "Forbidden", "Your subscription to this API is awaiting approval."
    ),
    Outcome.INSUFFICIENT_SCOPE: _Spec(
        403, "Forbidden", "The credential lacks a scope this route requires."
    ),
    Outcome.IP_DENIED: _Spec(
        403, "Forbidden", "Requests from this address are not allowed to this API."
    ),
    Outcome.RATE_LIMITED: _Spec(
        429, "Too Many Requests", "Rate limit exceeded. Retry after the Retry-After delay."
    ),
    Outcome.QUOTA_EXCEEDED: _Spec(
        429, "Too Many Requests", "Quota exhausted. Retry after the Retry-After delay."
    ),
    Outcome.ROUTE_NOT_FOUND: _Spec(404, "Not Found", "No API route matches this path."),
    Outcome.METHOD_NOT_ALLOWED: _Spec(
        405, "Method Not Allowed", "This route does not accept this method."
    ),
    Outcome.API_RETIRED: _Spec(410, "Gone", "This API version has been retired."),
    Outcome.UPSTREAM_ERROR: _Spec(502, "Bad Gateway", "The upstream service failed to answer."),
    Outcome.UPSTREAM_TIMEOUT: _Spec(
        504, "Gateway Timeout", "The upstream service did not answer in time."
    ),
    Outcome.CIRCUIT_OPEN: _Spec(
        503, "Service Unavailable",
        "The upstream service is failing and the gateway is giving it time to recover. "
        "Retry after the Retry-After delay.",
    ),
    Outcome.STORE_UNAVAILABLE: _Spec(
        503, "Service Unavailable", "The gateway cannot check limits right now. Retry shortly."
    ),
}

PROBLEM_TYPE_BASE = "https://tollway.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"


def _body(outcome: Outcome, spec: _Spec) -> bytes:
    kind = "unauthorized" if spec is _UNAUTHORIZED else outcome.value
    doc = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": spec.title,
        "status": spec.status,
        "detail": spec.detail,
    }
    return _document(doc)


def _document(doc: dict[str, object]) -> bytes:
    """Compact JSON and a final newline (what a terminal and ``curl`` expect of a text
    body). Every door sends these bytes as they are, so they stay identical across doors."""
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


#: The last resort of a front door whose own code failed (AWS and Azure handlers).
INTERNAL_ERROR_BODY = _document({
    "type": PROBLEM_TYPE_BASE + "internal-error",
    "title": "Internal Server Error",
    "status": 500,
    "detail": "The gateway failed unexpectedly. Retry; quote X-Request-Id if it persists.",
})


# Bodies are computed once: the denial path does no JSON work and 401s are byte-identical.
_BODIES: dict[Outcome, bytes] = {o: _body(o, s) for o, s in _SPECS.items()}


def status_of(outcome: Outcome) -> int:
    """HTTP status for a non-OK outcome."""
    return _SPECS[outcome].status


def problem(outcome: Outcome) -> tuple[int, bytes]:
    """Map a denial to (HTTP status, RFC 9457 JSON body). ``Outcome.OK`` is not a problem."""
    if outcome is Outcome.OK:
        raise ValueError("Outcome.OK has no problem document")
    return _SPECS[outcome].status, _BODIES[outcome]


def is_credential_failure(outcome: Outcome) -> bool:
    return _SPECS.get(outcome) is _UNAUTHORIZED
