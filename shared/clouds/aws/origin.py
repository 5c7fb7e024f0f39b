"""The management API is reached through CloudFront only: a secret origin header proves it.

CloudFront adds ``X-Tollway-Origin: <secret>`` to every request it sends to the management
origin (``OriginCustomHeaders`` in template.yaml; the value lives in Secrets Manager and
reaches the function as ``TOLLWAY_ORIGIN_SECRET``). A viewer cannot forge it: CloudFront
overwrites a viewer header of the same name. So:

- without the header (someone calling the execute-api URL directly) the function answers
  403 before the app runs: the direct path is closed, and nobody gets a rate-limit bucket
  of their own by going around the edge;
- with it, the caller's address is the *viewer's*, not the edge's: ``CloudFront-Viewer-
  Address`` (``ip:port``, sent by the origin request policy) or else the hop CloudFront
  appended to ``X-Forwarded-For`` (the one before the edge address API Gateway appended).
  It replaces ``requestContext.http.sourceIp``, which is what Mangum gives the app as the
  client, so the sign-up and log-in limits count people, not CloudFront edges.

Several secrets may be configured (comma-separated, for rotation): any one proves it.
Nothing here trusts a client-sent address unless the secret matched.
"""

from __future__ import annotations

import copy
import hmac
import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from shared.core.outcomes import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE

ORIGIN_HEADER = "x-tollway-origin"
VIEWER_ADDRESS = "cloudfront-viewer-address"

_FORBIDDEN = json.dumps(
    {
        "type": PROBLEM_TYPE_BASE + "forbidden",
        "title": "Forbidden",
        "status": 403,
        "detail": "Call the management API through the portal's address (…/v1/...).",
    },
    separators=(",", ":"),
)


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        return None


def viewer_address(headers: dict[str, str], source_ip: str) -> str:
    """The viewer's IP from CloudFront's headers; ``source_ip`` (the edge) if none parses."""
    given = headers.get(VIEWER_ADDRESS, "")  # "198.51.100.10:46532", "2001:db8::1:46532"
    if ":" in given and (ip := _ip(given.rsplit(":", 1)[0])) is not None:
        return ip
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    if hops and hops[-1] == source_ip:  # API Gateway's own hop: the edge
        hops.pop()
    if hops and (ip := _ip(hops[-1])) is not None:  # CloudFront's hop: the viewer
        return ip
    return source_ip


def through_cloudfront(event: dict[str, Any], secrets: Sequence[str]) -> dict[str, Any] | None:
    """The event to hand to the app (viewer address as ``sourceIp``, the secret header
    removed), or None when the request did not come through CloudFront. With no secret
    configured (tests, a stack without CloudFront) the event passes unchanged."""
    if not secrets:
        return event
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    given = headers.pop(ORIGIN_HEADER, "").encode()
    if not any(hmac.compare_digest(given, s.encode()) for s in secrets):
        return None
    out = copy.copy(event)
    out["headers"] = headers
    ctx = out["requestContext"] = dict(event.get("requestContext") or {})
    http = ctx["http"] = dict(ctx.get("http") or {})
    http["sourceIp"] = viewer_address(headers, str(http.get("sourceIp") or ""))
    return out


def forbidden() -> dict[str, Any]:
    return {
        "statusCode": 403,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": _FORBIDDEN,
        "isBase64Encoded": False,
    }
