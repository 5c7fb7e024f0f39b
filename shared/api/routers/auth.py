"""Developer self-service sign-up, log-in and log-out. Sign-up and log-in answer a session
token; log-out revokes it server-side (this session, or every session of the account).
Sign-up mails a verification link; a forgotten password is reset through a mailed link
(``shared/management/verification.py``)."""

from fastapi import APIRouter, Response

from shared.api.deps import ClientAddress, Ctx, CurrentPrincipal, Principal
from shared.api.errors import responses
from shared.api.routers.notifications import NotifierDep
from shared.api.schemas import (
    AcceptedOut,
    LoginIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    SessionOut,
    SignupIn,
    VerifiedOut,
    VerifyIn,
    at,
)
from shared.management import accounts, verification
from shared.management.entities import Account
from shared.management.errors import Forbidden
from shared.management.sessions import Claims
from shared.settings import Settings

router = APIRouter(prefix="/v1/auth", tags=["auth"])


def portal_url(settings: Settings) -> str:
    """Where links in e-mails point: TOLLWAY_PORTAL_URL, else the portal the API already
    admits as a CORS origin (the local stack names its portal there)."""
    return settings.portal_url or next(iter(settings.cors_origins), "")


def session_for(ctx: Ctx, account: Account) -> SessionOut:
    issued = ctx.sessions.issue(account)
    return SessionOut(
        access_token=issued.token, expires_in=issued.expires_in,
        expires_at=at(issued.expires_at), account_id=account.id,
        consumer_id=account.consumer_id, role=account.role,  # type: ignore[arg-type]
    )


@router.post("/signup", status_code=201, summary="Create a developer account",
             responses=responses(409, 429))
def signup(body: SignupIn, ctx: Ctx, client: ClientAddress,
           notifier: NotifierDep) -> SessionOut:
    """Creates the account and the consumer it owns, mails a link to verify the address
    (valid 24 hours), and logs in."""
    done = accounts.signup(
        ctx.store, ctx.clock, ctx.passwords, email=body.email,
        password=body.password.get_secret_value(), name=body.name, client=client,
    )
    verification.send_verification(ctx.store, ctx.clock, notifier, portal_url(ctx.settings),
                                   done.account, done.verification)
    return session_for(ctx, done.account)


@router.post("/login", summary="Log in", responses=responses(401, 429))
def login(body: LoginIn, ctx: Ctx, client: ClientAddress) -> SessionOut:
    """At most 10 attempts per e-mail address per 15 minutes (429 with Retry-After)."""
    account = accounts.login(
        ctx.store, ctx.clock, ctx.passwords, email=body.email,
        password=body.password.get_secret_value(), client=client,
    )
    return session_for(ctx, account)


@router.post("/verify", summary="Verify an e-mail address with the mailed link",
             responses=responses(409, 422))
def verify(body: VerifyIn, ctx: Ctx) -> VerifiedOut:
    """The token from the link ``<portal>/#/verify?token=…``. It works once, for 24 hours,
    and only while the account still has the address it was sent to."""
    account = verification.verify(ctx.store, ctx.clock, body.token)
    return VerifiedOut(email=account.email, email_verified=account.email_verified)


RESET_ACCEPTED = ("If an account with this e-mail address exists, a link to reset its "
                  "password is on its way. It works once, within 30 minutes.")


@router.post("/password-reset", status_code=202, summary="Ask for a password reset link",
             responses=responses(429))
def password_reset(body: PasswordResetIn, ctx: Ctx, client: ClientAddress,
                   notifier: NotifierDep) -> AcceptedOut:
    """The same answer whether or not the address has an account. At most 5 requests per
    address and 30 per client address an hour (429 with Retry-After)."""
    verification.request_reset(ctx.store, ctx.clock, notifier, portal_url(ctx.settings),
                               email=body.email, client=client)
    return AcceptedOut(detail=RESET_ACCEPTED)


@router.post("/password-reset/confirm", status_code=204, summary="Set a new password",
             responses={204: {"description": "The password is changed and every session of "
                              "the account is logged out. Log in with the new password."},
                        **responses(409, 422)})
def password_reset_confirm(body: PasswordResetConfirmIn, ctx: Ctx) -> Response:
    """The token from the link ``<portal>/#/reset?token=…`` (once, within 30 minutes). The
    password policy of sign-up applies. Every session of the account is logged out, and
    the address counts as verified."""
    verification.confirm_reset(ctx.store, ctx.clock, ctx.passwords, token=body.token,
                               new_password=body.new_password.get_secret_value())
    return Response(status_code=204)


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
