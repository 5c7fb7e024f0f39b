"""The gateway pipeline: authenticate -> route -> authorize -> limit -> forward -> meter.

:meth:`Gateway.handle` is THE entry point: every front door (local ASGI, the AWS router,
the Azure function) translates its event into a :class:`GatewayRequest`, calls it, and
translates the :class:`GatewayResponse` back. A cloud authorizer in front calls
:meth:`Gateway.authorize` and hands its verdict to the router's ``handle(req, trusted=…)``.
Every denial is an :class:`Outcome`; ``render`` maps it to HTTP. Unauthenticated callers
learn nothing about the catalog: credentials are checked before routes, so an unknown
path without a key is a 401, not a 404.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shared.core import tokens
from shared.core.clock import Clock
from shared.core.keys import hash_key, well_formed
from shared.core.models import (
    Api,
    ConsumerStatus,
    FailMode,
    Plan,
    Route,
    SubscriptionStatus,
    UsageEvent,
)
from shared.core.outcomes import PROBLEM_CONTENT_TYPE, Outcome, problem
from shared.core.policy_rules import Compiled, Scoped
from shared.core.ratelimit import ratelimit_headers, schedule_of
from shared.core.request import (
    MAX_BODY_BYTES,
    GatewayRequest,
    GatewayResponse,
    Headers,
    correlation_id,
    new_request_id,
    screen,
    validate,
)
from shared.core.routing import lifecycle_headers, pick_upstream
from shared.core.scopes import allows
from shared.gateway import cors
from shared.gateway.directory import Directory
from shared.gateway.forward import client_headers, upstream_headers
from shared.gateway.identity import authenticate
from shared.gateway.policy import PolicyLayer
from shared.gateway.throttle import Limiter, Throttled
from shared.ports import (
    Metrics,
    NullMetrics,
    StoreUnavailable,
    Upstream,
    UpstreamFailure,
    UpstreamRequest,
    UpstreamTimeout,
    UsageSink,
)

log = logging.getLogger("tollway.gateway")

_WWW_AUTH = 'Bearer realm="tollway", ApiKey realm="tollway" header="X-Api-Key"'

#: Below this much time left before ``GatewayRequest.deadline`` no attempt is made (504).
MIN_ATTEMPT_SECONDS = 0.05


def limit_bucket(consumer_id: str, api_name: str) -> str:
    """Limits count per consumer and API: cancelling, re-subscribing or changing plan
    keeps the current windows' counts (a spent quota stays spent)."""
    return f"CON#{consumer_id}#API#{api_name}"


class _Warm:
    """Everything a key (or a verified token's consumer) resolved to for one method and
    path: kept until the earliest cache deadline of the records it came from (key,
    consumer, subscriptions, plans, routes), so a warm request skips every lookup but
    never outlives the TTL bound on revocation, suspension or plan changes."""

    __slots__ = (
        "api",
        "bucket",
        "consumer_id",
        "cost",
        "fixed",
        "key_expires",
        "key_id",
        "lifecycle",
        "plain",
        "plan",
        "plan_id",
        "policy",
        "rest",
        "route",
        "schedule",
        "scoped",
        "sub_id",
        "until",
    )

    def __init__(
        self, until: float, key_expires: float | None, consumer_id: str, key_id: str,
        sub_id: str, plan: Plan, api: Api, route: Route, rest: str,
        policy: Compiled | None = None, scoped: Scoped | None = None,
    ) -> None:
        self.policy = policy  # the route's merged policies (None: none, and no cost)
        self.scoped = scoped  # the plan's and consumer's IP lists and limits (None: none)
        if policy is not None and policy.policies.cost is not None:  # a route's own cost
            plan = dataclasses.replace(plan, request_cost=policy.policies.cost)
        self.until, self.key_expires = until, key_expires
        self.consumer_id, self.key_id, self.sub_id = consumer_id, key_id, sub_id
        self.plan, self.schedule = plan, schedule_of(plan)
        self.plan_id, self.cost = plan.id, plan.request_cost
        self.api, self.route, self.rest = api, route, rest
        self.lifecycle = lifecycle_headers(api)
        self.bucket = limit_bucket(consumer_id, api.name)
        self.fixed = self.schedule.fixed and bool(self.schedule.limits)
        # no policy and fixed windows: Gateway.decide charges it in the fewest steps
        self.plain = self.fixed and policy is None and scoped is None

    def verdict(self, rid: str, corr: str, headers: dict[str, str]) -> Verdict:
        """The OK verdict of a request this entry admits (``Gateway._admit`` fills the same
        fields one by one)."""
        return Verdict(
            Outcome.OK, rid, self.consumer_id, self.key_id, self.plan_id, self.sub_id,
            self.api, self.route, self.rest, self.cost, False, headers, corr,
        )


#: Bound on warm entries per instance (oldest first out).
MAX_WARM = 10_000


@dataclass(slots=True)
class Verdict:
    outcome: Outcome
    request_id: str  # the gateway's own: logs, metering dedup
    consumer_id: str = ""
    key_id: str = ""
    plan_id: str = ""
    subscription_id: str = ""
    api: Api | None = None
    route: Route | None = None
    rest: str = ""
    cost: int = 0
    fail_open: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    correlation_id: str = ""  # X-Request-Id as sent upstream and back: the caller's, if any
    policy: Compiled | None = None  # the route's policies (shared/gateway/policy.py)
    scoped: Scoped | None = None  # the plan's and the consumer's (shared/gateway/policy.py)

    @property
    def echo_id(self) -> str:
        return self.correlation_id or self.request_id


class Gateway:
    def __init__(
        self,
        directory: Directory,
        limiter: Limiter,
        clock: Clock,
        *,
        upstream: Upstream | None = None,
        usage: UsageSink | None = None,
        issuers: Mapping[str, tokens.Issuer] | None = None,
        metrics: Metrics | None = None,
        max_body: int = MAX_BODY_BYTES,
        cors_origins: frozenset[str] = frozenset(),
        fits: Callable[[GatewayResponse], bool] | None = None,
    ) -> None:
        """``fits``: the front door's response size check (AWS: Lambda's 6 MB payload);
        a response that does not fit becomes a 502 problem, metered as such."""
        self.directory, self.limiter, self.clock = directory, limiter, clock
        self.upstream, self.usage = upstream, usage
        self.issuers = dict(issuers or {})
        self.metrics = metrics or NullMetrics()
        self.max_body = max_body
        self.cors_origins = cors_origins
        self.fits = fits
        self._warm: dict[tuple[object, ...], _Warm] = {}
        self._same_clock = limiter.clock is clock
        self.policies = PolicyLayer(limiter, clock, self.metrics)

    # --- decide --------------------------------------------------------------------------

    def _plan_for(
        self, consumer_id: str, api_name: str, until: list[float] | None = None
    ) -> tuple[Outcome, str, Plan | None]:
        pending = False
        for sub in self.directory.subscriptions(consumer_id, until):
            if sub.status is SubscriptionStatus.CANCELLED:
                continue
            plan = self.directory.plan(sub.plan_id, until)
            if plan is None or not plan.grants(api_name):
                continue
            if sub.status is SubscriptionStatus.PENDING:
                pending = True
                continue
            return Outcome.OK, sub.id, plan.with_overrides(sub.overrides)
        return (Outcome.SUBSCRIPTION_PENDING if pending else Outcome.NOT_SUBSCRIBED), "", None

    def decide(self, req: GatewayRequest) -> Verdict:
        rid = req.request_id or new_request_id()  # request.request_id(req), written out
        outcome, lone_key, given_id = screen(req, self.max_body)  # one pass over the headers
        if outcome is not Outcome.OK:  # the caller's id is only read once known to be clean
            return Verdict(outcome, rid)
        corr = given_id or rid  # request.correlation_id(req, rid)
        now = self.clock.now()
        warm_key: tuple[object, ...] | None = None
        warm: _Warm | None = None
        if lone_key is not None:  # warm path: one lone API key seen before on this method and path
            warm_key = (hash_key(lone_key.strip()), req.method, req.path)
            warm = self._warm.get(warm_key)
            if warm is None or not (
                warm.until > now and (warm.key_expires is None or warm.key_expires > now)
            ):
                warm = None
            elif warm.plain:  # no policy, fixed windows: the usual case, in the fewest steps
                charged = self.limiter.charge(
                    warm.bucket, warm.schedule, now if self._same_clock else None
                )
                lifecycle = warm.lifecycle
                if type(charged) is dict:  # admitted
                    if lifecycle:
                        charged = {**lifecycle, **charged}
                    return warm.verdict(rid, corr, charged)
                assert isinstance(charged, Throttled)
                return self._limited(warm.verdict(rid, corr, dict(lifecycle)), warm.plan, charged)
        v = Verdict(outcome, rid, correlation_id=corr)
        try:
            if warm is not None:
                v = self._admit(v, warm, req, now)
            else:
                v = self._decide(req, v, now, lone_key, warm_key)
            if v.outcome is Outcome.OK and (
                (v.policy is not None and v.policy.limits) or v.scoped is not None
            ):
                self.policies.after_charge(req, v, v.policy, self._now(now))
            return v
        except StoreUnavailable:
            # Credentials and subscriptions cannot be checked: always deny, whatever the plan.
            v.outcome = Outcome.STORE_UNAVAILABLE
            v.headers["Retry-After"] = "1"
            return v

    def resume(self, req: GatewayRequest, v: Verdict) -> Verdict:
        """Continue from a verdict an authorizer already reached (authenticated, authorized,
        limit charged): check what the authorizer could not see (the body) and route.
        No credential check and no second rate-limit charge; no store round trip.
        A verdict that is already a denial (the authorizer could not reach the store) is
        rendered as it is."""
        if v.outcome is not Outcome.OK:
            return v
        v.outcome = validate(req, self.max_body)
        if v.outcome is not Outcome.OK:
            return v
        v.correlation_id = correlation_id(req, v.request_id)
        match = self.directory.routes().match(req.method, req.path)
        v.outcome, v.api, v.route, v.rest = match.outcome, match.api, match.route, match.rest
        if match.allow:
            v.headers["Allow"] = ", ".join(match.allow)
        v.policy = match.policy
        if v.policy is not None and v.outcome is Outcome.OK:  # the body, unseen before
            self.policies.before_charge(req, v, v.policy)
        return v

    def _decide(
        self, req: GatewayRequest, v: Verdict, now: float, lone_key: str | None,
        warm_key: tuple[object, ...] | None,
    ) -> Verdict:
        """No warm entry: the whole path. ``lone_key``: the request's only credential, an
        API key (``screen``), if so, and ``warm_key`` its warm entry's key."""
        if lone_key is not None and warm_key is not None and well_formed(lone_key.strip()):
            self.directory.prefetch(str(warm_key[0]))  # cold: read what follows concurrently
        until: list[float] = []  # cache deadlines of everything this decision reads
        who = authenticate(req, self.directory, self.issuers, self.clock, until)
        v.outcome, v.consumer_id, v.key_id = who.outcome, who.consumer_id, who.key_id
        if who.outcome is not Outcome.OK:
            return v
        if warm_key is None:  # a verified bearer token: what follows can be warm too
            warm_key = (who.consumer_id, who.scopes, req.method, req.path)
            warm = self._warm.get(warm_key)
            if warm is not None and warm.until > now:
                return self._admit(v, warm, req, now)
        consumer = self.directory.consumer(who.consumer_id, until)
        if consumer is None:
            v.outcome, v.consumer_id = Outcome.UNKNOWN_CONSUMER, ""
            return v
        if consumer.status is ConsumerStatus.SUSPENDED:
            v.outcome = Outcome.CONSUMER_SUSPENDED
            return v
        match = self.directory.routes(until).match(req.method, req.path)
        v.api, v.route, v.rest = match.api, match.route, match.rest
        if match.outcome is not Outcome.OK:
            v.outcome = match.outcome
            if match.allow:
                v.headers["Allow"] = ", ".join(match.allow)
            return v
        assert match.api is not None and match.route is not None
        if not allows(match.route.scopes, who.scopes):
            v.outcome = Outcome.INSUFFICIENT_SCOPE
            return v
        outcome, sub_id, plan = self._plan_for(consumer.id, match.api.name, until)
        if plan is None:
            v.outcome = outcome
            return v
        warm = _Warm(
            min(until), who.expires_at, consumer.id, who.key_id, sub_id, plan,
            match.api, match.route, match.rest, match.policy,
            self.policies.scoped(plan, consumer),
        )
        if len(self._warm) >= MAX_WARM:
            # another thread may empty or resize it meanwhile: then there is room anyway
            with contextlib.suppress(StopIteration, RuntimeError):
                self._warm.pop(next(iter(self._warm)), None)
        self._warm[warm_key] = warm
        return self._admit(v, warm, req, now)

    def _admit(self, v: Verdict, warm: _Warm, req: GatewayRequest, now: float) -> Verdict:
        """Route, plan and subscription are known to allow: charge the limit."""
        v.consumer_id, v.key_id = warm.consumer_id, warm.key_id
        v.api, v.route, v.rest = warm.api, warm.route, warm.rest
        if warm.policy is not None or warm.scoped is not None:
            # the route's IP rules and body size, the plan's and the consumer's IP lists:
            # before any limit is charged
            v.policy, v.scoped = warm.policy, warm.scoped
            if not self.policies.admit(req, v, warm.policy, warm.scoped):
                return v
        plan = warm.plan
        v.subscription_id, v.plan_id, v.cost = warm.sub_id, plan.id, plan.request_cost
        if warm.lifecycle:
            v.headers.update(warm.lifecycle)
        if warm.fixed:
            charged = self.limiter.charge(warm.bucket, warm.schedule, self._now(now))
            if type(charged) is dict:  # admitted
                if v.headers:
                    v.headers.update(charged)
                else:
                    v.headers = charged
                v.outcome = Outcome.OK
                return v
            assert isinstance(charged, Throttled)
            return self._limited(v, plan, charged)
        return self._limited(v, plan, self.limiter.check(warm.bucket, plan, warm.schedule))

    def _limited(self, v: Verdict, plan: Plan, throttled: Throttled) -> Verdict:
        """``v`` after a limit check that did not simply admit (or the store failed)."""
        if throttled.decision is None:
            if plan.fail_mode is FailMode.OPEN:
                self.metrics.count("FailOpen")
                v.fail_open = True
                v.outcome = Outcome.OK
            else:
                v.outcome = Outcome.STORE_UNAVAILABLE
                v.headers["Retry-After"] = "1"
            return v
        d = throttled.decision
        v.headers.update(d.headers if d.headers is not None else ratelimit_headers(d.states))
        if not d.admitted:
            quota = d.exceeded is not None and d.exceeded.is_quota
            v.outcome = Outcome.QUOTA_EXCEEDED if quota else Outcome.RATE_LIMITED
            v.headers["Retry-After"] = str(d.retry_after)
            return v
        v.outcome = Outcome.OK
        return v

    def _now(self, now: float) -> float | None:
        """``now`` for the limiter when it reads the same clock (it always does when wired
        by ``shared/wiring.py``), else None: it reads its own."""
        return now if self._same_clock else None

    # --- respond -------------------------------------------------------------------------

    @staticmethod
    def render(v: Verdict) -> GatewayResponse:
        """The HTTP response for a denial."""
        status, body = problem(v.outcome)
        headers = Headers({"Content-Type": PROBLEM_CONTENT_TYPE, "X-Request-Id": v.echo_id})
        if status == 401:  # every credential failure reads the same
            headers["WWW-Authenticate"] = _WWW_AUTH
        else:
            headers.update(v.headers)
        return GatewayResponse(status, headers, body)

    def forward(self, req: GatewayRequest, v: Verdict) -> GatewayResponse:
        assert v.api is not None and self.upstream is not None
        up = pick_upstream(v.api.upstreams, zlib.crc32(v.request_id.encode()))
        url = up.url.rstrip("/") + (v.rest or "/") + (f"?{req.query}" if req.query else "")
        headers = upstream_headers(
            req, correlation_id=v.echo_id, consumer_id=v.consumer_id, plan_id=v.plan_id
        )
        # The time budget (req.deadline): each attempt ends by it, and only the retries
        # whose full timeout still fits are tried; too little left is a 504 at once.
        timeout, retries = v.api.timeout_seconds, v.api.retries
        if req.deadline is not None:
            left = req.deadline - time.monotonic()
            if left < MIN_ATTEMPT_SECONDS:
                self.metrics.count("BudgetExhausted")
                v.outcome = Outcome.UPSTREAM_TIMEOUT
                return self.render(v)
            timeout = min(timeout, left)
            retries = min(retries, max(0, int(left // timeout) - 1))
        started = time.perf_counter()
        try:
            resp = self.upstream.send(
                UpstreamRequest(
                    req.method, url, headers, req.body, timeout, retries, req.deadline
                )
            )
        except UpstreamTimeout:
            if req.deadline is not None and time.monotonic() >= req.deadline - 0.001:
                self.metrics.count("BudgetExhausted")
            v.outcome = Outcome.UPSTREAM_TIMEOUT
            return self.render(v)
        except UpstreamFailure:
            v.outcome = Outcome.UPSTREAM_ERROR
            return self.render(v)
        finally:
            self.metrics.timing("UpstreamLatency", (time.perf_counter() - started) * 1000)
        own = Headers(v.headers)
        own["X-Request-Id"] = v.echo_id
        return GatewayResponse(resp.status, client_headers(resp.headers, own), resp.body)

    def handle(self, req: GatewayRequest, *, trusted: Verdict | None = None) -> GatewayResponse:
        """The whole request, on every front door. ``trusted``: the verdict of an
        authorizer that already authenticated and charged the limit (``authorize``)."""
        started = time.perf_counter()
        pre = cors.preflight(req, self.cors_origins)
        if pre is not None:
            return pre
        if req.method == "OPTIONS":  # an API's own CORS policy (shared/gateway/policy.py)
            pre = self.policies.preflight(req, self.directory.routes())
            if pre is not None:
                return pre
        v = self.decide(req) if trusted is None else self.resume(req, trusted)
        if v.outcome is Outcome.MISSING_CREDENTIAL and self.directory.routes().anonymous:
            v = self.policies.anonymous(req, v, self.directory.routes())
        if v.outcome is not Outcome.OK:
            resp = self.render(v)
        elif v.policy is None or not v.policy.forwards:
            resp = self.forward(req, v)
        else:
            resp = self.policies.forward(self, req, v)
        if self.fits is not None and not self.fits(resp):
            v.outcome = Outcome.UPSTREAM_ERROR  # the platform would fail it opaquely
            resp = self.render(v)
        if v.policy is not None and v.policy.cors is not None:
            self.policies.decorate(req, resp, v.policy, self.cors_origins)
        else:
            cors.decorate(req, resp, self.cors_origins)
        self.meter(req, v, resp, started)
        return resp

    def authorize(self, req: GatewayRequest) -> Verdict:
        """For a cloud authorizer: decide (and charge the limit) without forwarding.
        Denials end here, so they are metered here; the router meters what it forwards."""
        started = time.perf_counter()
        v = self.decide(req)
        if v.outcome is Outcome.MISSING_CREDENTIAL and self.policies.public(
            req, self.directory.routes()
        ):  # a public route: allowed without a consumer; the router counts it per IP
            v.outcome = Outcome.OK
            return v
        if v.outcome is not Outcome.OK:
            self.meter(req, v, self.render(v), started)
        return v

    def meter(self, req: GatewayRequest, v: Verdict, resp: GatewayResponse, started: float) -> None:
        self.metrics.count("Requests")
        if resp.status == 429:
            self.metrics.count("Throttles")
        elif resp.status in (401, 403):
            self.metrics.count("Denials")
        if self.usage is None or not v.consumer_id:
            return  # unauthenticated traffic is not attributed to anyone
        self.usage.emit(
            UsageEvent(
                request_id=v.request_id,
                timestamp=self.clock.now(),
                consumer_id=v.consumer_id,
                key_id=v.key_id,
                api_id=v.api.id if v.api else "-",
                route=v.route.path if v.route else "-",
                method=req.method,
                status=resp.status,
                bytes_in=len(req.body),
                bytes_out=len(resp.body),
                latency_ms=(time.perf_counter() - started) * 1000,
                cost=v.cost if v.outcome is Outcome.OK else 0,
            )
        )
