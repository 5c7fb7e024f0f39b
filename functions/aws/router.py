"""The HTTP API's catch-all route (``ANY /{proxy+}``): the gateway pipeline, then forward.

Without the authorizer in front it runs everything (authenticate, authorize, limit, route,
forward, meter) in one invocation. With it (``TOLLWAY_AUTHORIZER=on``) it resumes from the
authorizer's allow: no second authentication and no second rate-limit charge, but it still
validates the body (the authorizer never sees it), routes and forwards. See docs/aws.md.

Usage events leave as one ``TOLLWAY_USAGE`` log line per request (no store write here);
metrics as one EMF line per invocation.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shared.adapters.log_usage import LogLineSink
from shared.clouds.aws import events as aws_events
from shared.clouds.aws import runtime as rt
from shared.clouds.aws.metrics import PowertoolsMetrics
from shared.core.outcomes import Outcome
from shared.gateway.service import Gateway, Verdict
from shared.settings import Settings
from shared.wiring import build_gateway

logger = rt.logger("router")
metrics = PowertoolsMetrics("router")
settings = rt.settings()


def build(settings: Settings, **overrides: Any) -> Gateway:
    """The cold-start factory (tests call it with their own store, clock and upstream)."""
    return build_gateway(
        settings, usage=LogLineSink(), metrics=metrics, fits=aws_events.fits, **overrides
    )


gateway = build(settings)


@rt.traced
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ev = APIGatewayProxyEventV2(event)
    try:
        req = aws_events.to_request(ev)
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
        metrics.flush()
