"""CORS for the browser pages allowed to call the gateway (the portal's "try it").

Preflights are answered before any credential check, on every front door, because a
browser never sends credentials with one. Other responses to an allowed origin say which
headers the page may read.
"""

from __future__ import annotations

from shared.core.request import GatewayRequest, GatewayResponse, Headers

EXPOSED = "RateLimit, RateLimit-Policy, Retry-After, Deprecation, Sunset, X-Request-Id"
ALLOWED_HEADERS = "X-Api-Key, Authorization, Content-Type, X-Request-Id"
METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD"


def allowed_origin(req: GatewayRequest, origins: frozenset[str]) -> str | None:
    origin = req.header("origin")
    return origin if origin is not None and origin in origins else None


def preflight(req: GatewayRequest, origins: frozenset[str]) -> GatewayResponse | None:
    origin = allowed_origin(req, origins)
    asks = req.header("access-control-request-method") is not None
    if origin is None or req.method != "OPTIONS" or not asks:
        return None
    return GatewayResponse(204, Headers({
        "Access-Control-Allow-Origin": origin,
        "Vary": "Origin",
        "Access-Control-Allow-Methods": METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
    }))


def decorate(req: GatewayRequest, resp: GatewayResponse, origins: frozenset[str]) -> None:
    origin = allowed_origin(req, origins)
    if origin is not None:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers.add("Vary", "Origin")
        resp.headers["Access-Control-Expose-Headers"] = EXPOSED
