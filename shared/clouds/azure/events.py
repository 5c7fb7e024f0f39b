"""Azure Functions HTTP trigger (Python v2 model) <-> the cloud-neutral request and response.

Inbound, a :class:`func.HttpRequest` becomes one :class:`GatewayRequest`:

- Path and query come from ``req.url``, still percent-encoded (like the local front door's
  ``raw_path`` and API Gateway's ``rawPath``). The ``{*path}`` route parameter is *decoded*
  by the host (``a%2Fb`` arrives as ``a/b``), so it is never used: routing and the path
  checks see what the client sent.
- Headers: the host lower-cases names and joins repeated headers with commas. Credential
  headers (``X-Api-Key``, ``Authorization``) are split back on commas, so two keys stay two
  values and the gateway answers 400 "ambiguous", as on every other front door.
- Client address: the App Service front end appends ``ip:port`` of the caller to
  ``X-Forwarded-For``; the LAST hop is taken (earlier hops are whatever the client sent),
  its port stripped (``1.2.3.4:5678``, ``[2001:db8::1]:5678``), and that hop is removed from
  the header because the gateway appends ``source_ip`` itself when it forwards. Without a
  usable hop, ``X-Client-IP`` (also set by the front end), else empty.
- The front end's own headers about the deployment (:data:`PLATFORM_HEADERS`: site names,
  TLS details, its log id) are read where needed and dropped: an upstream never sees them.
- Request id: the Functions host's ``context.invocation_id`` (a GUID the caller cannot
  choose: metering deduplicates by it, see ``shared/core/request.py``). It is also the
  ``InvocationId`` of the execution in Application Insights. ``X-ARR-LOG-ID`` (the front
  end's id, a request header) is used only when there is no invocation context.
- The body as bytes (the host hands binary bodies through untouched).

Outbound, a :class:`GatewayResponse` becomes a :class:`func.HttpResponse`: the status, the
body as bytes (binary bodies are never re-encoded), every ``Set-Cookie`` as its own header
line (the Python worker sends them to the host as separate cookies), and other repeated
headers comma-joined (RFC 9110 5.3) — the worker turns the response headers into a map
with one value per name, so a second ``Vary`` line would otherwise silently replace the
first.

Anything the translation cannot read raises :class:`BadEvent`; the function answers it
with the gateway's own 400 problem document, never a 500.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from shared.core.outcomes import INTERNAL_ERROR_BODY, PROBLEM_CONTENT_TYPE
from shared.core.request import GatewayRequest, GatewayResponse

#: Headers whose repeated values the host comma-joins and that never contain a comma
#: themselves (API keys, bearer tokens): split back so duplicates stay detectable.
_SPLIT_ON_COMMA = frozenset({"x-api-key", "authorization"})

_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")

#: Request headers the App Service front end adds about itself and the deployment (site
#: names, TLS details, its log id, the client's address again): read here when needed, never
#: passed to an upstream, which would learn the deployment's internals from them.
PLATFORM_HEADERS = frozenset(
    {
        "x-arr-log-id",
        "x-arr-ssl",
        "x-site-deployment-id",
        "was-default-hostname",
        "disguised-host",
        "x-original-url",
        "x-waws-unencoded-url",
        "client-ip",
        "x-client-ip",
        "x-client-port",
        "x-appservice-proto",
        "x-forwarded-tlsversion",
        "max-forwards",
    }
)


class BadEvent(ValueError):
    """A request the translation cannot read (a URL that does not parse, no method)."""


def _safe_id(raw: str) -> str:
    return _UNSAFE_ID.sub("", raw)[:128]


def request_id_of(req: func.HttpRequest | None, context: Any = None) -> str:
    """The host's invocation id (URL-safe), else the front end's ``X-ARR-LOG-ID``, else ""
    (the gateway then issues one). Never raises."""
    try:
        rid = _safe_id(str(getattr(context, "invocation_id", "") or ""))
        if rid:
            return rid
        if req is not None:
            return _safe_id(str(req.headers.get("x-arr-log-id") or ""))
    except Exception:  # noqa: S110 - a request id must never be the thing that fails
        pass
    return ""


def strip_port(hop: str) -> str:
    """``1.2.3.4:5678`` -> ``1.2.3.4``; ``[::1]:5678`` -> ``::1``; a bare address as is;
    "" when what is left is not an IP address."""
    hop = hop.strip()
    if hop.startswith("["):
        end = hop.find("]")
        host = hop[1:end] if end > 0 else ""
    elif hop.count(":") == 1:
        host = hop.split(":", 1)[0]
    else:
        host = hop  # IPv4 without a port, or a bare IPv6 address
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return ""


def client_ip(headers: list[tuple[str, str]]) -> str:
    """The caller's address from the front end's last ``X-Forwarded-For`` hop, that hop
    taken off the header (the gateway appends the address itself). Mutates ``headers``."""
    for i, (name, value) in enumerate(headers):
        if name != "x-forwarded-for":
            continue
        hops = [h.strip() for h in value.split(",")]
        ip = strip_port(hops[-1]) if hops else ""
        if not ip:
            break
        rest = [h for h in hops[:-1] if h]
        if rest:
            headers[i] = (name, ", ".join(rest))
        else:
            del headers[i]
        return ip
    for name, value in headers:
        if name == "x-client-ip":
            return strip_port(value)
    return ""


def to_request(req: func.HttpRequest, context: Any = None) -> GatewayRequest:
    """Translate one HTTP trigger invocation. Raises :class:`BadEvent` on what it cannot read."""
    try:
        url = urlsplit(str(req.url))
        method = str(req.method or "")
        raw_headers = list(req.headers.items())
        body = req.get_body() or b""
    except (ValueError, TypeError, AttributeError) as exc:
        raise BadEvent(f"unreadable request: {type(exc).__name__}") from None
    if not method:
        raise BadEvent("no method")
    headers: list[tuple[str, str]] = []
    for name, value in raw_headers:
        name, value = str(name).lower(), str(value)
        if name in _SPLIT_ON_COMMA and "," in value:
            headers.extend((name, part.strip()) for part in value.split(","))
        else:
            headers.append((name, value))
    source_ip = client_ip(headers)
    rid = request_id_of(req, context)
    headers = [(k, v) for k, v in headers if k not in PLATFORM_HEADERS]
    return GatewayRequest(
        method=method,
        path=url.path or "/",
        query=url.query,
        headers=tuple(headers),
        body=bytes(body),
        source_ip=source_ip,
        request_id=rid,
    )


def to_response(resp: GatewayResponse) -> func.HttpResponse:
    """The HTTP trigger's response: every ``Set-Cookie`` on its own line, other repeats
    comma-joined, the body as bytes."""
    out = func.HttpResponse(body=resp.body, status_code=resp.status)
    joined: dict[str, tuple[str, str]] = {}  # lower-case name -> (name as first seen, value)
    cookies: list[str] = []
    for name, value in resp.headers.items():
        low = name.lower()
        if low == "set-cookie":  # a comma is part of a cookie (Expires): never joined
            cookies.append(value)
        elif low in joined:
            first, prev = joined[low]
            joined[low] = (first, f"{prev}, {value}")
        else:
            joined[low] = (name, value)
    for name, value in joined.values():
        out.headers.add(name, value)
    for cookie in cookies:
        out.headers.add("Set-Cookie", cookie)  # the worker looks for this spelling
    return out


_INTERNAL = INTERNAL_ERROR_BODY


def internal_error(request_id: str) -> func.HttpResponse:
    """Last resort when the function itself fails: still a problem document, traceable."""
    out = func.HttpResponse(body=_INTERNAL, status_code=500)
    out.headers.add("Content-Type", PROBLEM_CONTENT_TYPE)
    if request_id:
        out.headers.add("X-Request-Id", request_id)
    return out
