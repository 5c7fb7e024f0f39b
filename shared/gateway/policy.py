"""Gateway policies on the request path: what ``Gateway`` calls for a route that has any.

A route without policies never reaches this module (``Match.policy`` is ``None``), so the
policy-free path costs one attribute check. For a route with policies, the order is:

1. ``preflight`` — a CORS preflight from an origin the API allows (before credentials,
   like the portal's own preflights);
2. ``anonymous`` — a public route reached without a credential: counted per client IP;
3. ``before_charge`` — IP allow/deny and the route's body size, before any limit is charged
   (a refused address never spends a consumer's quota);
4. ``after_charge`` — the policy's own limits (by key, IP, header, consumer + route), each
   one more store ``hit``; shadow limits only count and report;
5. ``forward`` — response cache, request transforms, upstream choice (weights, sticky,
   circuit breakers), per-route timeout and retries, response transforms;
6. ``decorate`` — the API's CORS headers.

State kept per gateway instance (not shared between instances, by design): circuit
breakers and the response cache (bounded in bytes).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import zlib
from collections import OrderedDict
from itertools import chain
from typing import TYPE_CHECKING

from shared.core.clock import Clock
from shared.core.models import Consumer, Plan
from shared.core.outcomes import Outcome
from shared.core.policy import IDEMPOTENT, Validate
from shared.core.policy_rules import (
    CACHEABLE,
    FAILURES,
    BreakerState,
    Compiled,
    CompiledLimit,
    Scoped,
    header_tail,
    limit_prefix,
    limit_tail,
    pick,
    pick_from,
    scoped,
    sticky_seed,
)
from shared.core.ratelimit import decide, ratelimit_headers
from shared.core.request import GatewayRequest, GatewayResponse, Headers
from shared.core.routing import RouteTable
from shared.gateway import cors, validation
from shared.gateway.cache import SharedCache
from shared.gateway.throttle import Limiter, Throttled
from shared.management import records
from shared.ports import Metrics, StoreUnavailable

if TYPE_CHECKING:
    from shared.gateway.service import Gateway, Verdict

#: Response headers the gateway writes itself: never stored in the response cache (a hit
#: gets the current request's).
_OWN = frozenset({"ratelimit", "ratelimit-policy", "retry-after", "x-request-id",
                  "deprecation", "sunset", "x-tollway-shadow", "age", "x-cache"})
SHADOW = "X-Tollway-Shadow"
log = logging.getLogger("tollway.gateway")
DEFAULT_CACHE_BYTES = 16 * 1024 * 1024
_UNREAD = object()  # Compiled.memo has no document yet


class ResponseCache:
    """In-instance LRU bounded in bytes (bodies + header bytes). An entry bigger than an
    eighth of the bound is not kept: one large answer must not flush every other."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self._data: OrderedDict[str, tuple[float, float, int, tuple[tuple[str, str], ...],
                                           bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> tuple[float, int, tuple[tuple[str, str], ...],
                                                 bytes] | None:
        lock = self._lock  # acquire/release: half the work of ``with`` (every request)
        lock.acquire()
        try:
            e = self._data.get(key)
            if e is None:
                return None
            if e[0] <= now:
                self._drop(key)
                return None
            self._data.move_to_end(key)
            return e[1], e[2], e[3], e[4]
        finally:
            lock.release()

    def put(self, key: str, expires: float, stored: float, status: int,
            headers: tuple[tuple[str, str], ...], body: bytes) -> bool:
        size = len(body) + sum(map(len, chain.from_iterable(headers))) + len(key)
        if size > self.max_bytes // 8:
            return False
        lock = self._lock
        lock.acquire()
        try:
            old = self._data.pop(key, None)  # a newer answer replaces the entry
            if old is not None:
                self.size -= old[5]
            self._data[key] = (expires, stored, status, headers, body, size)
            self.size += size
            while self.size > self.max_bytes:
                self._drop(next(iter(self._data)))
        finally:
            lock.release()
        return True

    def _drop(self, key: str) -> None:
        e = self._data.pop(key)
        self.size -= e[5]


class PolicyLayer:
    def __init__(self, limiter: Limiter, clock: Clock, metrics: Metrics,
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.limiter, self.clock, self.metrics = limiter, clock, metrics
        self.cache = ResponseCache(cache_bytes)
        self.validators = validation.Validators()
        self._shared_cache: SharedCache | None = None
        self._breakers: dict[str, BreakerState] = {}
        self._tripped: set[str] = set()  # upstreams whose breaker is open or half-open
        self._seeds: dict[str, int] = {}  # sticky_seed per consumer (bounded)
        self._lock = threading.Lock()

    # --- before credentials ------------------------------------------------------------------

    @staticmethod
    def preflight(req: GatewayRequest, routes: RouteTable) -> GatewayResponse | None:
        """A CORS preflight the API's own CORS policy allows (for the method asked)."""
        origin = req.header("origin")
        asked = req.header("access-control-request-method")
        if origin is None or asked is None:
            return None
        match = routes.match(asked.strip().upper(), req.path)
        c = match.policy
        if c is None and match.api is not None:  # no route for that method: the API's CORS
            c = routes.api_policy(match.api)
        if c is None or c.cors is None:
            return None
        allow = c.cors.allowed(origin)
        if allow is None:
            return None
        return GatewayResponse(204, c.cors.preflight(allow))

    @staticmethod
    def public(req: GatewayRequest, routes: RouteTable) -> bool:
        """Is the request's route public (``anonymous``)? For an authorizer in front: it
        lets such a request through without a consumer, and the router, which sees no
        consumer in its context, runs the anonymous path (per-IP limits) itself."""
        if not routes.anonymous:
            return False
        match = routes.match(req.method, req.path)
        return (match.outcome is Outcome.OK and match.policy is not None
                and match.policy.anonymous is not None)

    def anonymous(self, req: GatewayRequest, v: Verdict, routes: RouteTable) -> Verdict:
        """A request without a credential: admitted on a public route, counted per IP."""
        match = routes.match(req.method, req.path)
        c = match.policy
        if match.outcome is not Outcome.OK or c is None or c.anonymous is None:
            return v  # still the 401: nothing about the catalog is revealed
        assert match.api is not None
        v.api, v.route, v.rest, v.policy = match.api, match.route, match.rest, c
        if not self.before_charge(req, v, c):
            return v
        bucket = f"ANON#{match.api.name}#IP#{req.source_ip or '-'}"
        if not self._charge(v, c.anonymous, bucket, report=True):
            return v
        v.outcome = Outcome.OK
        return self.after_charge(req, v, c)

    # --- around the plan's limit ---------------------------------------------------------------

    @staticmethod
    def before_charge(req: GatewayRequest, v: Verdict, c: Compiled) -> bool:
        """IP rules and body size. False: ``v.outcome`` says why."""
        return PolicyLayer.admit(req, v, c, None)

    @staticmethod
    def scoped(plan: Plan, consumer: Consumer) -> Scoped | None:
        """A plan's and a consumer's IP lists and limits, compiled once per policies value
        (``None`` when neither has any: the warm path then pays one check)."""
        return scoped(plan, plan.policies, consumer.id, consumer.policies)

    @staticmethod
    def admit(req: GatewayRequest, v: Verdict, c: Compiled | None, s: Scoped | None) -> bool:
        """The route's IP rules and body size (when ``c``), then every level's IP lists
        (when ``s``: deny wins everywhere), in one call for the warm path (each matcher
        remembers its verdict per address). False: ``v.outcome`` says why."""
        ip = req.source_ip
        if c is not None:
            if c.ip is not None and not c.ip.admits(ip):
                v.outcome = Outcome.IP_DENIED
                return False
            most = c.policies.max_body_bytes
            if most is not None and len(req.body) > most:
                v.outcome = Outcome.BODY_TOO_LARGE
                return False
        if s is not None:
            for m in s.ips:
                if not m.admits(ip):
                    v.outcome = Outcome.IP_DENIED
                    return False
        return True

    def after_charge(self, req: GatewayRequest, v: Verdict, c: Compiled | None,
                     now: float | None = None) -> Verdict:
        """The route's (and API's) own limits, then the plan's and the consumer's, once the
        plan admitted the request. Every level's limits are charged; the first refusal
        ends the request (the limits charged before it stay charged, as with the plan).
        ``now``: the limiter's clock as the plan's limit was charged, if the caller read it.

        Each limit is one ``Limiter.count`` (a store ``hit`` of its window's slots, no
        ledger slot), with one clock reading for every limit of the request."""
        assert v.api is not None
        if now is None:
            now = self.limiter.clock.now()
        count = self.limiter.count
        header: str | None = None  # the last header read: rules by the same header read it
        tail = ""  # once
        for prefix, cl, route, by_header in _limits(c, v.scoped, v):
            rule = cl.rule
            if by_header is not None:
                if by_header != header:
                    header = by_header
                    tail = header_tail(req.header(header))
                bucket = prefix + tail
            else:
                bucket = prefix + limit_tail(rule, consumer=v.consumer_id, key_id=v.key_id,
                                             ip=req.source_ip, header=None, route=route)
            schedule = cl.schedule
            if schedule.shards != 1:
                if not self._charge(v, cl, bucket, report=False):
                    return v
                continue
            # No RateLimit headers are shown for these: one hit, and a decision only on denial.
            result = count(bucket, schedule, now)
            if result is None:  # the store is down: a shadow limit never denies
                if rule.shadow:
                    continue
                v.outcome = Outcome.STORE_UNAVAILABLE
                v.headers["Retry-After"] = "1"
                return v
            if result.admitted:
                continue
            if rule.shadow:
                self.metrics.count("WouldThrottle")
                if SHADOW not in v.headers:  # said once, however many shadow limits throttle
                    v.headers[SHADOW] = "would-throttle"
                continue
            d = decide(schedule.counters(now), result)
            quota = d.exceeded is not None and d.exceeded.is_quota
            v.outcome = Outcome.QUOTA_EXCEEDED if quota else Outcome.RATE_LIMITED
            v.headers.update(ratelimit_headers(d.states))
            v.headers["Retry-After"] = str(d.retry_after)
            return v
        return v

    def _charge(self, v: Verdict, cl: CompiledLimit, bucket: str, *, report: bool) -> bool:
        charged = self.limiter.charge(bucket, cl.schedule)  # policy limits: fixed windows
        if type(charged) is dict:  # admitted
            if report:
                v.headers.update(charged)
            return True
        assert isinstance(charged, Throttled)
        d = charged.decision
        shadow = cl.rule.shadow
        if d is None:  # the store is down: a shadow limit never denies; the others fail closed
            if shadow:
                return True
            v.outcome = Outcome.STORE_UNAVAILABLE
            v.headers["Retry-After"] = "1"
            return False
        if report:  # a public route's per-IP limit is the one the caller sees
            v.headers.update(d.headers if d.headers is not None else ratelimit_headers(d.states))
        if d.admitted:
            return True
        if shadow:
            self.metrics.count("WouldThrottle")
            if SHADOW not in v.headers:  # said once, however many shadow limits would throttle
                v.headers[SHADOW] = "would-throttle"
            return True
        quota = d.exceeded is not None and d.exceeded.is_quota
        v.outcome = Outcome.QUOTA_EXCEEDED if quota else Outcome.RATE_LIMITED
        v.headers.update(d.headers if d.headers is not None else ratelimit_headers(d.states))
        v.headers["Retry-After"] = str(d.retry_after)
        return False

    # --- forwarding ------------------------------------------------------------------------------

    def forward(self, gw: Gateway, req: GatewayRequest, v: Verdict) -> GatewayResponse:
        c = v.policy
        assert c is not None and v.api is not None
        p, now = c.policies, self.clock.now()
        if p.validate is not None:
            invalid = self._validate(gw, req, v, c, p.validate)
            if invalid is not None:
                return invalid
        key = None
        cc = c.cache  # compiled once per route (policy_rules.CompiledCache)
        if cc is not None and req.method in ("GET", "HEAD"):
            key, skip = cc.key(req.method, v.rest, req.query, req.headers, v.consumer_id)
            if not skip:
                hit = self.cache.get(key, now)
                if hit is None and cc.rule.shared:  # another instance may have stored it
                    hit = self._shared_get(gw, key, now)
                if hit is not None:
                    self.metrics.count("CacheHit")
                    return self._from_cache(v, hit, now)
        t = c.transform  # compiled once per route (policy_rules.CompiledTransform)
        out, rest = (req, v.rest) if t is None else t.upstream(req, v.rest)
        resp = self._send(gw, out, v, c, rest, now)
        if t is not None:
            t.response(resp.headers)
        if key is not None and cc is not None:
            self.metrics.count("CacheMiss")
            if v.outcome is Outcome.OK and resp.status in CACHEABLE:
                kept = resp.headers.pairs_except(_OWN)
                ttl = cc.ttl(resp.status, kept)
                if ttl:
                    self.cache.put(key, now + ttl, now, resp.status, kept, resp.body)
                    if cc.rule.shared:
                        self._shared(gw).put(key, now + ttl, now, resp.status, kept, resp.body)
            resp.headers["X-Cache"] = "MISS"
        return resp

    def _validate(self, gw: Gateway, req: GatewayRequest, v: Verdict, c: Compiled,
                  which: Validate) -> GatewayResponse | None:
        """The request against the API's OpenAPI document: a 400 listing what is wrong, or
        None (valid, not described, or no usable document)."""
        assert v.api is not None
        doc = c.memo.get("doc", _UNREAD)  # the document, once per compiled route
        if doc is _UNREAD:
            api_id, store = v.api.id, gw.directory.store
            try:
                doc = self.validators.get(api_id, gw.directory.routes(),
                                          lambda: records.doc_meta(store, api_id),
                                          lambda: records.read_doc(store, api_id))
            except StoreUnavailable:
                return None  # the limits already ran against the store; keep serving
            c.memo["doc"] = doc
        if doc is None:
            return None
        assert isinstance(doc, validation.Document)
        # without a body the content type is never read (and need not be in the memo's key)
        content_type = req.header("content-type") if req.body else None
        try:
            errors = validation.check(doc, which, req.method, v.rest, req.query,
                                      content_type, req.body)
        except Exception:  # a document this compiler let through must never be a 500
            log.warning("validation failed on API %s; request passed", v.api.id,
                        exc_info=True)
            return None
        if not errors:
            return None
        self.metrics.count("RequestInvalid")
        v.outcome = Outcome.BAD_REQUEST  # answered, not billed as a served request
        h = Headers({"Content-Type": validation.CONTENT_TYPE})
        h.update(v.headers)
        h["X-Request-Id"] = v.echo_id
        return GatewayResponse(400, h, validation.problem_body(errors))

    def _shared(self, gw: Gateway) -> SharedCache:
        shared = self._shared_cache
        if shared is None or shared.store is not gw.directory.store:
            shared = self._shared_cache = SharedCache(gw.directory.store)
        return shared

    def _shared_get(self, gw: Gateway, key: str, now: float) -> tuple[
            float, int, tuple[tuple[str, str], ...], bytes] | None:
        """The store's entry (read through: kept in this instance too, until it expires)."""
        found = self._shared(gw).get(key)
        if found is None or found[0] <= now:
            return None
        expires, entry = found
        self.metrics.count("SharedCacheHit")
        self.cache.put(key, expires, *entry)
        return entry

    @staticmethod
    def _from_cache(v: Verdict, hit: tuple[float, int, tuple[tuple[str, str], ...], bytes],
                    now: float) -> GatewayResponse:
        stored, status, headers, body = hit
        out = Headers(headers)
        out.update(v.headers)
        out["X-Request-Id"] = v.echo_id
        out["Age"] = str(max(0, int(now - stored)))
        out["X-Cache"] = "HIT"
        return GatewayResponse(status, out, body)

    def _send(self, gw: Gateway, req: GatewayRequest, v: Verdict, c: Compiled,
              rest: str, now: float) -> GatewayResponse:
        """Choose the upstream, forward (with the route's timeout and retries), and feed
        the breaker what happened. ``now``: the clock read as forwarding began."""
        api, t = c.api, c.policies.traffic
        brk = t.breaker if t is not None else None
        ups = api.upstreams
        chosen = 0
        if len(ups) > 1 or brk is not None:
            tripped = brk is not None and bool(self._tripped)  # some breaker is not closed
            sticky = t is not None and t.sticky
            who = v.consumer_id or req.source_ip
            known = c.sticky.get(who) if sticky and not tripped else None
            if known is not None:  # a sticky route's choice for this consumer, as before
                chosen = known
            else:
                seed = self._seed(who) if sticky else zlib.crc32(v.request_id.encode())
                if tripped:
                    assert brk is not None
                    with self._lock:
                        healthy = [self._breaker(u.url, brk).available(now) for u in ups]
                    chosen = pick(ups, seed, healthy)
                else:  # every upstream counts: the weights' table, computed once per route
                    chosen = pick_from(c.picks, seed)
                    if sticky:
                        if len(c.sticky) >= 4096:
                            c.sticky.clear()
                        c.sticky[who] = chosen
        state = None
        url = c.urls[chosen]
        if brk is not None:
            state = self._breakers.get(url)
            if state is None or state.rule is not brk:
                state = self._breaker(url, brk)
            if state.opened_at is None:  # closed: the usual case, no lock needed to read it
                allowed = True
            else:
                with self._lock:
                    allowed = state.allow(now)
            if not allowed:
                self.metrics.count("CircuitOpen")
                assert state.opened_at is not None
                wait = state.opened_at + brk.open_seconds - now
                v.outcome = Outcome.CIRCUIT_OPEN
                v.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return gw.render(v)
        view = c.per_upstream[chosen]
        unsafe_retries = (view.retries if t is not None and t.retry_unsafe
                          and req.method not in IDEMPOTENT else 0)
        original_api, original_rest = v.api, v.rest
        v.api, v.rest = view, rest
        try:
            resp = gw.forward(req, v)
            # The upstream adapter retries idempotent methods itself; a route that allows
            # it retries the others here, only when no answer came back (502 of ours).
            while unsafe_retries and v.outcome is Outcome.UPSTREAM_ERROR and _budget(req):
                unsafe_retries -= 1
                v.outcome = Outcome.OK
                resp = gw.forward(req, v)
        finally:
            v.api, v.rest = original_api, original_rest
        if state is not None:
            failed = v.outcome is not Outcome.OK or resp.status in FAILURES
            ended = self.clock.now()
            lock = self._lock
            lock.acquire()
            try:
                state.record(failed, ended)
                if state.opened_at is not None:
                    self._tripped.add(url)
                elif self._tripped:
                    self._tripped.discard(url)
            finally:
                lock.release()
        return resp

    def _seed(self, who: str) -> int:
        seed = self._seeds.get(who)
        if seed is None:
            if len(self._seeds) >= 4096:
                self._seeds.clear()
            seed = self._seeds[who] = sticky_seed(who)
        return seed

    def _breaker(self, url: str, rule: object) -> BreakerState:
        st = self._breakers.get(url)
        if st is None or (st.rule is not rule and st.rule != rule):
            st = self._breakers[url] = BreakerState(rule)  # type: ignore[arg-type]
        return st

    def breaker_state(self, url: str) -> str:
        """For operators and tests: closed, open or half-open (closed if never used)."""
        st = self._breakers.get(url)
        return "closed" if st is None else st.state(self.clock.now())

    # --- the response ----------------------------------------------------------------------------

    @staticmethod
    def decorate(req: GatewayRequest, resp: GatewayResponse, c: Compiled,
                 portal: frozenset[str]) -> None:
        """The API's CORS headers for an origin it allows; else the portal's, if any."""
        rule = c.cors
        assert rule is not None
        origin = req.header("origin")  # rule.allowed(origin), written out
        if origin is not None and origin in rule.origins:
            rule.decorate(resp.headers, origin)
        elif origin is not None and rule.any:
            rule.decorate(resp.headers, "*")
        else:
            cors.decorate(req, resp, portal)


def _limits(c: Compiled | None, s: Scoped | None,
            v: Verdict) -> tuple[tuple[str, CompiledLimit, str, str | None], ...]:
    """Every limit a request to ``c``'s route (and ``s``'s plan and consumer) is charged,
    in order, as (bucket prefix, limit, route key, the header it counts by if any): worked
    out once and kept with the scoped policies (one per warm entry) or else the route's."""
    assert v.api is not None
    api = v.api.name
    memo = s.memo if s is not None else c.memo if c is not None else None
    got = memo.get("limits") if memo is not None else None
    if isinstance(got, tuple) and got[0] is c and got[1] == api:
        return got[2]  # type: ignore[no-any-return]
    route = c.route_key if c is not None else (
        f"{v.route.method} {v.route.path}" if v.route is not None else "-")
    out = [(limit_prefix(api, cl.index), cl, route, _by_header(cl))
           for cl in (c.limits if c else ())]
    if s is not None:
        out += [(limit_prefix(api, cl.index, scope), cl, route, _by_header(cl))
                for scope, cl in s.limits]
    found = tuple(out)
    if memo is not None:
        memo["limits"] = (c, api, found)
    return found


def _by_header(cl: CompiledLimit) -> str | None:
    return cl.rule.header if cl.rule.by == "header" else None


def _budget(req: GatewayRequest) -> bool:
    return req.deadline is None or req.deadline - time.monotonic() > 0.05
