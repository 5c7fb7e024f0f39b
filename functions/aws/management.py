"""The management API (FastAPI) behind its own HTTP API, through Mangum.

Its secrets (admin credential, session signing keys, CloudFront's origin secret) come
from Secrets Manager at cold start (``TOLLWAY_SECRET_IDS``), never from plain environment
variables. Only requests carrying CloudFront's origin secret reach the app, with the
viewer's address as the client (``shared/clouds/aws/origin.py``); the execute-api URL
called directly answers 403.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from mangum import Mangum

from shared.api.app import create_app
from shared.clouds.aws import origin
from shared.clouds.aws import runtime as rt
from shared.core.clock import SystemClock
from shared.wiring import build_store

logger = rt.logger("management")
settings = rt.settings()
clock = SystemClock()
app = create_app(store=build_store(settings, clock), clock=clock, settings=settings)
_asgi = Mangum(app, lifespan="off")


@rt.traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    admitted = origin.through_cloudfront(event, settings.origin_secrets)
    if admitted is None:
        return origin.forbidden()
    response: dict[str, Any] = _asgi(admitted, context)
    return response
