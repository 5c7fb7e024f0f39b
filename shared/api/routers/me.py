"""The calling developer's own account and consumer."""

from fastapi import APIRouter

from shared.api.deps import Ctx, CurrentDeveloper
from shared.api.schemas import MeOut, MeUpdateIn
from shared.management import consumers

router = APIRouter(prefix="/v1/me", tags=["me"])


@router.get("", summary="My account and consumer")
def me(dev: CurrentDeveloper) -> MeOut:
    return MeOut.of(dev.account, dev.consumer)


@router.patch("", summary="Rename my consumer")
def update_me(body: MeUpdateIn, dev: CurrentDeveloper, ctx: Ctx) -> MeOut:
    consumer = consumers.rename(ctx.store, ctx.clock, dev.actor, dev.consumer_id, body.name)
    return MeOut.of(dev.account, consumer)
