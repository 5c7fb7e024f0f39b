"""The calling developer's own account and consumer."""

from fastapi import APIRouter

from shared.api.deps import Ctx, CurrentDeveloper
from shared.api.errors import responses
from shared.api.routers.auth import portal_url
from shared.api.routers.notifications import NotifierDep
from shared.api.schemas import MeOut, MeUpdateIn, VerificationSentOut
from shared.management import consumers, verification

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", summary="My account and consumer")
def me(dev: CurrentDeveloper) -> MeOut:
    return MeOut.of(dev.account, dev.consumer)


@router.patch("", summary="Rename my consumer")
def update_me(body: MeUpdateIn, dev: CurrentDeveloper, ctx: Ctx) -> MeOut:
    consumer = consumers.rename(ctx.store, ctx.clock, dev.actor, dev.consumer_id, body.name)
    return MeOut.of(dev.account, consumer)


@router.post("/verification", status_code=202, summary="Send a new verification link",
             responses=responses(409, 429))
def resend_verification(dev: CurrentDeveloper, ctx: Ctx,
                        notifier: NotifierDep) -> VerificationSentOut:
    """Mails a new link to verify my address (24 hours, once). At most 5 an hour; 409 when
    the address is verified already."""
    sent = verification.resend(ctx.store, ctx.clock, notifier, portal_url(ctx.settings),
                               dev.account)
    detail = (f"A new verification link is on its way to {dev.account.email}." if sent else
              "The e-mail service did not take the message. Try again in a few minutes.")
    return VerificationSentOut(sent=sent, detail=detail)
