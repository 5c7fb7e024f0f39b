"""The pure rules behind each gateway policy (``policy.py``), and the compiled form the
route table keeps per route so that a request pays only for what its route sets.

Nothing here does I/O or reads a clock: times are arguments. The gateway's request-path
code (``shared/gateway/policy.py``) calls these with the request, the store-backed
limiter and the upstream.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.core.models import Api, Plan, Upstream
from shared.core.policy import (
    IDEMPOTENT,
    Breaker,
    CachePolicy,
    Cors,
    HeaderOps,
    LimitRule,
    Policies,
    Transform,
)
from shared.core.ratelimit import Schedule, schedule_of
from shared.core.request import GatewayRequest, Headers

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: What a page may read of the gateway's own headers (policy CORS adds the API's ``expose``).
GATEWAY_EXPOSED = ("RateLimit, RateLimit-Policy, Retry-After, Deprecation, Sunset, "
                   "X-Request-Id, Age, X-Cache, X-Tollway-Shadow")


# --- transforms -------------------------------------------------------------------------------


def request_headers(
    pairs: Sequence[tuple[str, str]], ops: HeaderOps
) -> tuple[tuple[str, str], ...]:
    """Request header pairs (names lower-case, repeats kept) after remove, rename, set."""
    removed = {n.lower() for n in ops.remove}
    renamed = {old.lower(): new.lower() for old, new in ops.rename}
    out = [(renamed.get(k, k), v) for k, v in pairs if k not in removed]
    if ops.set:
        replaced = {n.lower() for n, _ in ops.set}
        out = [(k, v) for k, v in out if k not in replaced]
        out += [(n.lower(), v) for n, v in ops.set]
    return tuple(out)


def response_headers(headers: Headers, ops: HeaderOps) -> None:
    """Apply ``ops`` to a response's headers in place (repeats of a renamed header kept)."""
    for name in ops.remove:
        headers.pop(name)
    for old, new in ops.rename:
        values = headers.get_all(old)
        if values:
            headers.pop(old)
            for v in values:
                headers.add(new, v)
    for name, value in ops.set:
        headers[name] = value


def upstream_path(rest: str, t: Transform) -> str:
    """The path below the upstream URL after the prefix rewrite."""
    path = rest or "/"
    if t.strip_prefix:
        strip = t.strip_prefix.rstrip("/")
        if path == strip:
            path = "/"
        elif path.startswith(strip + "/"):
            path = path[len(strip):]
    if t.add_prefix:
        path = t.add_prefix.rstrip("/") + (path if path != "/" else "/")
    return path


def upstream_query(query: str, t: Transform) -> str:
    """The raw query minus ``query_remove`` and every name ``query_set`` replaces, then the
    set pairs: everything else stays byte for byte as the client sent it."""
    if not (t.query_remove or t.query_set):
        return query
    drop = {*t.query_remove, *(n for n, _ in t.query_set)}
    kept = [p for p in query.split("&") if p and p.partition("=")[0] not in drop]
    kept += [f"{n}={v}" for n, v in t.query_set]
    return "&".join(kept)


_REQUEST_FIELDS = ("method", "path", "query", "headers", "body", "source_ip", "request_id",
                   "deadline")
if tuple(f.name for f in dataclasses.fields(GatewayRequest)) != _REQUEST_FIELDS:
    raise ImportError("policy_rules._with copies GatewayRequest's fields: update it")
_M, _P, _Q, _H, _B, _S, _I, _D = (getattr(GatewayRequest, n).__set__ for n in _REQUEST_FIELDS)
_new = object.__new__


def _with(req: GatewayRequest, query: str, headers: tuple[tuple[str, str], ...]
          ) -> GatewayRequest:
    """``dataclasses.replace(req, query=query, headers=headers)``, field by field through
    the slots: half the work of the frozen class's ``__init__``, which goes through
    ``object.__setattr__`` per field (GatewayRequest has no ``__post_init__``)."""
    out = _new(GatewayRequest)
    _M(out, req.method)
    _P(out, req.path)
    _Q(out, query)
    _H(out, headers)
    _B(out, req.body)
    _S(out, req.source_ip)
    _I(out, req.request_id)
    _D(out, req.deadline)
    return out


class CompiledTransform:
    """A ``transform`` with what only depends on it computed once per route: the header
    name sets, the prefixes, the query names dropped and the pairs appended. Each method
    gives exactly what the function of the same role above gives (unit-tested); response
    headers go through :func:`response_headers` (``Headers`` finds a name without a scan)."""

    __slots__ = ("add", "drop", "fate", "query_pairs", "removed", "renamed", "replaced",
                 "req_ops", "resp_ops", "set_pairs", "strip", "touched", "transform")

    def __init__(self, t: Transform) -> None:
        self.transform = t
        self.req_ops = t.request_headers
        ops = t.request_headers or HeaderOps()
        self.removed = frozenset(n.lower() for n in ops.remove)
        self.renamed = {old.lower(): new.lower() for old, new in ops.rename}
        self.replaced = frozenset(n.lower() for n, _ in ops.set)
        self.set_pairs = tuple((n.lower(), v) for n, v in ops.set)
        self.strip = t.strip_prefix.rstrip("/") if t.strip_prefix else ""
        self.add = t.add_prefix.rstrip("/") if t.add_prefix else ""
        self.drop = frozenset({*t.query_remove, *(n for n, _ in t.query_set)})
        self.query_pairs = tuple(f"{n}={v}" for n, v in t.query_set)
        self.resp_ops = t.response_headers
        # What becomes of a request header each op names: "" (not sent) or the name it is
        # sent under; every other header goes as it came.
        self.fate: dict[str, str] = dict.fromkeys(self.replaced, "")
        for old, new in self.renamed.items():
            self.fate[old] = "" if new in self.replaced else new
        self.fate.update(dict.fromkeys(self.removed, ""))
        self.touched = frozenset(self.fate)

    def request(self, pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """:func:`request_headers`: one pass (removed, renamed, replaced), then the set."""
        if self.req_ops is None:
            return tuple(pairs)
        # one test per header for the usual one (no op names it); the others' fate looked up
        touched, fate = self.touched, self.fate
        out = [p if p[0] not in touched else (new, p[1]) for p in pairs
               if p[0] not in touched or (new := fate[p[0]])]
        return (*out, *self.set_pairs)

    def upstream(self, req: GatewayRequest, rest: str) -> tuple[GatewayRequest, str]:
        """The request as the upstream gets it (``request`` and ``query`` applied) and
        ``path(rest)``, in one call."""
        hdrs = req.headers if self.req_ops is None else self.request(req.headers)
        query = self.query(req.query) if self.drop else req.query
        return _with(req, query, hdrs), self.path(rest)

    def response(self, headers: Headers) -> None:
        """:func:`response_headers` with the response ops (if any), asking whether a name is
        there before removing it (most answers lack what a route removes, and ``pop`` of
        an absent name costs a lookup that fails)."""
        ops = self.resp_ops
        if ops is None:
            return
        for name in ops.remove:
            if name in headers:
                headers.pop(name)
        for old, new in ops.rename:
            if old in headers:
                values = headers.get_all(old)
                headers.pop(old)
                for v in values:
                    headers.add(new, v)
        for name, value in ops.set:
            headers[name] = value

    def path(self, rest: str) -> str:
        """:func:`upstream_path`."""
        path = rest or "/"
        strip = self.strip
        if self.transform.strip_prefix:
            if path == strip:
                path = "/"
            elif path.startswith(strip + "/"):
                path = path[len(strip):]
        if self.transform.add_prefix:
            path = self.add + path
        return path

    def query(self, query: str) -> str:
        """:func:`upstream_query`."""
        drop = self.drop
        if not drop:
            return query
        kept = [p for p in query.split("&") if p and p.partition("=")[0] not in drop]
        kept += self.query_pairs
        return "&".join(kept)


# --- access ---------------------------------------------------------------------------------


class IpMatcher:
    """Compiled allow/deny lists. Verdicts per address are remembered (bounded): most
    traffic comes from a few addresses, and parsing one costs more than the lookup."""

    __slots__ = ("allow", "deny", "verdicts")

    def __init__(self, allow: tuple[Network, ...], deny: tuple[Network, ...]) -> None:
        self.allow, self.deny = allow, deny
        #: address -> verdict, as ``admits`` remembered it (callers on the request path
        #: may read it first and call ``admits`` only for an address not in it)
        self.verdicts: dict[str, bool] = {}

    @classmethod
    def of(cls, allow: Iterable[str], deny: Iterable[str]) -> IpMatcher:
        def nets(cidrs: Iterable[str]) -> tuple[Network, ...]:
            return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)

        return cls(nets(allow), nets(deny))

    def admits(self, ip: str) -> bool:
        seen = self.verdicts.get(ip)
        if seen is None:
            seen = self._admits(ip)
            if len(self.verdicts) >= 4096:
                self.verdicts.clear()
            self.verdicts[ip] = seen
        return seen

    def _admits(self, ip: str) -> bool:
        """Deny wins; a non-empty allow list admits only its networks. An address that
        cannot be read (none given) is admitted only when there is no allow list."""
        try:
            addr = ipaddress.ip_address(ip.strip())
        except ValueError:
            return not self.allow
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1 (dual-stack sockets)
        if any(addr in n for n in self.deny if n.version == addr.version):
            return False
        return not self.allow or any(addr in n for n in self.allow if n.version == addr.version)


@dataclass(frozen=True, slots=True)
class CorsRule:
    cors: Cors
    origins: frozenset[str]
    methods: str
    headers: str
    expose: str
    any: bool = False  # "*" is one of the origins

    @classmethod
    def of(cls, c: Cors, exposed_by_gateway: str) -> CorsRule:
        expose = ", ".join(dict.fromkeys([*exposed_by_gateway.split(", "), *c.expose]))
        return cls(c, frozenset(c.origins), ", ".join(c.methods), ", ".join(c.headers), expose,
                   "*" in c.origins)

    def allowed(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, or None."""
        if origin is None:
            return None
        if origin in self.origins:
            return origin
        return "*" if "*" in self.origins else None

    def preflight(self, origin: str) -> Headers:
        h = Headers({
            "Access-Control-Allow-Origin": origin,
            "Vary": "Origin",
            "Access-Control-Allow-Methods": self.methods,
            "Access-Control-Allow-Headers": self.headers,
            "Access-Control-Max-Age": str(self.cors.max_age),
        })
        if self.cors.credentials:
            h["Access-Control-Allow-Credentials"] = "true"
        return h

    def decorate(self, headers: Headers, allow: str) -> None:
        headers["Access-Control-Allow-Origin"] = allow
        if allow != "*":
            headers.add("Vary", "Origin")
        headers["Access-Control-Expose-Headers"] = self.expose
        if self.cors.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"


# --- limits ---------------------------------------------------------------------------------


def limit_plan(name: str, rule: LimitRule | None = None, **windows: int | None) -> Plan:
    """A policy limit as the limiter reads limits: a plan of its own (fixed windows)."""
    if rule is not None:
        windows = {n: getattr(rule, n) for n in
                   ("rate_per_second", "rate_per_minute", "quota_per_day", "quota_per_month")}
    return Plan(name, name, **windows)  # type: ignore[arg-type]


def limit_key(rule: LimitRule, *, api: str, index: int, consumer: str, key_id: str, ip: str,
              header: str | None, route: str, scope: str = "") -> str:
    """The bucket a policy limit counts in. One per API: a route's own limit and the API's
    count apart when they are different rules (``index``); a plan's or a consumer's limit
    counts in its own (``scope``: ``P:<plan id>#``, ``C:<consumer id>#``)."""
    return limit_prefix(api, index, scope) + limit_tail(
        rule, consumer=consumer, key_id=key_id, ip=ip, header=header, route=route)


def limit_prefix(api: str, index: int, scope: str = "") -> str:
    """What :func:`limit_key` starts with: the same for every request of a rule."""
    return f"POL#{scope}{api}#{index}#"


def limit_tail(rule: LimitRule, *, consumer: str, key_id: str, ip: str, header: str | None,
               route: str) -> str:
    """What :func:`limit_key` ends with: what the request is counted by (a ``header``
    rule's is ``header_tail``)."""
    if rule.by == "consumer":
        return f"CON#{consumer}"
    if rule.by == "key":
        return f"KEY#{key_id}" if key_id else f"CON#{consumer}"
    if rule.by == "ip":
        return f"IP#{ip or '-'}"
    if rule.by == "header":
        return header_tail(header)
    return f"CON#{consumer}#R#{route}"


def header_tail(value: str | None) -> str:
    """:func:`limit_tail` of a ``header`` rule, given the header's value."""
    return "H#" + (value or "-")[:200]


# --- traffic --------------------------------------------------------------------------------


def pick(upstreams: Sequence[Upstream], seed: int, healthy: Sequence[bool] | None = None) -> int:
    """Weighted choice (index), deterministic in ``seed``; upstreams not ``healthy`` are
    skipped while any healthy one is left (then every one is a candidate again)."""
    cands = [i for i, u in enumerate(upstreams) if u.weight > 0
             and (healthy is None or healthy[i])]
    if not cands:
        cands = [i for i, u in enumerate(upstreams) if u.weight > 0] or [0]
    total = sum(max(upstreams[i].weight, 1) for i in cands)
    point = seed % total
    for i in cands:
        w = max(upstreams[i].weight, 1)
        if point < w:
            return i
        point -= w
    return cands[-1]


def sticky_seed(consumer_id: str) -> int:
    """The same consumer lands on the same upstream while the weights stay."""
    return zlib.crc32(consumer_id.encode())


def retries_for(method: str, retries: int, unsafe: bool) -> int:
    return retries if method in IDEMPOTENT or unsafe else 0


class BreakerState:
    """One upstream's circuit breaker (per gateway instance). Not thread-safe by itself:
    the gateway holds a lock around it. Times are the injected clock's.

    Outcomes are counted in ten buckets per window (constant work per request, however
    busy the upstream): the failure rate is over the buckets that began within the last
    ``window_seconds``."""

    __slots__ = ("buckets", "fails", "opened_at", "probes_out", "rule", "total", "width")

    def __init__(self, rule: Breaker) -> None:
        self.rule = rule
        self.width = rule.window_seconds / 10
        self.buckets: deque[list[float]] = deque()  # [start, requests, failures]
        self.total = self.fails = 0  # the buckets' sums, kept as they change
        self.opened_at: float | None = None
        self.probes_out = 0

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if now < self.opened_at + self.rule.open_seconds else "half-open"

    def allow(self, now: float) -> bool:
        s = self.state(now)
        if s == "closed":
            return True
        if s == "open" or self.probes_out >= self.rule.probes:
            return False
        self.probes_out += 1
        return True

    def available(self, now: float) -> bool:
        """Would ``allow`` admit (without taking a probe)?"""
        s = self.state(now)
        return s == "closed" or (s == "half-open" and self.probes_out < self.rule.probes)

    def record(self, failed: bool, now: float) -> None:
        if self.opened_at is not None:  # a probe's answer decides
            if failed:
                self.opened_at, self.probes_out = now, 0
            else:
                self.opened_at, self.probes_out = None, 0
                self.buckets.clear()
                self.total = self.fails = 0
            return
        buckets = self.buckets
        horizon = now - self.rule.window_seconds
        while buckets and buckets[0][0] <= horizon:
            gone = buckets.popleft()
            self.total -= int(gone[1])
            self.fails -= int(gone[2])
        if not buckets or now >= buckets[-1][0] + self.width:
            buckets.append([now, 0, 0])
        last = buckets[-1]
        last[1] += 1
        last[2] += failed
        self.total += 1
        self.fails += failed
        total, fails = self.total, self.fails
        if total >= self.rule.min_requests and fails / total >= self.rule.failure_rate:
            self.opened_at, self.probes_out = now, 0
            buckets.clear()
            self.total = self.fails = 0


#: Answers a circuit breaker counts as failures (with no answer at all).
FAILURES = frozenset({502, 503, 504})


def is_failure(status: int) -> bool:
    return status in FAILURES


# --- caching --------------------------------------------------------------------------------


#: Statuses whose answers may be kept (:func:`cache_ttl`).
CACHEABLE = frozenset({200, 203, 204, 300, 301, 404, 410})
#: Response header names that can shorten or forbid keeping an answer (:func:`cache_ttl`).
_SAYS_CACHING = frozenset({"cache-control", "set-cookie", "vary"})


def cache_ttl(status: int, headers: Headers, rule: CachePolicy) -> int:
    """Seconds a response may be kept (0: not at all). ``no-store`` and ``no-cache`` are
    never kept; ``private`` and ``Set-Cookie`` responses only when the route says
    ``private`` (then per consumer); ``max-age``/``s-maxage`` shorten the route's TTL;
    ``Vary: *`` is never kept."""
    if status not in CACHEABLE:
        return 0
    if "cache-control" not in headers and "set-cookie" not in headers and "vary" not in headers:
        return rule.ttl_seconds  # nothing the answer says shortens the route's TTL
    d: dict[str, str] = {}
    for name, value in headers.items():  # one pass over the headers
        low = name.lower()
        if low == "cache-control":
            for part in value.split(","):
                k, _, v = part.strip().partition("=")
                if k:
                    d[k.lower()] = v.strip().strip('"')
        elif low == "set-cookie":
            d["set-cookie"] = ""
        elif low == "vary" and any(v.strip() == "*" for v in value.split(",")):
            return 0
    if "no-store" in d or "no-cache" in d:
        return 0
    if ("private" in d or "set-cookie" in d) and not rule.private:
        return 0
    ttl = rule.ttl_seconds
    for name in ("s-maxage", "max-age"):
        if name in d:
            try:
                ttl = min(ttl, max(0, int(d[name])))
            except ValueError:
                return 0
            break
    return ttl


def cache_key(rule: CachePolicy, *, api_id: str, method: str, path: str, query: str,
              headers: Sequence[tuple[str, str]], consumer: str) -> str:
    """What the entry varies on: method (HEAD and GET apart), path, the query (or not),
    the chosen request headers, and the consumer unless the route shares entries."""
    parts = [api_id, method, path, query if rule.vary_query else ""]
    for name in rule.vary_headers:
        parts.append(name + "=" + ",".join([v for k, v in headers if k == name]))
    parts.append("*" if rule.shared else consumer)
    return "\x00".join(parts)


class CompiledCache:
    """A ``cache`` policy with what only depends on it and its API computed once per route.
    ``key`` is :func:`cache_key` and, in the same pass over the request's headers, whether
    the client asked to skip the lookup (``Cache-Control: no-cache`` or ``no-store``);
    ``ttl`` is :func:`cache_ttl` read from the pairs that would be kept (the full rule
    only when one of them says something about caching). Unit-tested against both."""

    __slots__ = ("api_id", "head", "one", "rule")

    def __init__(self, rule: CachePolicy, api_id: str) -> None:
        self.rule, self.api_id = rule, api_id
        self.head = api_id + "\x00"
        # the usual single vary header, read in the same pass as Cache-Control
        self.one = rule.vary_headers[0] if len(rule.vary_headers) == 1 else None

    def key(self, method: str, path: str, query: str, headers: Sequence[tuple[str, str]],
            consumer: str) -> tuple[str, bool]:
        """(:func:`cache_key`, whether the client's ``Cache-Control`` skips the lookup)."""
        rule, one = self.rule, self.one
        skip = False
        values: list[str] = []
        for k, v in headers:
            if k == one:
                values.append(v)
            if k == "cache-control" and ("no-cache" in v or "no-store" in v):
                skip = True
        who = "*" if rule.shared else consumer
        q = query if rule.vary_query else ""
        if one is not None:
            vary = f"{one}={','.join(values)}"
            return f"{self.head}{method}\x00{path}\x00{q}\x00{vary}\x00{who}", skip
        if not rule.vary_headers:
            return f"{self.head}{method}\x00{path}\x00{q}\x00{who}", skip
        return cache_key(rule, api_id=self.api_id, method=method, path=path, query=query,
                         headers=headers, consumer=consumer), skip

    def ttl(self, status: int, kept: Sequence[tuple[str, str]]) -> int:
        """:func:`cache_ttl` of an answer whose headers are ``kept``."""
        if status not in CACHEABLE:
            return 0
        for k, _ in kept:
            if k.lower() in _SAYS_CACHING:
                return cache_ttl(status, Headers(kept), self.rule)
        return self.rule.ttl_seconds


# --- plans and consumers -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scoped:
    """A plan's and a consumer's policies for one warm entry: every matcher must admit the
    address, every limit is charged (each in its own ``scope`` of buckets)."""

    ips: tuple[IpMatcher, ...]
    limits: tuple[tuple[str, CompiledLimit], ...]  # (bucket scope, limit)
    #: What the gateway derives once per warm entry (the limits' bucket prefixes).
    memo: dict[str, object] = dataclasses.field(default_factory=dict, compare=False,
                                                repr=False)


@functools.lru_cache(maxsize=1024)
def _compile_scope(p: Policies) -> tuple[IpMatcher | None, tuple[CompiledLimit, ...]]:
    """Once per distinct policies value (records are frozen and hashable), not per request."""
    ip = None if p.ip is None else IpMatcher.of(p.ip.allow, p.ip.deny)
    limits = tuple(
        CompiledLimit(i, r, plan := limit_plan(f"policy-{i}", r), schedule_of(plan))
        for i, r in enumerate(p.limits or ())
    )
    return ip, limits


def scoped(plan: Plan, plan_policies: Policies | None, consumer_id: str,
           consumer_policies: Policies | None) -> Scoped | None:
    """What a plan and a consumer add (``None``: nothing, and no cost)."""
    if plan_policies is None and consumer_policies is None:
        return None
    ips: list[IpMatcher] = []
    limits: list[tuple[str, CompiledLimit]] = []
    for scope, p in ((f"P:{plan.id}#", plan_policies), (f"C:{consumer_id}#", consumer_policies)):
        if p is None:
            continue
        ip, ls = _compile_scope(p)
        if ip is not None:
            ips.append(ip)
        limits += [(scope, cl) for cl in ls]
    return Scoped(tuple(ips), tuple(limits))


# --- compiled, per route ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CompiledLimit:
    index: int
    rule: LimitRule
    plan: Plan
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class Compiled:
    """A route's merged policies with everything that only depends on them computed once
    (when the route table is built)."""

    policies: Policies
    api: Api  # the API as forwarding sees it (route timeout and retries applied)
    cors: CorsRule | None
    ip: IpMatcher | None
    limits: tuple[CompiledLimit, ...]
    anonymous: CompiledLimit | None
    #: True when forwarding needs the policy layer (transforms, traffic, cache).
    forwards: bool
    route_key: str
    #: ``api`` with one upstream each: what forwarding sees once an upstream is chosen.
    per_upstream: tuple[Api, ...] = ()
    #: The transform with its name sets and prefixes computed (None: no transform).
    transform: CompiledTransform | None = dataclasses.field(default=None, compare=False)
    #: :func:`pick` without health: (last point of each candidate's range, its index).
    picks: tuple[tuple[int, int], ...] = ()
    #: The upstream URLs, in order (the breakers' keys).
    urls: tuple[str, ...] = ()
    #: A sticky route's upstream (index) per consumer while every breaker is closed
    #: (bounded; gone with the route table, like the weights it was chosen by).
    sticky: dict[str, int] = dataclasses.field(default_factory=dict, compare=False,
                                               repr=False)
    #: The cache policy with its key's constant parts (None: no cache policy).
    cache: CompiledCache | None = dataclasses.field(default=None, compare=False)
    #: What the gateway learns once per compiled route and keeps with it (the compiled
    #: OpenAPI document for ``validate``): a route table, and so this, is rebuilt within
    #: the cache TTL, so nothing kept here outlives it.
    memo: dict[str, object] = dataclasses.field(default_factory=dict, compare=False,
                                                repr=False)


def pick_table(upstreams: Sequence[Upstream]) -> tuple[tuple[int, int], ...]:
    """What :func:`pick` walks when every upstream counts as healthy, computed once:
    ``pick_from(table, seed) == pick(upstreams, seed)``."""
    cands = [i for i, u in enumerate(upstreams) if u.weight > 0] or [0]
    out, edge = [], 0
    for i in cands:
        edge += max(upstreams[i].weight, 1) if i < len(upstreams) else 1
        out.append((edge, i))
    return tuple(out)


def pick_from(table: tuple[tuple[int, int], ...], seed: int) -> int:
    point = seed % table[-1][0]
    for edge, i in table:
        if point < edge:
            return i
    return table[-1][1]


def compile_policies(p: Policies, api: Api, route_key: str,
                     exposed: str = GATEWAY_EXPOSED) -> Compiled:
    view = api
    t = p.traffic
    if t is not None and (t.timeout_seconds is not None or t.retries is not None):
        view = dataclasses.replace(
            api,
            timeout_seconds=api.timeout_seconds if t.timeout_seconds is None else t.timeout_seconds,
            retries=api.retries if t.retries is None else t.retries,
        )
    limits = tuple(
        CompiledLimit(i, r, plan := limit_plan(f"policy-{i}", r), schedule_of(plan))
        for i, r in enumerate(p.limits or ())
    )
    anon = None
    if p.anonymous is not None:
        a = p.anonymous
        plan = limit_plan("anonymous", rate_per_second=a.rate_per_second,
                          rate_per_minute=a.rate_per_minute, quota_per_day=a.quota_per_day)
        anon = CompiledLimit(-1, LimitRule("ip"), plan, schedule_of(plan))
    return Compiled(
        policies=p,
        api=view,
        cors=None if p.cors is None else CorsRule.of(p.cors, exposed),
        ip=None if p.ip is None else IpMatcher.of(p.ip.allow, p.ip.deny),
        limits=limits,
        anonymous=anon,
        forwards=(p.transform is not None or p.traffic is not None or p.cache is not None
                  or p.validate is not None),
        route_key=route_key,
        per_upstream=tuple(dataclasses.replace(view, upstreams=(u,)) for u in view.upstreams),
        transform=None if p.transform is None else CompiledTransform(p.transform),
        picks=pick_table(view.upstreams),
        urls=tuple(u.url for u in view.upstreams),
        cache=None if p.cache is None else CompiledCache(p.cache, api.id),
    )
