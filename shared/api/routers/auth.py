"""Developer self-service sign-up, log-in and log-out. Sign-up and log-in answer a session
token; log-out revokes it server-side (this session, or every session of the account)."""

from fastapi import APIRouter, Response

from shared.api.deps import ClientAddress, Ctx, CurrentPrincipal, Principal
from shared.api.errors import responses
from shared.api.schemas import LoginIn, SessionOut, SignupIn, at
from shared.management import accounts
from shared.management.entities import Account
from shared.management.errors import Forbidden
from shared.management.sessions import Claims

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def session_for(ctx: Ctx, account: Account) -> SessionOut:
    issued = ctx.sessions.issue(account)
    return SessionOut(
        access_token=issued.token, expires_in=issued.expires_in,
        expires_at=at(issued.expires_at), account_id=account.id,
        consumer_id=account.consumer_id, role=account.role,  # type: ignore[arg-type]
    )


@router.post("/signup", status_code=201, summary="Create a developer account",
             responses=responses(409, 429))
def signup(body: SignupIn, ctx: Ctx, client: ClientAddress) -> SessionOut:
    """Creates the account and the consumer it owns, and logs in."""
    done = accounts.signup(
        ctx.store, ctx.clock, ctx.passwords, email=body.email,
        password=body.password.get_secret_value(), name=body.name, client=client,
    )
    return session_for(ctx, done.account)


@router.post("/login", summary="Log in", responses=responses(401, 429))
def login(body: LoginIn, ctx: Ctx, client: ClientAddress) -> SessionOut:
    """At most 10 attempts per e-mail address per 15 minutes (429 with Retry-After)."""
    account = accounts.login(
        ctx.store, ctx.clock, ctx.passwords, email=body.email,
        password=body.password.get_secret_value(), client=client,
    )
    return session_for(ctx, account)


NOT_A_SESSION = ("The admin token is not a session and cannot be logged out: rotate "
                 "TOLLWAY_ADMIN_TOKEN to revoke it.")


def _session(principal: Principal) -> Claims:
    if principal.session is None:
        raise Forbidden(NOT_A_SESSION)
    return principal.session


@router.post("/logout", status_code=204, summary="Log out this session",
             responses={204: {"description": "This session token is refused from now on."},
                        **responses(401, 403)})
def logout(principal: CurrentPrincipal, ctx: Ctx) -> Response:
    """Revokes the session token sent with this request, at once and for its whole
    remaining lifetime. Other sessions of the account keep working."""
    session = _session(principal)
    accounts.logout(ctx.store, session.session_id, session.expires_at)
    return Response(status_code=204)


@router.post("/logout-all", status_code=204, summary="Log out every session",
             responses={204: {"description": "Every session of this account issued so far "
                              "is refused from now on."}, **responses(401, 403)})
def logout_all(principal: CurrentPrincipal, ctx: Ctx) -> Response:
    """Revokes every session token of this account issued until now, on every device
    (for a stolen token or a shared computer). Log in again for a new one."""
    session = _session(principal)
    accounts.logout_all(ctx.store, ctx.clock, session.account_id)
    return Response(status_code=204)
