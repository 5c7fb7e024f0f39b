"""Running a scenario on a door, and the SMALL, explicit normalisation applied before runs
on different doors are compared byte for byte.

Every rule below is an allowed difference between front doors; each has an id, the doors
it concerns and the reason it is not a defect. docs/parity.md lists the same table (a test
checks that every id appears there). Anything not listed here must be identical: status,
body bytes, every other header name and value, and what the upstream received.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.ports import UpstreamRequest
from tests.parity.spec import Advance, Fault, Observed, Request, Scenario, Wire
from tests.parity.world import World


@dataclass(frozen=True)
class Allowed:
    id: str
    what: str
    doors: str
    reason: str


ALLOWED: tuple[Allowed, ...] = (
    Allowed(
        "name-case", "Header name case (compared lower-cased)", "all",
        "HTTP field names are case-insensitive (RFC 9110 5.1). The service keeps the case it "
        "was given, uvicorn writes lower case, API Gateway keeps the Lambda's case.",
    ),
    Allowed(
        "header-order", "Order between headers of different names (order of the values of "
        "one name is kept and compared)", "aws-lambda",
        "Only the order of field lines with the same name is significant (RFC 9110 5.3). "
        "The 2.0 response puts cookies in a separate list and repeats of a name at its "
        "first position.",
    ),
    Allowed(
        "comma-join", "Repeated non-Set-Cookie response headers: one line each, or one line "
        "joined with \", \" (compared joined)", "aws-lambda",
        "The 2.0 response's headers is a map: repeats must be comma-joined, which RFC 9110 "
        "5.3 defines as equivalent. Set-Cookie cannot be joined (RFC 6265 3) and travels "
        "in the cookies list, one entry per cookie: it is compared line by line.",
    ),
    Allowed(
        "date", "Date (dropped)", "local-http, aws-lambda",
        "The clock of the server that writes the response: GatewayApp adds one when the "
        "upstream sent none; API Gateway adds its own outside the handler. The service in "
        "process has no wire and no Date.",
    ),
    Allowed(
        "content-length", "Content-Length (dropped; the body bytes are compared)",
        "local-http, aws-lambda",
        "Message framing written by the HTTP server (API Gateway computes its own). The "
        "gateway never passes an upstream's Content-Length through.",
    ),
    Allowed(
        "request-id", "A gateway-generated X-Request-Id (replaced by <generated>, after "
        "checking its shape and that the upstream received the same value)", "all",
        "Each door's own id: 32 hex characters from the service and the local server, API "
        "Gateway's requestId (made URL-safe) on AWS, the invocation id on Azure. A "
        "well-formed id the client sent is echoed and compared as is.",
    ),
    Allowed(
        "upstream-platform-headers", "x-amzn-trace-id, x-forwarded-proto, x-forwarded-port "
        "in what the upstream receives (dropped)", "aws-lambda",
        "API Gateway adds them to every request; the gateway passes them on like any other "
        "end-to-end header. Nothing a client sends differs.",
    ),
    Allowed(
        "upstream-joined-repeats", "Repeated request headers as the upstream receives them: "
        "several lines or one comma-joined line (compared split on commas and rejoined; "
        "Cookie on semicolons)", "aws-lambda",
        "API Gateway joins repeated request headers with commas and moves Cookie into the "
        "cookies list before the handler sees them; the router joins the cookies back into "
        "one Cookie header. Equivalent by RFC 9110 5.3 and RFC 6265 5.4.",
    ),
)

_DROP_RESPONSE = frozenset({"date", "content-length"})
_DROP_UPSTREAM = frozenset({"x-amzn-trace-id", "x-forwarded-proto", "x-forwarded-port"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
GENERATED = "<generated>"


@dataclass
class Exchange:
    request: Request
    wire: Wire
    observed: Observed
    upstream: list[UpstreamRequest]  # what the upstream received for this request

    def upstream_header(self, name: str) -> list[str]:
        assert len(self.upstream) == 1, f"expected one upstream call, got {len(self.upstream)}"
        return [v for k, v in self.upstream[0].headers if k.lower() == name]


@dataclass
class Run:
    door: str
    world: World
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def last(self) -> Exchange:
        return self.exchanges[-1]


def run(door: Any, scenario: Scenario) -> Run:
    world = World()
    result = Run(door.NAME, world)
    with door.make(world) as send:
        for step in scenario.steps:
            if isinstance(step, Advance):
                world.clock.advance(step.seconds)
            elif isinstance(step, Fault):
                world.faults = set(step.ops)
            else:
                wire = world.resolve(step)
                before = len(world.upstream.requests)
                observed = send(wire)
                got = list(world.upstream.requests[before:])
                result.exchanges.append(Exchange(step, wire, observed, got))
    return result


def _client_id(wire: Wire) -> str | None:
    given = wire.client_request_id
    return given if given is not None and _REQUEST_ID.match(given) else None


def _request_id(value: str, wire: Wire) -> str:
    if value == _client_id(wire):
        return value
    assert _REQUEST_ID.match(value), f"generated X-Request-Id {value!r} is not well-formed"
    return GENERATED


def response_headers(ex: Exchange) -> tuple[tuple[str, str], ...]:
    """Normalised: names lower-cased, Date/Content-Length dropped, repeats of a name
    joined with ", " except Set-Cookie (one entry each), names sorted, generated request
    ids replaced."""
    by_name: dict[str, list[str]] = {}
    for name, value in ex.observed.headers:
        name = name.lower()
        if name in _DROP_RESPONSE:
            continue
        if name == "x-request-id":
            value = _request_id(value, ex.wire)
        by_name.setdefault(name, []).append(value)
    out: list[tuple[str, str]] = []
    for name in sorted(by_name):
        values = by_name[name]
        if name == "set-cookie":
            out += [(name, v) for v in values]
        else:
            out.append((name, ", ".join(values)))
    return tuple(out)


def _split(name: str, values: list[str]) -> str:
    sep = ";" if name == "cookie" else ","
    parts = [p.strip() for v in values for p in v.split(sep) if p.strip()]
    return f"{sep} ".join(parts)


def upstream_view(ex: Exchange) -> tuple[Any, ...]:
    """What the upstream received, normalised (rules upstream-*, request-id)."""
    out = []
    for up in ex.upstream:
        by_name: dict[str, list[str]] = {}
        for name, value in up.headers:
            name = name.lower()
            if name in _DROP_UPSTREAM:
                continue
            if name == "x-request-id":
                value = _request_id(value, ex.wire)
            by_name.setdefault(name, []).append(value)
        headers = tuple((n, _split(n, by_name[n])) for n in sorted(by_name))
        out.append((up.method, up.url, headers, up.body, up.timeout, up.retries))
    return tuple(out)


def view(ex: Exchange) -> tuple[Any, ...]:
    return (ex.observed.status, response_headers(ex), ex.observed.body, upstream_view(ex))


def check_own_consistency(ex: Exchange) -> None:
    """Within one door: the X-Request-Id echoed to the client is the one sent upstream."""
    echoed = ex.observed.get_all("x-request-id")
    assert len(echoed) <= 1, f"at most one X-Request-Id expected, got {echoed}"
    for up in ex.upstream:
        sent = [v for k, v in up.headers if k.lower() == "x-request-id"]
        assert sent == echoed, f"upstream got X-Request-Id {sent}, client got {echoed}"


def describe(a: Exchange, b: Exchange, names: tuple[str, str]) -> str:
    """A readable account of how two exchanges differ (bodies can be 900 KB)."""
    va, vb = view(a), view(b)
    lines = []
    if va[0] != vb[0]:
        lines.append(f"status: {names[0]}={va[0]} {names[1]}={vb[0]}")
    ha, hb = dict(_multi(va[1])), dict(_multi(vb[1]))
    for name in sorted(set(ha) | set(hb)):
        if ha.get(name) != hb.get(name):
            lines.append(f"header {name}: {names[0]}={ha.get(name)!r} {names[1]}={hb.get(name)!r}")
    if va[2] != vb[2]:
        lines.append(f"body: {names[0]}={_short(va[2])} {names[1]}={_short(vb[2])}")
    if va[3] != vb[3]:
        lines.append(f"upstream received: {names[0]}={_short_up(va[3])}\n"
                     f"                   {names[1]}={_short_up(vb[3])}")
    return "\n".join(lines)


def _multi(headers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in headers:
        out.setdefault(k, []).append(v)
    return out


def _short(body: bytes) -> str:
    return repr(body) if len(body) <= 300 else f"<{len(body)} bytes {body[:60]!r}...>"


def _short_up(up: tuple[Any, ...]) -> str:
    return repr([(m, u, h, _short(b), t, r) for m, u, h, b, t, r in up])
