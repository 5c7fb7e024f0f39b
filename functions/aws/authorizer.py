"""HTTP API (payload 2.0) REQUEST Lambda authorizer, simple-response form.

Runs ``Gateway.decide``: credential (API key or JWT), consumer, route, subscription and
plan, and the rate limit — charged here, once, so the router behind it never charges
again. Allow carries the verdict as context (consumer, plan, key id, subscription, the
RateLimit headers) for the router; any denial is ``isAuthorized: false``. A request without
credentials to a public route (the ``anonymous`` policy) is allowed with ``anonymous:
true`` and no consumer: the router then runs the whole pipeline for it, which counts it
against the route's per-IP limits (docs/policies.md).

Result caching is off (TTL 0) by design: every request must reach the limiter, and a
simple response has no policy, so there is never a wildcard allow to outlive a
revocation. Revocation reaches a warm authorizer within ``TOLLWAY_CACHE_TTL`` (the
in-memory key cache). See docs/aws.md.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.log_usage import LogLineSink
from shared.clouds.aws import events as aws_events
from shared.clouds.aws import runtime as rt
from shared.clouds.aws.telemetry import GATEWAY_EMF_EVERY, EmfMetrics, JsonLogger
from shared.core.outcomes import Outcome, is_credential_failure, status_of
from shared.gateway.service import Gateway, Verdict
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse
from shared.settings import Settings
from shared.wiring import build_gateway

# Our own JSON logger and EMF writer (same fields as Powertools', ~60 ms less cold start).
logger = JsonLogger(rt.service_name("authorizer"), env=rt.platform_env())
metrics = EmfMetrics("authorizer", env=rt.platform_env(), every=GATEWAY_EMF_EVERY)
settings = rt.settings()


class _NoUpstream:
    """The authorizer decides; it never forwards (and so never imports an HTTP client)."""

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        raise UpstreamFailure("the authorizer does not forward")


def build(settings: Settings, **overrides: Any) -> Gateway:
    """The cold-start factory (tests call it with their own store and clock)."""
    overrides.setdefault("upstream", _NoUpstream())
    return build_gateway(settings, usage=LogLineSink(), metrics=metrics, **overrides)


gateway = build(settings)


#: Outcomes the router renders from the hand-off instead of API Gateway's bare 403: a store
#: failure must read as "retry" (503 + Retry-After), never as a bad credential.
_RENDERED_BY_ROUTER = frozenset({Outcome.OK, Outcome.STORE_UNAVAILABLE})


def _deny(v: Verdict) -> dict[str, Any]:
    # API Gateway answers every deny with its own 403; the context is for logs and tests.
    # Every credential failure reads the same, as the 401 bodies do.
    reason = "unauthorized" if is_credential_failure(v.outcome) else v.outcome.value
    context = {"status": status_of(v.outcome), "reason": reason}
    return _response(False, context)


def _response(authorize: bool, context: dict[str, Any]) -> dict[str, Any]:
    """The simple response (payload 2.0), as Powertools' APIGatewayAuthorizerResponseV2
    renders it: ``context`` only when not empty."""
    out: dict[str, Any] = {"isAuthorized": authorize}
    if context:
        out["context"] = context
    return out


@rt.traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        req = aws_events.to_request(event)
        logger.set_correlation_id(req.request_id)
        v = gateway.authorize(req)  # denials are metered there
        if v.outcome in _RENDERED_BY_ROUTER:
            ctx = aws_events.verdict_context(v)
            if v.outcome is Outcome.OK and not v.consumer_id:
                ctx["anonymous"] = True  # a public route: the router counts it per IP
            return _response(True, ctx)
        return _deny(v)
    except Exception:
        # An exception would make API Gateway answer 500; an unexplained failure denies.
        logger.exception("authorizer failed")
        rid = aws_events.request_id_of(event)
        return _deny(Verdict(Outcome.STORE_UNAVAILABLE, rid))
    finally:
        metrics.end_invocation()
