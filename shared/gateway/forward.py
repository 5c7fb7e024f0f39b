"""What crosses the gateway: the headers an upstream receives and the client gets back.

The gateway owns ``X-Tollway-*`` (the identity it asserts to upstreams), ``X-Request-Id``
and ``X-Forwarded-For``: whatever a client sends under those names is dropped or appended
to, never passed through, so an upstream can trust the values it receives. Credentials
never leave the gateway, and neither do hop-by-hop headers or headers a ``Connection``
header names (RFC 9110 7.6.1).
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.core.request import HOP_BY_HOP, GatewayRequest, Headers

OWNED_PREFIX = "x-tollway-"
CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})
_REPLACED = frozenset({"x-request-id", "x-forwarded-for"})


def _connection_named(pairs: Iterable[tuple[str, str]]) -> set[str]:
    return {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
        if token.strip()
    }


def upstream_headers(
    req: GatewayRequest, *, correlation_id: str, consumer_id: str, plan_id: str
) -> tuple[tuple[str, str], ...]:
    dropped = HOP_BY_HOP | CREDENTIAL_HEADERS | _REPLACED | _connection_named(req.headers)
    out = [
        (k, v) for k, v in req.headers if k not in dropped and not k.startswith(OWNED_PREFIX)
    ]
    out += [
        ("x-request-id", correlation_id),
        ("x-tollway-consumer", consumer_id),
        ("x-tollway-plan", plan_id),
    ]
    chain = [v.strip() for v in req.header_values("x-forwarded-for") if v.strip()]
    if req.source_ip:
        chain.append(req.source_ip)
    if chain:  # appended to, never replaced: only the last hop is the gateway's word
        out.append(("x-forwarded-for", ", ".join(chain)))
    return tuple(out)


def client_headers(upstream: Iterable[tuple[str, str]], own: Headers) -> Headers:
    """The upstream's headers (repeats kept) minus hop-by-hop, then the gateway's own."""
    pairs = list(upstream)
    dropped = HOP_BY_HOP | _connection_named(pairs)
    out = Headers((k, v) for k, v in pairs if k.lower() not in dropped)
    out.update(own)
    return out
