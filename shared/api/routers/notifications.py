"""Admin: send notices (each once) and read the local outbox.

The notifier is ``app.state.notifier`` when the host set one (wiring.build_notifier), else
the local outbox. Scheduled runs (quota alerts, approval results) call the same use cases.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from shared.api.deps import AdminActor, Ctx, require_admin
from shared.api.errors import responses
from shared.management import audit, notifications
from shared.management.changes import Change
from shared.management.entities import Actor
from shared.management.errors import commit
from shared.ports import Notifier

admin = APIRouter(prefix="/v1/admin/notifications", tags=["admin: notifications"],
                  dependencies=[Depends(require_admin)])


def get_notifier(request: Request, ctx: Ctx) -> Notifier:
    found = getattr(request.app.state, "notifier", None)
    if found is not None:
        return found  # type: ignore[no-any-return]
    from shared.wiring import build_notifier

    return build_notifier("outbox", ctx.store, ctx.clock)


NotifierDep = Annotated[Notifier, Depends(get_notifier)]


class SentOut(BaseModel):
    sent: int
    already: int
    no_address: int
    failed: int


class OutboxItem(BaseModel):
    recipient: str
    kind: str
    subject: str
    text: str
    dedup_key: str
    data: dict[str, Any]


class OutboxOut(BaseModel):
    """Portal (admin, local stack): the notices that would have been e-mailed."""

    items: list[OutboxItem]


def _out(s: notifications.Sent) -> SentOut:
    return SentOut(sent=s.sent, already=s.already, no_address=s.no_address, failed=s.failed)


def _audited(ctx: Any, actor: Actor, action: str, target: str, out: SentOut) -> SentOut:
    """Who sent notices to customers, and how many: an admin action like any other."""
    entry = audit.write(ctx.clock, actor, action, audit.Target("notification", target),
                        after=out.model_dump())
    commit(ctx.store, ctx.clock, Change([entry]))
    return out


@admin.post("/deprecation", summary="Tell the recent callers of a deprecated version",
            responses=responses(404, 409))
def deprecation(actor: AdminActor, ctx: Ctx, notifier: NotifierDep,
                api_id: Annotated[str, Query(min_length=1, max_length=100)]) -> SentOut:
    """To exactly the consumers that called it in the last 30 days; each once."""
    out = _out(notifications.deprecation(ctx.store, ctx.clock, notifier, api_id))
    return _audited(ctx, actor, "notification.deprecation", api_id, out)


@admin.post("/run", summary="Send due quota alerts and approval results")
def run(actor: AdminActor, ctx: Ctx, notifier: NotifierDep) -> SentOut:
    """What the scheduled job does; safe to call any time (each notice goes once)."""
    a = notifications.quota_alerts(ctx.store, ctx.clock, notifier)
    b = notifications.subscription_results(ctx.store, ctx.clock, notifier)
    out = SentOut(sent=a.sent + b.sent, already=a.already + b.already,
                  no_address=a.no_address + b.no_address, failed=a.failed + b.failed)
    return _audited(ctx, actor, "notification.run", "due", out)


@admin.get("/outbox", summary="The local outbox, newest first")
def outbox(_: AdminActor, ctx: Ctx,
           limit: Annotated[int, Query(ge=1, le=100)] = 50) -> OutboxOut:
    return OutboxOut(items=[OutboxItem.model_validate(d)
                            for d in notifications.outbox(ctx.store, limit)])
