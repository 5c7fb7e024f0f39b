"""The management API on Azure Functions: the same FastAPI app as every other front door
(``shared/api/app.py``), served by ``AsgiFunctionApp`` on ``/{*route}``.

Settings come from the app settings at cold start; the admin token and session keys are Key
Vault references the platform resolves before the worker starts. CORS is FastAPI's (from
``TOLLWAY_CORS_ORIGINS``), not the platform's. The caller's address (for the sign-up and
login throttles) comes from the front end's ``X-Forwarded-For`` (``ClientFromFrontEnd``).
"""

from __future__ import annotations

from typing import Any

import azure.functions as func

from shared.api.app import create_app
from shared.clouds.azure import runtime
from shared.clouds.azure.asgi import ClientFromFrontEnd
from shared.core.clock import Clock, SystemClock
from shared.ports import Store
from shared.settings import Settings
from shared.wiring import build_store

log = runtime.logger("management")
settings = runtime.settings()


def build(
    settings: Settings, *, store: Store | None = None, clock: Clock | None = None, **kw: Any
) -> Any:
    """The cold-start factory: the ASGI app the function serves (tests pass their own
    store, clock and password hasher)."""
    clock = clock or SystemClock()
    store = store or build_store(settings, clock)
    return ClientFromFrontEnd(create_app(store=store, clock=clock, settings=settings, **kw))


app = func.AsgiFunctionApp(app=build(settings), http_auth_level=func.AuthLevel.ANONYMOUS)
