"""Developer self-service sign-up and log-in. Both answer a session token."""

from fastapi import APIRouter

from shared.api.deps import ClientAddress, Ctx
from shared.api.errors import responses
from shared.api.schemas import LoginIn, SessionOut, SignupIn, at
from shared.management import accounts
from shared.management.entities import Account

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
