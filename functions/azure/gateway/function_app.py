"""The gateway on Azure Functions: one anonymous catch-all HTTP trigger, the one pipeline.

``{*path}`` with ``routePrefix: ""`` (host.json) receives every path except the ones the
Functions host keeps for itself (``/admin``, ``/runtime``; docs/azure.md). The function is
thin: translate (``shared.clouds.azure.events``), ``gateway.handle``, translate back. A
request the translation cannot read is the gateway's own 400 problem; anything unexpected
is a 500 problem document carrying the request id — never the host's bare 500.

Usage events leave as one Storage Queue message per metered request
(``shared.clouds.azure.usage``); metrics as one JSON log line per invocation
(``shared.clouds.azure.metrics``). Nothing here imports FastAPI, pydantic or a telemetry SDK.
"""

from __future__ import annotations

import secrets
from typing import Any

import azure.functions as func

from shared.clouds.azure import events, runtime, usage
from shared.clouds.azure.metrics import LogMetrics
from shared.core.outcomes import Outcome
from shared.gateway.service import Gateway, Verdict
from shared.settings import Settings
from shared.wiring import build_gateway

log = runtime.logger("gateway")
metrics = LogMetrics("gateway")
settings = runtime.settings()

METHODS = [m.value for m in func.HttpMethod]


def build(settings: Settings, **overrides: Any) -> Gateway:
    """The cold-start factory (tests call it with their own store, clock and upstream)."""
    if "usage" not in overrides:
        overrides["usage"] = usage.from_settings(settings)
    return build_gateway(settings, metrics=metrics, **overrides)


gateway = build(settings)

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="{*path}", methods=METHODS, auth_level=func.AuthLevel.ANONYMOUS)
def proxy(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    rid = events.request_id_of(req, context)
    metrics.begin(rid)
    try:
        try:
            greq = events.to_request(req, context)
        except events.BadEvent:
            verdict = Verdict(Outcome.BAD_REQUEST, rid or secrets.token_hex(16))
            return events.to_response(gateway.render(verdict))
        return events.to_response(gateway.handle(greq))
    except Exception:
        log.exception("gateway failed", extra={"request_id": rid})
        return events.internal_error(rid)
    finally:
        metrics.flush()
