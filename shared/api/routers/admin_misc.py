"""Admin: subscriptions awaiting approval, accounts and roles, the audit log."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from shared.api.admin_schemas import AccountOut, AuditOut, RoleIn
from shared.api.deps import AdminActor, Ctx, Paging, encode_cursor, require_admin
from shared.api.errors import responses
from shared.api.schemas import Page, SubscriptionOut
from shared.core.models import SubscriptionStatus
from shared.management import accounts, audit, subscriptions

router = APIRouter(prefix="/v1/admin", dependencies=[Depends(require_admin)])

Filter = Annotated[str | None, Query(min_length=1, max_length=100)]


@router.get("/subscriptions", tags=["admin: subscriptions"],
            summary="Subscriptions across consumers (e.g. ?status=pending)")
def list_subscriptions(
    _: AdminActor, ctx: Ctx, paging: Paging,
    status: Literal["active", "pending", "cancelled"] | None = None,
) -> Page[SubscriptionOut]:
    wanted = None if status is None else SubscriptionStatus(status)
    subs, nxt = subscriptions.list_all(ctx.store, status=wanted, limit=paging.limit,
                                       after=paging.after)
    return Page[SubscriptionOut](items=[SubscriptionOut.of(s) for s in subs],
                                 next_cursor=encode_cursor(nxt))


@router.post("/subscriptions/{subscription_id}/approve", tags=["admin: subscriptions"],
             summary="Approve a pending subscription", responses=responses(404, 409))
def approve(subscription_id: str, actor: AdminActor, ctx: Ctx) -> SubscriptionOut:
    return SubscriptionOut.of(subscriptions.approve(ctx.store, ctx.clock, actor,
                                                    subscription_id))


@router.post("/subscriptions/{subscription_id}/reject", tags=["admin: subscriptions"],
             summary="Reject a pending subscription", responses=responses(404, 409))
def reject(subscription_id: str, actor: AdminActor, ctx: Ctx) -> SubscriptionOut:
    return SubscriptionOut.of(subscriptions.reject(ctx.store, ctx.clock, actor,
                                                   subscription_id))


@router.get("/accounts", tags=["admin: accounts"], summary="List developer accounts")
def list_accounts(_: AdminActor, ctx: Ctx, paging: Paging) -> Page[AccountOut]:
    found, nxt = accounts.list_page(ctx.store, limit=paging.limit, after=paging.after)
    return Page[AccountOut](items=[AccountOut.of(a) for a in found],
                            next_cursor=encode_cursor(nxt))


@router.put("/accounts/{account_id}/role", tags=["admin: accounts"],
            summary="Grant or withdraw the admin role", responses=responses(404, 409))
def set_role(account_id: str, body: RoleIn, actor: AdminActor, ctx: Ctx) -> AccountOut:
    """Takes effect at once for withdrawal; a promoted account logs in again to use it."""
    return AccountOut.of(accounts.set_role(ctx.store, ctx.clock, actor, account_id, body.role))


@router.get("/audit", tags=["admin: audit"], summary="The audit log, newest first")
def list_audit(
    _: AdminActor, ctx: Ctx, paging: Paging, actor: Filter = None,
    action: Filter = None, target_id: Filter = None, consumer_id: Filter = None,
) -> Page[AuditOut]:
    flt = audit.AuditFilter(actor=actor, action=action, target_id=target_id,
                            consumer_id=consumer_id)
    entries, nxt = audit.list_entries(ctx.store, flt, limit=paging.limit, after=paging.after)
    return Page[AuditOut](items=[AuditOut.of(e) for e in entries],
                          next_cursor=encode_cursor(nxt))
