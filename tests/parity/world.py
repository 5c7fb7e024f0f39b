"""The ONE world every door runs against: catalog, plans, consumers, keys, the JWT issuer,
CORS origins, limits, a programmable fake upstream and a manual clock.

A door builds its own store (its natural one: memory, SQLite, DynamoDB, Azure Tables),
seeds it with :meth:`World.seed`, and builds its gateway from :attr:`World.settings` with
the world's clock and upstream. Each scenario gets a fresh :class:`World` on each door, so
nothing one scenario does (limits spent, keys cached) reaches another.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Sequence
from typing import Any

import jwt

from shared.core import keys as keymod
from shared.core.clock import ManualClock
from shared.core.models import (
    Api,
    Consumer,
    ConsumerStatus,
    FailMode,
    KeyRecord,
    KeyState,
    Lifecycle,
    Plan,
    Route,
    Subscription,
    SubscriptionStatus,
    Upstream,
)
from shared.core.policy import parse
from shared.core.policy_rules import cache_key
from shared.gateway.cache import SharedCache
from shared.management import records
from shared.ports import (
    StoreUnavailable,
    UpstreamFailure,
    UpstreamRequest,
    UpstreamResponse,
    UpstreamTimeout,
)
from shared.settings import JwtIssuerConfig, Settings
from tests.parity.spec import Bearer, Key, Request, Wire

T0 = 1_767_225_610.0  # 2026-01-01T00:00:10Z: 50 s left in the minute, 86,390 s in the day
UPSTREAM_URL = "http://upstream.parity.test"
CLIENT_IP = "127.0.0.1"  # the caller's address on every door (the local door's TCP peer)
ORIGIN = "https://portal.parity.test"  # the one browser origin allowed (the portal)
ISSUER = "https://issuer.parity.test/"
AUDIENCE = "tollway-parity"
SECRET = "parity-hs256-secret-" + "0123456789abcdef" * 3  # >= 32 bytes: no PyJWT warning
MAX_BODY = 1024 * 1024

SETTINGS = Settings(
    store="memory",  # informational: each door passes its own store
    cache_ttl=5.0,
    max_body_bytes=MAX_BODY,
    cors_origins=(ORIGIN,),
    jwt_issuers=(JwtIssuerConfig(ISSUER, AUDIENCE, ("HS256",), secret=SECRET),),
    authorizer_in_front=False,  # the template's default (EnableAuthorizer=false)
)

PLANS = (
    Plan("free", "Free", apis=("demo", "pol"), rate_per_minute=3),
    Plan("other", "Other", apis=("billing",), rate_per_minute=100),
    Plan("quota", "Quota", apis=("demo",), quota_per_day=2),
    Plan("open", "Open", apis=("demo",), rate_per_minute=100, fail_mode=FailMode.OPEN),
    Plan("gold", "Gold", apis=("demo",), rate_per_minute=100, requires_approval=True),
    # plan-level policies (docs/policies.md "Plans and consumers"): the front doors'
    # clients are loopback addresses
    Plan("fenced", "Fenced", apis=("demo",), rate_per_minute=100,
         policies=parse({"ip": {"deny": ["127.0.0.0/8", "::1/128"]}}, kinds=("ip", "limits"))),
    Plan("tenant", "Tenant", apis=("demo",), rate_per_minute=100, policies=parse(
        {"limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 1}]})),
)

_ROUTES = (
    Route("GET", "/echo/*"),
    Route("POST", "/echo/*"),
    Route("GET", "/admin/*", scopes=("admin",)),
    Route("*", "/x/*"),
)
_UPS = (Upstream(UPSTREAM_URL),)
APIS = (
    Api("demo-v0", "demo", "v0", "/demo/v0", _UPS, _ROUTES, Lifecycle.RETIRED),
    Api(
        "demo-v1", "demo", "v1", "/demo/v1", _UPS, _ROUTES, Lifecycle.DEPRECATED,
        deprecated_at=T0 - 100, sunset_at=T0 + 86_400 * 30,
    ),
    Api("demo-v2", "demo", "v2", "/demo/v2", _UPS, _ROUTES, Lifecycle.PUBLISHED),
    Api("billing-v1", "billing", "v1", "/billing/v1", _UPS, _ROUTES, Lifecycle.PUBLISHED),
    Api("draft-v1", "draft", "v1", "/draft/v1", _UPS, _ROUTES, Lifecycle.DRAFT),
)

#: The API whose routes carry every gateway policy (docs/policies.md); CORS for APP_ORIGIN.
APP_ORIGIN = "https://app.parity.test"
_POL_ROUTES = (
    Route("GET", "/t/*", policies=parse({"transform": {
        "request_headers": {"set": {"X-Env": "parity"}, "remove": ["X-Debug"],
                            "rename": {"X-Old": "X-New"}},
        "response_headers": {"set": {"X-Served-By": "tollway"}},
        "strip_prefix": "/t", "add_prefix": "/v2",
        "query_remove": ["debug"], "query_set": {"src": "gw"}}})),
    Route("GET", "/denied/*", policies=parse({"ip": {"deny": ["127.0.0.0/8", "::1/128"]}})),
    Route("GET", "/allowed/*", policies=parse({"ip": {"allow": ["127.0.0.0/8", "::1/128"]}})),
    Route("POST", "/small/*", policies=parse({"max_body_bytes": 8})),
    Route("GET", "/public/*", policies=parse({"anonymous": {"rate_per_minute": 2}})),
    Route("GET", "/shadow/*", policies=parse({"limits": [
        {"by": "consumer", "rate_per_minute": 1, "shadow": True}]})),
    Route("GET", "/tenant/*", policies=parse({"limits": [
        {"by": "header", "header": "X-Tenant", "rate_per_minute": 1}]})),
    Route("GET", "/cost/*", policies=parse({"cost": 3})),
    Route("GET", "/cached/*", policies=parse({"cache": {"ttl_seconds": 30}})),
    Route("GET", "/shared/*", policies=parse({"cache": {"ttl_seconds": 60, "shared": True}})),
    Route("POST", "/items/*", policies=parse({"validate": {"body": True, "query": True,
                                                           "path": True}})),
    Route("*", "/x/*", policies=parse({"traffic": {"breaker": {
        "failure_rate": 0.5, "min_requests": 2, "open_seconds": 30}}})),
)
APIS = (*APIS, Api(
    "pol-v1", "pol", "v1", "/pol/v1", _UPS, _POL_ROUTES, Lifecycle.PUBLISHED,
    policies=parse({"cors": {"origins": [APP_ORIGIN], "methods": ["GET", "POST"],
                             "headers": ["X-Api-Key", "Content-Type"], "credentials": True,
                             "max_age": 300, "expose": ["X-Trace"]}}),
))

#: pol v1's OpenAPI document: what the ``validate`` route checks requests against.
POL_DOC = {"openapi": "3.1.0", "info": {"title": "pol", "version": "1"}, "paths": {
    "/items/{n}": {"post": {
        "parameters": [{"name": "n", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1}},
                       {"name": "dry", "in": "query", "schema": {"type": "boolean"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}}}}}}}}}}

#: What another gateway instance stored in the shared response cache 10 s before the
#: scenario starts (a GET /pol/v1/shared/a answer): every door serves it without calling.
SHARED_ENTRY = SharedCache.write(
    cache_key(parse({"cache": {"ttl_seconds": 60, "shared": True}}).cache,  # type: ignore[union-attr,arg-type]
              api_id="pol-v1", method="GET", path="/shared/a", query="", headers=(),
              consumer=""),
    T0 + 50, T0 - 10, 200, (("Content-Type", "application/json"),), b'{"from":"elsewhere"}')

CONSUMERS = (
    Consumer("con_a", "A"),
    Consumer("con_q", "Quota"),
    Consumer("con_open", "Fails open"),
    Consumer("con_sus", "Suspended", ConsumerStatus.SUSPENDED),
    Consumer("con_pend", "Pending"),
    Consumer("con_fence", "Fenced by its plan"),
    Consumer("con_tenant", "Limited by tenant"),
    Consumer("con_inside", "Allowed here",
             policies=parse({"ip": {"allow": ["127.0.0.0/8", "::1/128"]}})),
    Consumer("con_outside", "Allowed elsewhere",
             policies=parse({"ip": {"allow": ["192.0.2.0/24"]}})),
)
SUBSCRIPTIONS = (
    Subscription("sub_a", "con_a", "free"),
    Subscription("sub_q", "con_q", "quota"),
    Subscription("sub_open", "con_open", "open"),
    Subscription("sub_sus", "con_sus", "free"),
    Subscription("sub_pend", "con_pend", "gold", SubscriptionStatus.PENDING),
    Subscription("sub_fence", "con_fence", "fenced"),
    Subscription("sub_tenant", "con_tenant", "tenant"),
    Subscription("sub_inside", "con_inside", "other"),
    Subscription("sub_outside", "con_outside", "other"),
)
#: name -> (consumer, KeyRecord keyword arguments). ``unknown`` is issued but never stored.
KEYS: dict[str, tuple[str, dict[str, Any]]] = {
    "a": ("con_a", {}),
    "admin": ("con_a", {"scopes": ("admin",)}),
    "revoked": ("con_a", {"state": KeyState.REVOKED}),
    "expired": ("con_a", {"expires_at": T0 - 1}),
    "q": ("con_q", {}),
    "open": ("con_open", {}),
    "sus": ("con_sus", {}),
    "pend": ("con_pend", {}),
    "fenced": ("con_fence", {}),
    "tenant": ("con_tenant", {}),
    "inside": ("con_inside", {}),
    "outside": ("con_outside", {}),
    "unknown": ("con_a", {}),
}


# --- the fake upstream -------------------------------------------------------------------

COOKIES = (
    "session=abc123; Path=/; HttpOnly",
    "prefs=dark; Expires=Fri, 01 Jan 2027 00:00:00 GMT; Secure",  # a comma inside a cookie
    "ab=B; SameSite=Lax",
)
BINARY = bytes(range(256))


def _echo(request: UpstreamRequest) -> UpstreamResponse:
    """Deterministic on every door: nothing here depends on request ids or the door."""
    path, _, query = request.url.removeprefix(UPSTREAM_URL).partition("?")
    doc = {
        "method": request.method,
        "path": path,
        "query": query,
        "bytes": len(request.body),
        "sha256": hashlib.sha256(request.body).hexdigest(),
    }
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return UpstreamResponse(200, (("content-type", "application/json"),), body)


def _respond(request: UpstreamRequest) -> UpstreamResponse:
    path = request.url.removeprefix(UPSTREAM_URL).partition("?")[0]
    if path == "/x/timeout":
        raise UpstreamTimeout("the fake upstream did not answer in time")
    if path == "/x/fail":
        raise UpstreamFailure("the fake upstream refused the connection")
    if path == "/x/cookies":
        headers = [("content-type", "text/plain; charset=utf-8")]
        headers += [("set-cookie", c) for c in COOKIES]
        headers += [
            ("vary", "Accept-Encoding"),
            ("vary", "Accept-Language"),
            ("cache-control", "no-store"),
        ]
        return UpstreamResponse(200, tuple(headers), b"three cookies")
    if path == "/x/mirror":  # the request body back, with its content type
        ct = next((v for k, v in request.headers if k == "content-type"), None)
        headers = (("content-type", ct),) if ct else ()
        return UpstreamResponse(200, headers, request.body)
    if path == "/x/binary":
        return UpstreamResponse(200, (("content-type", "application/octet-stream"),), BINARY)
    if path == "/x/undeclared":  # binary with no content type at all
        return UpstreamResponse(200, (), BINARY)
    if path == "/x/not-utf8":  # labelled text, but not UTF-8
        return UpstreamResponse(200, (("content-type", "text/plain"),), b"caf\xe9 \xff\xfe")
    if path == "/x/unicode":
        return UpstreamResponse(
            200, (("content-type", "text/plain; charset=utf-8"),), "héllo ✓ 世界".encode()
        )
    if path == "/x/hop":  # what an upstream must not get to say to the client
        headers = (
            ("content-type", "application/json"),
            ("connection", "close, x-internal"),
            ("x-internal", "secret"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("content-length", "999"),
            ("x-request-id", "upstream-own-id"),
            ("ratelimit", '"bogus";r=999;t=1'),
            ("x-upstream", "kept"),
        )
        return UpstreamResponse(200, headers, b'{"ok":true}')
    if path == "/x/status503":
        headers = (("content-type", "text/plain"), ("retry-after", "120"))
        return UpstreamResponse(503, headers, b"upstream down for maintenance")
    if path == "/x/empty":
        return UpstreamResponse(204, (), b"")
    return _echo(request)


class FakeUpstream:
    """The upstream port, answered in process; records what it received."""

    def __init__(self) -> None:
        self.requests: list[UpstreamRequest] = []
        self._lock = threading.Lock()

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        with self._lock:
            self.requests.append(request)
        return _respond(request)

    def close(self) -> None:
        pass


# --- store faults --------------------------------------------------------------------------

#: Fault name -> the store port operations it breaks (for stores wrapped in Python).
FAULT_OPS = {"limiter": frozenset({"hit"}), "lookup": frozenset({"get", "query"})}


class FaultyStore:
    """Wraps a store; while ``world.faults`` names a fault, its operations raise
    :class:`StoreUnavailable` (what every adapter raises for a transport failure). Doors
    whose store has a transport of its own (DynamoDB) inject faults there instead."""

    def __init__(self, inner: Any, world: World) -> None:
        self._inner, self._world = inner, world
        self.capabilities = inner.capabilities

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            if any(name in FAULT_OPS[f] for f in self._world.faults):
                raise StoreUnavailable(f"injected fault: {name}")
            return attr(*a, **kw)

        return call


# --- the world -----------------------------------------------------------------------------


@functools.cache
def _issued() -> dict[str, keymod.IssuedKey]:
    """Key material, issued once per process: every world seeds the same records, so a door
    whose store is slow to seed (DynamoDB under moto) may seed once and restore the
    seeded state between scenarios instead (doors/aws.py)."""
    return {name: keymod.generate(SETTINGS.key_prefix) for name in KEYS}


class World:
    settings = SETTINGS
    client_ip = CLIENT_IP

    def __init__(self) -> None:
        self.clock = ManualClock(T0)
        self.upstream = FakeUpstream()
        self.faults: set[str] = set()
        issued = _issued()
        self.keys: dict[str, str] = {name: k.plaintext for name, k in issued.items()}
        self._key_records = [
            KeyRecord(f"key_{name}", consumer, issued[name].key_hash, issued[name].hint, **kw)
            for name, (consumer, kw) in KEYS.items()
            if name != "unknown"
        ]

    def writes(self) -> list[Any]:
        writes = [records.put_plan_write(p) for p in PLANS]
        writes += [records.put_api_write(a) for a in APIS]
        writes += [records.put_consumer_write(c) for c in CONSUMERS]
        writes += [records.put_subscription_write(s) for s in SUBSCRIPTIONS]
        for rec in self._key_records:
            writes += records.key_writes(rec, new=True)
        writes.append(SHARED_ENTRY)
        text = json.dumps(POL_DOC, separators=(",", ":"), sort_keys=True)
        writes += records.doc_writes("pol-v1", text, {"size": len(text), "updated_at": T0}, 0)
        return writes

    def seed(self, store: Any) -> None:
        """Write the catalog, plans, consumers, subscriptions and keys (one partition per
        transaction, as every store requires)."""
        records.save_unaudited(store, self.writes())

    # --- requests --------------------------------------------------------------------------

    def token(self, b: Bearer) -> str:
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": b.sub,
            "exp": int(self.clock.now()) + b.exp_in,
        }
        if b.scope is not None:
            claims["scope"] = b.scope
        return jwt.encode(claims, b.secret or SECRET, algorithm="HS256")

    def _value(self, value: str | bytes | Key | Bearer) -> bytes:
        if isinstance(value, Key):
            return self.keys[value.name].encode()
        if isinstance(value, Bearer):
            return f"Bearer {self.token(value)}".encode()
        if isinstance(value, bytes):
            return value
        return value.encode("latin-1")

    def resolve(self, req: Request) -> Wire:
        headers = tuple((name, self._value(v)) for name, v in req.headers)
        return Wire(req.method, req.path, req.query, headers, req.body)


__all__: Sequence[str] = [
    "APP_ORIGIN",
    "BINARY",
    "COOKIES",
    "MAX_BODY",
    "ORIGIN",
    "T0",
    "UPSTREAM_URL",
    "FaultyStore",
    "World",
]
