"""The HTTP API's catch-all route (``ANY /{proxy+}``): the gateway pipeline, then forward.

Without the authorizer in front it runs everything (authenticate, authorize, limit, route,
forward, meter) in one invocation. With it (``TOLLWAY_AUTHORIZER=on``) it resumes from the
authorizer's allow: no second authentication and no second rate-limit charge, but it still
validates the body (the authorizer never sees it), routes and forwards. See docs/aws.md.

Usage events leave as one ``TOLLWAY_USAGE`` log line per request (no store write here);
metrics as one EMF line per invocation.

Time budget: the request carries a deadline, the invocation's remaining time less
:data:`BUDGET_MARGIN_SECONDS` (to render, meter and return). Forwarding clamps each
attempt and the retries to it and answers 504 (metered) when it runs out, instead of
Lambda killing the invocation (a bare 500/503 and no usage line). The function's Timeout
(29 s) stays under the HTTP API's 30 s integration cap, so the Lambda budget binds.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from shared.adapters.log_usage import LogLineSink
from shared.clouds.aws import events as aws_events
from shared.clouds.aws import runtime as rt
from shared.clouds.aws.telemetry import GATEWAY_EMF_EVERY, EmfMetrics, JsonLogger
from shared.core.outcomes import Outcome
from shared.gateway.service import Gateway, Verdict
from shared.settings import Settings
from shared.wiring import build_gateway

# Our own JSON logger and EMF writer (same fields as Powertools', ~60 ms less cold start).
logger = JsonLogger(rt.service_name("router"), env=rt.platform_env())
metrics = EmfMetrics("router", env=rt.platform_env(), every=GATEWAY_EMF_EVERY)
settings = rt.settings()


def build(settings: Settings, **overrides: Any) -> Gateway:
    """The cold-start factory (tests call it with their own store, clock and upstream)."""
    return build_gateway(
        settings, usage=LogLineSink(), metrics=metrics, fits=aws_events.fits, **overrides
    )


gateway = build(settings)

#: Kept back from the invocation's remaining time for rendering, metering and returning.
BUDGET_MARGIN_SECONDS = 0.5


def deadline(context: Any) -> float | None:
    """time.monotonic() by which forwarding must be done, from the Lambda context."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + float(remaining()) / 1000 - BUDGET_MARGIN_SECONDS


@rt.traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ev = event
    try:
        req = dataclasses.replace(aws_events.to_request(ev), deadline=deadline(context))
        logger.set_correlation_id(req.request_id)
        trusted = aws_events.trusted_verdict(ev) if settings.authorizer_in_front else None
        resp = gateway.handle(req, trusted=None if trusted is None else trusted.verdict())
        return aws_events.to_response(resp)
    except aws_events.BadEvent:
        rid = aws_events.request_id_of(ev)
        return aws_events.to_response(gateway.render(Verdict(Outcome.BAD_REQUEST, rid)))
    except Exception:
        logger.exception("router failed")
        return aws_events.internal_error(aws_events.request_id_of(ev))
    finally:
        metrics.end_invocation()
