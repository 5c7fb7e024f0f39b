"""Gateway policies: what an API owner sets per API (defaults) and per route (overrides).

A :class:`Policies` record hangs off :class:`~shared.core.models.Api` and off each
:class:`~shared.core.models.Route`. The route table merges them once, when it is built
(:func:`merge`): a policy set on the route replaces the API's policy of the same kind
whole (no deep merge: what a route says is what applies). A route whose merged policies
are empty costs the gateway nothing (``RouteTable`` hands it ``None``).

:func:`parse` is the one reader of the stored/JSON shape and the one validator: it raises
:class:`PolicyError` naming the field (``transform.request_headers.add``) and what to do.
:func:`to_json` is its inverse. The rules that apply a policy to a request live in
``policy_rules.py``; the gateway's request-path code in ``shared/gateway/policy.py``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

Pairs = tuple[tuple[str, str], ...]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")
_VALUE = re.compile(r"^[\x20-\x7e]{0,1000}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()+,;=:@-]+)*/?$")
_QUERY_NAME = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")
_QUERY_VALUE = re.compile(r"^[A-Za-z0-9._~%+-]{0,500}$")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Request headers no transform may add, rename to or from: credentials never leave the
#: gateway, and the gateway alone asserts identity and correlation to upstreams.
CREDENTIALS = frozenset({"x-api-key", "authorization", "proxy-authorization"})
_GATEWAY_REQUEST = frozenset({"x-request-id", "x-forwarded-for", "forwarded"})
#: Response headers only the gateway writes (limits, lifecycle, correlation, caching).
_GATEWAY_RESPONSE = frozenset({
    "ratelimit", "ratelimit-policy", "retry-after", "x-request-id", "deprecation", "sunset",
    "age", "x-cache", "www-authenticate",
})
_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
})
OWNED_PREFIX = "x-tollway-"
LIMIT_BY = ("consumer", "key", "ip", "header", "consumer+route")


class PolicyError(ValueError):
    """A policy value is unacceptable. ``field``: dotted path inside ``policies``."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message, self.field = message, field


# --- the records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeaderOps:
    """Applied in order: remove, rename (old -> new, value kept), set (replace or add)."""

    set: Pairs = ()
    remove: tuple[str, ...] = ()
    rename: Pairs = ()


@dataclass(frozen=True, slots=True)
class Transform:
    request_headers: HeaderOps | None = None
    response_headers: HeaderOps | None = None
    #: Upstream path: a forwarded path starting with ``strip_prefix`` loses it, then
    #: ``add_prefix`` is put in front ("/v2" + "/items" -> "/v2/items").
    strip_prefix: str = ""
    add_prefix: str = ""
    query_remove: tuple[str, ...] = ()
    query_set: Pairs = ()  # replaces every value of the name


@dataclass(frozen=True, slots=True)
class Cors:
    origins: tuple[str, ...]  # exact origins, or ("*",)
    methods: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    headers: tuple[str, ...] = ("X-Api-Key", "Authorization", "Content-Type", "X-Request-Id")
    expose: tuple[str, ...] = ()
    credentials: bool = False
    max_age: int = 600


@dataclass(frozen=True, slots=True)
class IpRules:
    """CIDRs, IPv4 or IPv6. Deny wins; a non-empty ``allow`` admits only its networks."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LimitRule:
    """A limit counted by something other than the plan's consumer x API bucket.

    ``by``: ``consumer``, ``key`` (key id; a token's consumer when no key), ``ip``,
    ``header`` (the value of ``header``; requests without it share one "-" bucket) or
    ``consumer+route``. ``shadow``: count and report (``X-Tollway-Shadow``), never deny."""

    by: str
    rate_per_second: int | None = None
    rate_per_minute: int | None = None
    quota_per_day: int | None = None
    quota_per_month: int | None = None
    header: str = ""
    shadow: bool = False


@dataclass(frozen=True, slots=True)
class Anonymous:
    """A public route: no credential needed; callers are counted per client IP."""

    rate_per_second: int | None = None
    rate_per_minute: int | None = None
    quota_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class Breaker:
    """Per upstream, per gateway instance: opens when at least ``min_requests`` ended in
    the last ``window_seconds`` and ``failure_rate`` of them failed (502/503/504, no
    answer); after ``open_seconds`` lets ``probes`` requests through (half-open)."""

    failure_rate: float = 0.5
    min_requests: int = 5
    window_seconds: float = 30.0
    open_seconds: float = 30.0
    probes: int = 1


@dataclass(frozen=True, slots=True)
class Traffic:
    timeout_seconds: float | None = None
    retries: int | None = None
    retry_unsafe: bool = False  # also retry POST/PATCH (only when no answer came back)
    sticky: bool = False  # weighted choice by consumer, not by request
    breaker: Breaker | None = None


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl_seconds: int
    vary_query: bool = True
    vary_headers: tuple[str, ...] = ()
    shared: bool = False  # one entry for every consumer (else one per consumer)
    private: bool = False  # also keep responses marked private or setting cookies


@dataclass(frozen=True, slots=True)
class Validate:
    """Check requests against the API's OpenAPI document (``policy_validate.py``)."""

    body: bool = False
    query: bool = False
    path: bool = False


@dataclass(frozen=True, slots=True)
class Policies:
    transform: Transform | None = None
    cors: Cors | None = None
    ip: IpRules | None = None
    max_body_bytes: int | None = None
    anonymous: Anonymous | None = None
    limits: tuple[LimitRule, ...] | None = None
    cost: int | None = None
    traffic: Traffic | None = None
    cache: CachePolicy | None = None
    validate: Validate | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


NONE = Policies()


def merge(api: Policies | None, route: Policies | None) -> Policies | None:
    """The route's policies over the API's, kind by kind; ``None`` when nothing is set."""
    if route is None or route.empty:
        merged = api
    elif api is None or api.empty:
        merged = route
    else:
        merged = replace(api, **{
            f.name: getattr(route, f.name) for f in fields(route)
            if getattr(route, f.name) is not None
        })
    return None if merged is None or merged.empty else merged


# --- reading and validating -------------------------------------------------------------------


def _need(ok: bool, message: str, where: str) -> None:
    if not ok:
        raise PolicyError(message, where)


def _pairs(value: Any, where: str) -> Pairs:
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple):
        items = [tuple(p) for p in value]
        _need(all(len(p) == 2 for p in items), "a list of [name, value] pairs", where)
    else:
        raise PolicyError("an object of name: value", where)
    _need(all(isinstance(k, str) and isinstance(v, str) for k, v in items),
          "names and values are strings", where)
    return tuple((str(k), str(v)) for k, v in items)


def _names(value: Any, where: str) -> tuple[str, ...]:
    _need(isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
          "a list of strings", where)
    return tuple(value)


def _header_name(name: str, where: str) -> str:
    _need(bool(_TOKEN.match(name)), f"{name!r} is not a header name", where)
    return name


def _check_request_header(name: str, where: str) -> None:
    low = _header_name(name, where).lower()
    _need(low not in CREDENTIALS, f"{name} carries credentials: the gateway never passes "
          "them upstream, and no transform may put them back", where)
    _need(not low.startswith(OWNED_PREFIX) and low not in _GATEWAY_REQUEST,
          f"{name} is asserted by the gateway alone (X-Tollway-*, X-Request-Id, "
          "X-Forwarded-For)", where)
    _need(low not in _HOP_BY_HOP, f"{name} is hop-by-hop: it never crosses the gateway", where)


def _check_response_header(name: str, where: str) -> None:
    low = _header_name(name, where).lower()
    _need(not low.startswith(OWNED_PREFIX) and low not in _GATEWAY_RESPONSE,
          f"{name} is written by the gateway alone (limits, lifecycle, X-Request-Id, "
          "caching, X-Tollway-*)", where)
    _need(low not in _HOP_BY_HOP, f"{name} is hop-by-hop: it never crosses the gateway", where)


def _header_ops(data: Any, where: str, request: bool) -> HeaderOps:
    _keys(data, ("set", "remove", "rename"), where)
    check = _check_request_header if request else _check_response_header
    ops = HeaderOps(
        set=_pairs(data.get("set", {}), f"{where}.set"),
        remove=_names(data.get("remove", []), f"{where}.remove"),
        rename=_pairs(data.get("rename", {}), f"{where}.rename"),
    )
    for name, value in ops.set:
        check(name, f"{where}.set")
        _need(bool(_VALUE.match(value)), f"the value of {name} must be printable ASCII "
              "(at most 1000 characters)", f"{where}.set")
    for name in ops.remove:
        if request:
            _header_name(name, f"{where}.remove")  # removing a credential is harmless
        else:
            check(name, f"{where}.remove")
    for old, new in ops.rename:
        check(old, f"{where}.rename")  # renaming Authorization away would leak it too
        check(new, f"{where}.rename")
    return ops


def _keys(data: Any, known: tuple[str, ...], where: str) -> None:
    _need(isinstance(data, Mapping), "an object", where)
    extra = sorted(set(data) - set(known))
    _need(not extra, f"unknown field(s) {', '.join(extra)}; known: {', '.join(known)}", where)


def _int(data: Mapping[str, Any], name: str, where: str, lo: int, hi: int) -> int | None:
    v = data.get(name)
    if v is None:
        return None
    _need(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
          f"an integer from {lo} to {hi}", f"{where}.{name}")
    return int(v)


def _num(data: Mapping[str, Any], name: str, where: str, lo: float, hi: float) -> float | None:
    v = data.get(name)
    if v is None:
        return None
    _need(isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi,
          f"a number from {lo:g} to {hi:g}", f"{where}.{name}")
    return float(v)


def _bool(data: Mapping[str, Any], name: str, where: str) -> bool:
    v = data.get(name, False)
    _need(isinstance(v, bool), "true or false", f"{where}.{name}")
    return bool(v)


def _transform(data: Any, where: str) -> Transform:
    _keys(data, ("request_headers", "response_headers", "strip_prefix", "add_prefix",
                 "query_remove", "query_set"), where)
    req, resp = data.get("request_headers"), data.get("response_headers")
    t = Transform(
        request_headers=None if req is None else _header_ops(req, f"{where}.request_headers",
                                                             True),
        response_headers=None if resp is None else _header_ops(
            resp, f"{where}.response_headers", False),
        strip_prefix=data.get("strip_prefix") or "",
        add_prefix=data.get("add_prefix") or "",
        query_remove=_names(data.get("query_remove", []), f"{where}.query_remove"),
        query_set=_pairs(data.get("query_set", {}), f"{where}.query_set"),
    )
    for name in ("strip_prefix", "add_prefix"):
        v = getattr(t, name)
        _need(isinstance(v, str) and (v == "" or (v.startswith("/") and bool(_PREFIX.match(v))
                                                  and ".." not in v.split("/"))),
              "a path prefix such as /v2 (no dot segments, no query)", f"{where}.{name}")
    for name in t.query_remove:
        _need(bool(_QUERY_NAME.match(name)), f"{name!r} is not a plain query parameter name",
              f"{where}.query_remove")
    for name, value in t.query_set:
        _need(bool(_QUERY_NAME.match(name)) and bool(_QUERY_VALUE.match(value)),
              "names of letters, digits and ._~-; values percent-encoded", f"{where}.query_set")
    return t


def _cors(data: Any, where: str) -> Cors:
    _keys(data, ("origins", "methods", "headers", "expose", "credentials", "max_age"), where)
    origins = _names(data.get("origins", []), f"{where}.origins")
    _need(bool(origins), "at least one origin (or \"*\")", f"{where}.origins")
    for o in origins:
        _need(o == "*" or bool(_ORIGIN.match(o)),
              f"{o!r} is not an origin such as https://app.example.com", f"{where}.origins")
    c = Cors(origins=origins, credentials=_bool(data, "credentials", where),
             max_age=_int(data, "max_age", where, 0, 86_400) or 0)
    if "max_age" not in data:
        c = replace(c, max_age=600)
    lists: dict[str, Any] = {n: _names(data[n], f"{where}.{n}")
                             for n in ("methods", "headers", "expose") if n in data}
    c = replace(c, **lists)
    for m in c.methods:
        _need(m in METHODS, f"{m!r} is not one of {', '.join(METHODS)}", f"{where}.methods")
    for h in (*c.headers, *c.expose):
        _header_name(h, f"{where}.headers")
    _need(not (c.credentials and "*" in c.origins), "credentials need explicit origins: "
          "browsers refuse credentials with Access-Control-Allow-Origin: *", f"{where}.credentials")
    return c


def _ip(data: Any, where: str) -> IpRules:
    _keys(data, ("allow", "deny"), where)
    rules = IpRules(_names(data.get("allow", []), f"{where}.allow"),
                    _names(data.get("deny", []), f"{where}.deny"))
    for name in ("allow", "deny"):
        for cidr in getattr(rules, name):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise PolicyError(f"{cidr!r} is not an IPv4 or IPv6 address or CIDR block",
                                  f"{where}.{name}") from None
    _need(bool(rules.allow or rules.deny), "an allow or a deny list", where)
    return rules


_WINDOWS = ("rate_per_second", "rate_per_minute", "quota_per_day", "quota_per_month")


def _limit(data: Any, where: str) -> LimitRule:
    _keys(data, ("by", "header", "shadow", *_WINDOWS), where)
    by = data.get("by")
    _need(by in LIMIT_BY, f"one of {', '.join(LIMIT_BY)}", f"{where}.by")
    header = data.get("header") or ""
    if by == "header":
        _need(isinstance(header, str) and bool(header), "the header to count by",
              f"{where}.header")
        _need(header.lower() not in CREDENTIALS, "count by key with by: key, not by the "
              "credential header (its value must never become a bucket name)", f"{where}.header")
        _header_name(header, f"{where}.header")
    else:
        _need(not header, "only with by: header", f"{where}.header")
    windows = {n: _int(data, n, where, 1, 10**9) for n in _WINDOWS}
    _need(any(v is not None for v in windows.values()),
          f"at least one of {', '.join(_WINDOWS)}", where)
    return LimitRule(by=str(by), header=header.lower(), shadow=_bool(data, "shadow", where),
                     **windows)


def _anonymous(data: Any, where: str) -> Anonymous:
    _keys(data, ("rate_per_second", "rate_per_minute", "quota_per_day"), where)
    a = Anonymous(**{n: _int(data, n, where, 1, 10**9)
                     for n in ("rate_per_second", "rate_per_minute", "quota_per_day")})
    _need(a != Anonymous(), "a public route needs a per-IP limit (rate_per_second, "
          "rate_per_minute or quota_per_day)", where)
    return a


def _breaker(data: Any, where: str) -> Breaker:
    _keys(data, ("failure_rate", "min_requests", "window_seconds", "open_seconds", "probes"),
          where)
    b = Breaker()
    changes: dict[str, Any] = {
        "failure_rate": _num(data, "failure_rate", where, 0.01, 1.0),
        "min_requests": _int(data, "min_requests", where, 1, 10_000),
        "window_seconds": _num(data, "window_seconds", where, 1, 3600),
        "open_seconds": _num(data, "open_seconds", where, 1, 3600),
        "probes": _int(data, "probes", where, 1, 100),
    }
    return replace(b, **{k: v for k, v in changes.items() if v is not None})


def _traffic(data: Any, where: str) -> Traffic:
    _keys(data, ("timeout_seconds", "retries", "retry_unsafe", "sticky", "breaker"), where)
    brk = data.get("breaker")
    return Traffic(
        timeout_seconds=_num(data, "timeout_seconds", where, 0.1, 60.0),
        retries=_int(data, "retries", where, 0, 5),
        retry_unsafe=_bool(data, "retry_unsafe", where),
        sticky=_bool(data, "sticky", where),
        breaker=None if brk is None else _breaker(brk, f"{where}.breaker"),
    )


def _cache(data: Any, where: str) -> CachePolicy:
    _keys(data, ("ttl_seconds", "vary_query", "vary_headers", "shared", "private"), where)
    ttl = _int(data, "ttl_seconds", where, 1, 86_400)
    _need(ttl is not None, "how long to keep a response (1 to 86400 seconds)",
          f"{where}.ttl_seconds")
    vary = tuple(h.lower() for h in _names(data.get("vary_headers", []), f"{where}.vary_headers"))
    for h in vary:
        _header_name(h, f"{where}.vary_headers")
        _need(h not in CREDENTIALS, "vary on the consumer (shared: false), not on the "
              "credential", f"{where}.vary_headers")
    c = CachePolicy(ttl_seconds=int(ttl or 0), vary_headers=vary,
                    shared=_bool(data, "shared", where), private=_bool(data, "private", where))
    if "vary_query" in data:
        c = replace(c, vary_query=_bool(data, "vary_query", where))
    _need(not (c.shared and c.private), "a response marked private is never shared between "
          "consumers: set shared or private, not both", where)
    return c


def _validate(data: Any, where: str) -> Validate:
    _keys(data, ("body", "query", "path"), where)
    v = Validate(**{n: _bool(data, n, where) for n in ("body", "query", "path")})
    _need(v != Validate(), "at least one of body, query, path set to true", where)
    return v


#: What a plan or a consumer may set (on top of the API's and the route's policies).
SCOPED = ("ip", "limits")


def parse(data: Any, where: str = "policies",
          kinds: tuple[str, ...] | None = None) -> Policies | None:
    """Read (and validate) the JSON shape; ``None`` or ``{}`` is no policy. ``kinds``:
    the policy kinds allowed (plans and consumers: :data:`SCOPED`); default every kind."""
    if data is None:
        return None
    if isinstance(data, Policies):
        return data
    _keys(data, kinds or tuple(f.name for f in fields(Policies)), where)
    p = Policies(
        transform=_opt(data, "transform", where, _transform),
        cors=_opt(data, "cors", where, _cors),
        ip=_opt(data, "ip", where, _ip),
        max_body_bytes=_int(data, "max_body_bytes", where, 0, 6 * 1024 * 1024),
        anonymous=_opt(data, "anonymous", where, _anonymous),
        limits=None if data.get("limits") is None else tuple(
            _limit(x, f"{where}.limits[{i}]") for i, x in enumerate(
                _list(data["limits"], f"{where}.limits", 10))),
        cost=_int(data, "cost", where, 0, 1000),
        traffic=_opt(data, "traffic", where, _traffic),
        cache=_opt(data, "cache", where, _cache),
        validate=_opt(data, "validate", where, _validate),
    )
    return None if p.empty else p


def _opt(data: Mapping[str, Any], name: str, where: str, read: Any) -> Any:
    v = data.get(name)
    return None if v is None else read(v, f"{where}.{name}")


def _list(value: Any, where: str, most: int) -> list[Any]:
    _need(isinstance(value, list | tuple) and len(value) <= most, f"a list of at most {most}",
          where)
    return list(value)


def to_json(p: Policies | None) -> dict[str, Any] | None:
    """The stored and API shape: only what is set; header and query pairs as objects."""
    if p is None:
        return None
    return _json(p)  # type: ignore[no-any-return]


def _json(v: Any) -> Any:
    if is_dataclass(v) and not isinstance(v, type):
        out: dict[str, Any] = {}
        for f in fields(v):
            x = getattr(v, f.name)
            if x is None or x == "" or (x == () and f.name not in ("limits",)):
                continue
            if f.name in ("set", "rename", "query_set"):
                out[f.name] = dict(x)
            else:
                out[f.name] = _json(x)
        return out
    if isinstance(v, tuple):
        return [_json(x) for x in v]
    return v


def check_route(policies: Policies | None, method: str, where: str) -> None:
    """Rules that need the route: a cached route answers GET or HEAD only."""
    if policies is not None and policies.cache is not None:
        _need(method in ("GET", "HEAD", "*"), "only GET and HEAD responses are cached",
              f"{where}.cache")
