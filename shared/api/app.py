"""The management API: ``create_app(store=, clock=, settings=)`` -> FastAPI.

Cloud-agnostic: served by uvicorn locally, by Mangum on Lambda and by AsgiFunctionApp on
Azure. Nothing here does I/O at construction.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api import docs, errors, framing, openapi
from shared.api.deps import Context, forbid_unknown_query
from shared.api.routers import (
    admin_apis,
    admin_consumers,
    admin_misc,
    admin_plans,
    analytics,
    auth,
    billing,
    catalog,
    health,
    keys,
    me,
    notifications,
    subscriptions,
    usage,
)
from shared.core.clock import Clock
from shared.management.accounts import Passwords
from shared.management.sessions import SessionCodec
from shared.ports import Store
from shared.settings import Settings, SettingsError

ROUTERS = (
    health.router, auth.router, catalog.router, me.router, keys.router, subscriptions.router,
    usage.router, admin_apis.router, admin_plans.router, admin_consumers.router,
    admin_misc.router, usage.admin, billing.router, billing.admin,
    analytics.router, analytics.admin, notifications.admin,
)


class SecurityHeaders:
    """``Cache-Control: no-store`` (responses carry keys and tokens) and ``nosniff``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(
    *, store: Store, clock: Clock, settings: Settings,
    password_hasher: PasswordHasher | None = None,
) -> FastAPI:
    """``password_hasher``: tests pass a cheap one; production keeps argon2id defaults."""
    if not settings.session_keys:
        raise SettingsError(
            "The management API needs a session signing key: set TOLLWAY_SESSION_KEYS "
            "(comma-separated, newest first, each at least 32 characters)."
        )
    app = FastAPI(
        title="Tollway management API",
        version="1.0.0",
        description=openapi.DESCRIPTION,
        openapi_url="/v1/openapi.json",
        docs_url=None,  # served from a pinned package, offline (shared/api/docs.py)
        redoc_url=None,
        redirect_slashes=False,
        dependencies=[Depends(forbid_unknown_query)],
        generate_unique_id_function=openapi.operation_id,
    )
    app.state.tollway = Context(
        store=store,
        clock=clock,
        settings=settings,
        passwords=Passwords(password_hasher),
        sessions=SessionCodec(settings.session_keys, clock, settings.session_ttl),
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    docs.install(app, app.openapi_url or "/v1/openapi.json")
    app.openapi = lambda: openapi.build(app)  # type: ignore[method-assign]
    app.add_middleware(framing.TrailingNewline)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    return app
