"""API Gateway HTTP API (payload 2.0) events <-> the cloud-neutral request and response.

Inbound, both the proxy event and the REQUEST authorizer event become one
:class:`GatewayRequest`:

- ``rawPath`` (still percent-encoded, like the local front door's ``raw_path``), without
  the stage prefix when the stage is not ``$default``; ``rawQueryString`` as is.
- Headers: API Gateway already lower-cases names and joins repeated headers with commas.
  Credential headers are split back on commas, so two ``X-Api-Key`` headers stay two
  values (and the gateway answers 400 "ambiguous"), exactly as on the local stack.
- ``cookies`` (a separate list in 2.0) become one ``cookie`` header.
- The request id is API Gateway's ``requestContext.requestId`` (made URL-safe), passed as
  ``GatewayRequest.request_id``: it is the same in the authorizer, the router, the access
  log and X-Ray, and metering deduplicates by it. A client's ``X-Request-Id`` is only a
  correlation id, propagated upstream and echoed back, never the metering key.
- Bodies are base64-decoded when ``isBase64Encoded``.

Outbound, a :class:`GatewayResponse` becomes the 2.0 response dict; bodies that are not
UTF-8 text are base64-encoded, every ``Set-Cookie`` goes to ``cookies`` and other repeated
headers are comma-joined (RFC 9110 5.3).

The authorizer hands its verdict to the router as flat ``context`` (strings, numbers and
booleans only: API Gateway rejects nested values); :func:`verdict_context` and
:func:`trusted_verdict` are the two ends of that hand-off.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.outcomes import (
    INTERNAL_ERROR_BODY,
    PROBLEM_CONTENT_TYPE,
    Outcome,
)
from shared.core.request import GatewayRequest, GatewayResponse
from shared.gateway.service import Verdict

#: Headers whose repeated values API Gateway comma-joins and that never contain a comma
#: themselves (API keys, bearer tokens): split back so duplicates stay detectable.
_SPLIT_ON_COMMA = frozenset({"x-api-key", "authorization"})

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/problem+json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
)

#: Lambda's synchronous response payload limit is 6 MB; leave room for headers and JSON.
MAX_RESPONSE_BYTES = 5_900_000

#: A 2.0 proxy or REQUEST authorizer event: the dict Lambda passes (or any mapping over it,
#: such as Powertools' data classes). Read with ``.get`` only: no Powertools on this path,
#: whose event classes cost cold start (issue 11).
AnyV2Event = Mapping[str, Any]


def _context(event: AnyV2Event) -> Mapping[str, Any]:
    ctx = event.get("requestContext")
    return ctx if isinstance(ctx, Mapping) else {}

#: Marks context written by *our* authorizer; the router trusts nothing else.
CONTEXT_MARK = "tollway/1"


class BadEvent(ValueError):
    """An event API Gateway would not send (e.g. a body that is not base64)."""


def request_id_of(event: AnyV2Event) -> str:
    """API Gateway's request id (base64-ish, e.g. ``KUs8BiEIIAMEVdw=``), made URL-safe."""
    raw = str((event.get("requestContext") or {}).get("requestId") or "")
    return raw.rstrip("=").replace("+", "-").replace("/", "_")


def _path(event: AnyV2Event) -> str:
    path = event.get("rawPath") or "/"
    stage = _context(event).get("stage") or "$default"
    if stage != "$default":
        prefix = f"/{stage}"
        if path == prefix:
            return "/"
        if path.startswith(prefix + "/"):
            return path[len(prefix) :]
    return path


def to_request(event: AnyV2Event) -> GatewayRequest:
    """Translate a 2.0 proxy event or a 2.0 REQUEST authorizer event."""
    headers: list[tuple[str, str]] = []
    for name, value in (event.get("headers") or {}).items():
        name, value = str(name).lower(), str(value)
        if name in _SPLIT_ON_COMMA and "," in value:
            headers.extend((name, part.strip()) for part in value.split(","))
        else:
            headers.append((name, value))
    http = _context(event).get("http") or {}
    source_ip = http.get("sourceIp") or ""
    _drop_own_hop(headers, source_ip)
    cookies = event.get("cookies") or []  # absent, not empty, when there are none
    if cookies:
        headers.append(("cookie", "; ".join(cookies)))
    return GatewayRequest(
        method=http.get("method") or "",
        path=_path(event),
        query=event.get("rawQueryString") or "",
        headers=tuple(headers),
        body=_body(event),
        source_ip=source_ip,
        request_id=request_id_of(event),
    )


def _drop_own_hop(headers: list[tuple[str, str]], source_ip: str) -> None:
    """API Gateway has already appended the caller's address to ``X-Forwarded-For``; the
    gateway appends ``source_ip`` itself (as the local front door does), so take it off."""
    for i, (name, value) in enumerate(headers):
        if name != "x-forwarded-for" or not source_ip:
            continue
        hops = [h.strip() for h in value.split(",")]
        if hops and hops[-1] == source_ip:
            hops.pop()
            if hops:
                headers[i] = (name, ", ".join(hops))
            else:
                del headers[i]
        return


def _body(event: AnyV2Event) -> bytes:
    body = event.get("body")  # absent from authorizer events
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadEvent("isBase64Encoded body is not base64") from None
    return str(body).encode("utf-8")


def _is_text(content_type: str) -> bool:
    ct = content_type.split(";", 1)[0].strip().lower()
    return ct.startswith(_TEXT_TYPES) or ct.endswith(("+json", "+xml"))


def to_response(resp: GatewayResponse) -> dict[str, Any]:
    """The 2.0 response dict. Binary (or undeclared, non-UTF-8) bodies go base64."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    content_type = ""
    for name, value in resp.headers.items():
        low = name.lower()
        if low == "set-cookie":  # each cookie its own entry: a comma is part of a cookie
            cookies.append(value)
            continue
        if low == "content-type":
            content_type = value
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    out: dict[str, Any] = {"statusCode": resp.status, "headers": headers}
    if cookies:
        out["cookies"] = cookies
    body, encoded = resp.body, False
    text: str | None = None
    if not body:
        text = ""
    elif _is_text(content_type) or not content_type:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    out["body"] = text
    out["isBase64Encoded"] = encoded
    return out


_INTERNAL = INTERNAL_ERROR_BODY.decode()


def fits(resp: GatewayResponse) -> bool:
    """Whether the response fits Lambda's payload limit, in encoded bytes: base64 grows a
    binary body by a third, JSON escaping a text body by what it escapes."""
    body = to_response(resp)["body"]
    return len(json.dumps(body)) <= MAX_RESPONSE_BYTES


def internal_error(request_id: str) -> dict[str, Any]:
    """Last resort when a handler itself fails: still a problem document, still traceable."""
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE}
    if request_id:
        headers["X-Request-Id"] = request_id
    return {"statusCode": 500, "headers": headers, "body": _INTERNAL, "isBase64Encoded": False}


# --- authorizer -> router hand-off ---------------------------------------------------------


def verdict_context(v: Verdict) -> dict[str, str | int | bool]:
    """What an allowing authorizer passes on (``requestContext.authorizer.lambda``)."""
    return {
        "mark": CONTEXT_MARK,
        "outcome": v.outcome.value,
        "requestId": v.request_id,
        "consumer": v.consumer_id,
        "keyId": v.key_id,
        "plan": v.plan_id,
        "subscription": v.subscription_id,
        "cost": v.cost,
        "failOpen": v.fail_open,
        "headers": json.dumps(v.headers, separators=(",", ":")),
    }


@dataclass(frozen=True, slots=True)
class Trusted:
    """The part of an authorizer's verdict the router resumes from."""

    request_id: str
    outcome: Outcome
    consumer_id: str
    key_id: str
    plan_id: str
    subscription_id: str
    cost: int
    fail_open: bool
    headers: Mapping[str, str]

    def verdict(self) -> Verdict:
        return Verdict(
            self.outcome,
            self.request_id,
            consumer_id=self.consumer_id,
            key_id=self.key_id,
            plan_id=self.plan_id,
            subscription_id=self.subscription_id,
            cost=self.cost,
            fail_open=self.fail_open,
            headers=dict(self.headers),
        )


def trusted_verdict(event: AnyV2Event) -> Trusted | None:
    """The allow our authorizer attached to this proxy event, or None (no authorizer in
    front, or context that is not ours: then the router runs the whole pipeline)."""
    ctx = (_context(event).get("authorizer") or {}).get("lambda") or {}
    if not isinstance(ctx, Mapping) or ctx.get("mark") != CONTEXT_MARK:
        return None
    consumer = ctx.get("consumer")
    if not isinstance(consumer, str):
        return None
    try:
        headers = json.loads(str(ctx.get("headers") or "{}"))
        if not isinstance(headers, dict):
            return None
        outcome = Outcome(str(ctx.get("outcome") or Outcome.OK.value))
        if outcome not in (Outcome.OK, Outcome.STORE_UNAVAILABLE):
            return None
        if outcome is Outcome.OK and not consumer:
            return None
        return Trusted(
            request_id=str(ctx.get("requestId") or request_id_of(event)),
            outcome=outcome,
            consumer_id=consumer,
            key_id=str(ctx.get("keyId") or ""),
            plan_id=str(ctx.get("plan") or ""),
            subscription_id=str(ctx.get("subscription") or ""),
            cost=int(ctx.get("cost") or 0),
            fail_open=ctx.get("failOpen") in (True, "true"),  # context values may be strings
            headers={str(k): str(v) for k, v in headers.items()},
        )
    except (ValueError, TypeError):
        return None
