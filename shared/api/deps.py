"""Named dependency types: the store and friends, the caller, and paging.

Role checks live here and nowhere else: admin routers declare ``AdminActor`` (and carry
``require_admin`` as a router-wide dependency, so a new admin route cannot forget it);
developer routes declare ``CurrentDeveloper``. Anonymous callers get 401, developers on
admin routes 403.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.core.clock import Clock
from shared.core.models import Consumer
from shared.management import records
from shared.management.accounts import Passwords
from shared.management.entities import ADMIN_TOKEN_ACTOR, ROLE_ADMIN, Account, Actor
from shared.management.errors import Forbidden, Invalid, Unauthorized
from shared.management.sessions import Claims, SessionCodec
from shared.ports import Store
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    clock: Clock
    settings: Settings
    passwords: Passwords
    sessions: SessionCodec


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.tollway
    return ctx


Ctx = Annotated[Context, Depends(get_context)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A session token from /v1/auth/login or /v1/auth/signup, or the admin token.",
)

NO_CREDENTIAL = "Log in (POST /v1/auth/login) and send 'Authorization: Bearer <token>'."
BAD_CREDENTIAL = "The bearer token is invalid or has expired. Log in again."


@dataclass(frozen=True, slots=True)
class Principal:
    actor: Actor
    account: Account | None  # None for the configured admin token
    session: Claims | None = None  # None for the configured admin token


def current_principal(
    ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if creds is None or not creds.credentials:
        raise Unauthorized(NO_CREDENTIAL)
    token = creds.credentials
    admin = ctx.settings.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Principal(ADMIN_TOKEN_ACTOR, None)
    claims = ctx.sessions.verify(token)
    account = None if claims is None else records.get_account(ctx.store, claims.account_id)
    if claims is None or account is None:
        raise Unauthorized(BAD_CREDENTIAL)
    # Logged out: everywhere (an older epoch) or this session alone (its id is revoked).
    if claims.epoch != account.session_epoch or records.session_revoked(
        ctx.store, claims.session_id
    ):
        raise Unauthorized(BAD_CREDENTIAL)
    # Admin only while both the token and the account say so: a demotion applies at once.
    role = ROLE_ADMIN if claims.role == ROLE_ADMIN == account.role else "developer"
    return Principal(Actor(account.id, role), account, claims)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_admin(principal: CurrentPrincipal) -> Actor:
    if principal.actor.role != ROLE_ADMIN:
        raise Forbidden("This route is for administrators.")
    return principal.actor


AdminActor = Annotated[Actor, Depends(require_admin)]


@dataclass(frozen=True, slots=True)
class Developer:
    actor: Actor
    account: Account
    consumer: Consumer

    @property
    def consumer_id(self) -> str:
        return self.consumer.id


def require_developer(ctx: Ctx, principal: CurrentPrincipal) -> Developer:
    if principal.account is None:
        raise Forbidden("The admin token has no developer account. Log in as a developer.")
    consumer = records.get_consumer(ctx.store, principal.account.consumer_id)
    if consumer is None:
        raise Unauthorized(BAD_CREDENTIAL)
    return Developer(principal.actor, principal.account, consumer)


CurrentDeveloper = Annotated[Developer, Depends(require_developer)]

UNVERIFIED = ("Verify your e-mail address first: open the link we sent to {email} (or ask "
              "for a new one: POST /v1/me/verification), then try again.")


def require_verified(ctx: Ctx, dev: CurrentDeveloper) -> Developer:
    """For what grants access (keys, subscriptions) when TOLLWAY_REQUIRE_VERIFIED_EMAIL is
    on: an unverified developer may log in and browse, not acquire access."""
    if ctx.settings.require_verified_email and not dev.account.email_verified:
        raise Forbidden(UNVERIFIED.format(email=dev.account.email))
    return dev


VerifiedDeveloper = Annotated[Developer, Depends(require_verified)]


# --- paging ----------------------------------------------------------------------------------

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    after: str | None


def encode_cursor(sort_key: str | None) -> str | None:
    if sort_key is None:
        return None
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="next_cursor of the previous page.")] = None,
) -> PageParams:
    if cursor is None:
        return PageParams(limit, None)
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("This cursor was not issued by this API. Start again without one.",
                      field="query.cursor") from None
    return PageParams(limit, after)


Paging = Annotated[PageParams, Depends(page_params)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


# --- strict query strings --------------------------------------------------------------------


def _query_names(request: Request) -> dict[tuple[str, str], frozenset[str]]:
    """Query parameter names per (method, path template), read from the app's own OpenAPI
    document: the published contract is the allow-list."""
    state = request.app.state
    names: dict[tuple[str, str], frozenset[str]] | None = getattr(state, "query_names", None)
    if names is None:
        doc = request.app.openapi()
        names = {
            (method.upper(), path): frozenset(
                p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
            for path, ops in doc.get("paths", {}).items()
            for method, op in ops.items()
        }
        state.query_names = names
    return names


def forbid_unknown_query(request: Request) -> None:
    """A misspelt query parameter (``?limt=10``) is a 422, not silently ignored."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    template = getattr(route, "path", request.url.path)
    allowed = _query_names(request).get((request.method, template), frozenset())
    unknown = sorted(set(request.query_params.keys()) - allowed)
    if unknown:
        listed = ", ".join(repr(u) for u in unknown)
        raise Invalid(f"Unknown query parameter {listed}. See /v1/openapi.json.",
                      field=f"query.{unknown[0]}")
