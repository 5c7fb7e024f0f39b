"""The gateway pipeline: authenticate -> route -> authorize -> limit -> forward -> meter.

``decide`` is everything up to forwarding and is what a cloud authorizer runs; ``handle``
is the whole request. Every denial is an :class:`Outcome`; ``render`` maps it to HTTP.
Unauthenticated callers learn nothing about the catalog: credentials are checked before
routes, so an unknown path without a key is a 401, not a 404.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.core import keys as keymod
from shared.core import tokens
from shared.core.clock import Clock
from shared.core.models import (
    Api,
    ConsumerStatus,
    FailMode,
    KeyState,
    Plan,
    Route,
    SubscriptionStatus,
    UsageEvent,
)
from shared.core.outcomes import PROBLEM_CONTENT_TYPE, Outcome, problem
from shared.core.ratelimit import ratelimit_headers
from shared.core.request import (
    HOP_BY_HOP,
    MAX_BODY_BYTES,
    GatewayRequest,
    GatewayResponse,
    correlation_id,
    request_id,
    validate,
)
from shared.core.routing import lifecycle_headers, pick_upstream
from shared.gateway.directory import Directory
from shared.gateway.throttle import Limiter
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

#: Headers that carry credentials; never forwarded upstream.
_CREDENTIAL_HEADERS = frozenset({"x-api-key", "authorization"})
_WWW_AUTH = 'Bearer realm="tollway", ApiKey realm="tollway" header="X-Api-Key"'


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

    @property
    def echo_id(self) -> str:
        return self.correlation_id or self.request_id


@dataclass(frozen=True, slots=True)
class _Identity:
    outcome: Outcome
    consumer_id: str = ""
    key_id: str = ""
    scopes: tuple[str, ...] = ()


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
    ) -> None:
        self.directory, self.limiter, self.clock = directory, limiter, clock
        self.upstream, self.usage = upstream, usage
        self.issuers = dict(issuers or {})
        self.metrics = metrics or NullMetrics()
        self.max_body = max_body

    # --- decide --------------------------------------------------------------------------

    def _authenticate(self, req: GatewayRequest) -> _Identity:
        api_keys = req.header_values("x-api-key")
        auths = req.header_values("authorization")
        if len(api_keys) + len(auths) > 1:
            return _Identity(Outcome.AMBIGUOUS_CREDENTIALS)
        if api_keys:
            return self._by_key(api_keys[0].strip())
        if auths:
            scheme, _, token = auths[0].strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _Identity(Outcome.MALFORMED_CREDENTIAL)
            result = tokens.verify(token.strip(), self.issuers, self.clock.now())
            if not result.ok:
                return _Identity(Outcome.INVALID_TOKEN)
            return _Identity(Outcome.OK, result.consumer_id, "", result.scopes)
        return _Identity(Outcome.MISSING_CREDENTIAL)

    def _by_key(self, plaintext: str) -> _Identity:
        if not keymod.well_formed(plaintext):  # no store lookup for garbage
            return _Identity(Outcome.MALFORMED_CREDENTIAL)
        record = self.directory.key(keymod.hash_key(plaintext))
        if record is None:
            return _Identity(Outcome.UNKNOWN_KEY)
        if record.state is KeyState.REVOKED:
            return _Identity(Outcome.REVOKED_KEY)
        if record.state is KeyState.DISABLED:
            return _Identity(Outcome.DISABLED_KEY)
        if record.expires_at is not None and record.expires_at <= self.clock.now():
            return _Identity(Outcome.EXPIRED_KEY)
        return _Identity(Outcome.OK, record.consumer_id, record.id, record.scopes)

    def _plan_for(self, consumer_id: str, api_name: str) -> tuple[Outcome, str, Plan | None]:
        pending = False
        for sub in self.directory.subscriptions(consumer_id):
            if sub.status is SubscriptionStatus.CANCELLED:
                continue
            plan = self.directory.plan(sub.plan_id)
            if plan is None or not plan.grants(api_name):
                continue
            if sub.status is SubscriptionStatus.PENDING:
                pending = True
                continue
            return Outcome.OK, sub.id, plan.with_overrides(sub.overrides)
        return (Outcome.SUBSCRIPTION_PENDING if pending else Outcome.NOT_SUBSCRIBED), "", None

    def decide(self, req: GatewayRequest) -> Verdict:
        rid = request_id(req)
        v = Verdict(validate(req, self.max_body), rid)
        if v.outcome is Outcome.OK:  # the header is only read once it is known to be clean
            v.correlation_id = correlation_id(req, rid)
        if v.outcome is not Outcome.OK:
            return v
        try:
            return self._decide(req, v)
        except StoreUnavailable:
            # Credentials and subscriptions cannot be checked: always deny, whatever the plan.
            v.outcome = Outcome.STORE_UNAVAILABLE
            v.headers["Retry-After"] = "1"
            return v

    def resume(self, req: GatewayRequest, v: Verdict) -> Verdict:
        """Continue from a verdict an authorizer already reached (authenticated, authorized,
        limit charged): check what the authorizer could not see (the body) and route.
        No credential check and no second rate-limit charge; no store round trip."""
        v.outcome = validate(req, self.max_body)
        if v.outcome is not Outcome.OK:
            return v
        v.correlation_id = correlation_id(req, v.request_id)
        match = self.directory.routes().match(req.method, req.path)
        v.outcome, v.api, v.route, v.rest = match.outcome, match.api, match.route, match.rest
        if match.allow:
            v.headers["Allow"] = ", ".join(match.allow)
        return v

    def _decide(self, req: GatewayRequest, v: Verdict) -> Verdict:
        who = self._authenticate(req)
        v.outcome, v.consumer_id, v.key_id = who.outcome, who.consumer_id, who.key_id
        if who.outcome is not Outcome.OK:
            return v
        consumer = self.directory.consumer(who.consumer_id)
        if consumer is None:
            v.outcome, v.consumer_id = Outcome.UNKNOWN_CONSUMER, ""
            return v
        if consumer.status is ConsumerStatus.SUSPENDED:
            v.outcome = Outcome.CONSUMER_SUSPENDED
            return v
        match = self.directory.routes().match(req.method, req.path)
        v.api, v.route, v.rest = match.api, match.route, match.rest
        if match.outcome is not Outcome.OK:
            v.outcome = match.outcome
            if match.allow:
                v.headers["Allow"] = ", ".join(match.allow)
            return v
        assert match.api is not None and match.route is not None
        if match.route.scopes and who.scopes and not set(match.route.scopes) <= set(who.scopes):
            v.outcome = Outcome.INSUFFICIENT_SCOPE
            return v
        outcome, sub_id, plan = self._plan_for(consumer.id, match.api.name)
        if plan is None:
            v.outcome = outcome
            return v
        v.subscription_id, v.plan_id, v.cost = sub_id, plan.id, plan.request_cost
        v.headers.update(lifecycle_headers(match.api))
        throttled = self.limiter.check(f"SUB#{sub_id}", plan)
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
        v.headers.update(ratelimit_headers(d.states))
        if not d.admitted:
            quota = d.exceeded is not None and d.exceeded.is_quota
            v.outcome = Outcome.QUOTA_EXCEEDED if quota else Outcome.RATE_LIMITED
            v.headers["Retry-After"] = str(d.retry_after)
            return v
        v.outcome = Outcome.OK
        return v

    # --- respond -------------------------------------------------------------------------

    @staticmethod
    def render(v: Verdict) -> GatewayResponse:
        """The HTTP response for a denial."""
        status, body = problem(v.outcome)
        headers = {"Content-Type": PROBLEM_CONTENT_TYPE, "X-Request-Id": v.echo_id}
        headers.update(v.headers)
        if status == 401:
            headers = {
                "Content-Type": PROBLEM_CONTENT_TYPE,
                "X-Request-Id": v.echo_id,
                "WWW-Authenticate": _WWW_AUTH,
            }
        return GatewayResponse(status, headers, body)

    def forward(self, req: GatewayRequest, v: Verdict) -> GatewayResponse:
        assert v.api is not None and self.upstream is not None
        up = pick_upstream(v.api.upstreams, zlib.crc32(v.request_id.encode()))
        url = up.url.rstrip("/") + (v.rest or "/") + (f"?{req.query}" if req.query else "")
        headers = [
            (k, val)
            for k, val in req.headers
            if k not in HOP_BY_HOP and k not in _CREDENTIAL_HEADERS and k != "x-request-id"
        ]
        headers += [
            ("x-request-id", v.echo_id),
            ("x-tollway-consumer", v.consumer_id),
            ("x-tollway-plan", v.plan_id),
        ]
        if req.source_ip:
            headers.append(("x-forwarded-for", req.source_ip))
        started = time.perf_counter()
        try:
            resp = self.upstream.send(
                UpstreamRequest(
                    req.method, url, tuple(headers), req.body, v.api.timeout_seconds, v.api.retries
                )
            )
        except UpstreamTimeout:
            v.outcome = Outcome.UPSTREAM_TIMEOUT
            return self.render(v)
        except UpstreamFailure:
            v.outcome = Outcome.UPSTREAM_ERROR
            return self.render(v)
        finally:
            self.metrics.timing("UpstreamLatency", (time.perf_counter() - started) * 1000)
        out = {k: val for k, val in resp.headers if k.lower() not in HOP_BY_HOP}
        out.update(v.headers)
        out["X-Request-Id"] = v.echo_id
        return GatewayResponse(resp.status, out, resp.body)

    def handle(self, req: GatewayRequest) -> GatewayResponse:
        started = time.perf_counter()
        v = self.decide(req)
        resp = self.forward(req, v) if v.outcome is Outcome.OK else self.render(v)
        self.meter(req, v, resp, started)
        return resp

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
