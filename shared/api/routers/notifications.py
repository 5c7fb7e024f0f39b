"""Admin: send notices (each once) and read the local outbox.

The notifier is ``app.state.notifier`` when the host set one, else the one the settings
name (``wiring.notifier_for``: ``TOLLWAY_NOTIFIER``, the local outbox by default). Scheduled
runs (``shared/management/jobs.py``) call the same use cases.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from shared.api.deps import AdminActor, Ctx, require_admin
from shared.api.errors import responses
from shared.management import audit, jobs, notifications
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
    from shared.wiring import notifier_for

    # The one the settings name (TOLLWAY_NOTIFIER; the outbox by default), built once.
    built = request.app.state.notifier = notifier_for(ctx.settings, ctx.store, ctx.clock)
    return built


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
    """What the scheduled jobs do (``jobs.NOTICES``); safe to call any time (each notice
    goes once)."""
    done = jobs.run_due(ctx.store, ctx.clock, notifier, only=jobs.NOTICES, reraise=True)
    out = SentOut(**{k: sum(r[k] for r in done["ran"].values()) for k in SentOut.model_fields})
    return _audited(ctx, actor, "notification.run", "due", out)


@admin.get("/outbox", summary="The local outbox, newest first")
def outbox(_: AdminActor, ctx: Ctx,
           limit: Annotated[int, Query(ge=1, le=100)] = 50) -> OutboxOut:
    return OutboxOut(items=[OutboxItem.model_validate(d)
                            for d in notifications.outbox(ctx.store, limit)])
