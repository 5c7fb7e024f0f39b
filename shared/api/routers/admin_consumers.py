"""Admin: consumers, their subscriptions, suspension."""

from fastapi import APIRouter, Depends

from shared.api.admin_schemas import ConsumerAdminOut, GrantIn, ReasonIn, SubscriptionPatchIn
from shared.api.deps import AdminActor, Ctx, Paging, encode_cursor, require_admin
from shared.api.errors import responses
from shared.api.policy_schemas import ScopedPoliciesIO
from shared.api.schemas import Page, SubscriptionOut
from shared.core.models import ConsumerStatus
from shared.management import consumers, subscriptions

router = APIRouter(prefix="/v1/admin/consumers", tags=["admin: consumers"],
                   dependencies=[Depends(require_admin)])


@router.get("", summary="List consumers")
def list_consumers(
    _: AdminActor, ctx: Ctx, paging: Paging, status: ConsumerStatus | None = None
) -> Page[ConsumerAdminOut]:
    found, nxt = consumers.list_page(ctx.store, status=status, limit=paging.limit,
                                     after=paging.after)
    return Page[ConsumerAdminOut](items=[ConsumerAdminOut.of(c) for c in found],
                             next_cursor=encode_cursor(nxt))


@router.get("/{consumer_id}", summary="One consumer", responses=responses(404))
def get_consumer(consumer_id: str, _: AdminActor, ctx: Ctx) -> ConsumerAdminOut:
    return ConsumerAdminOut.of(consumers.get(ctx.store, consumer_id))


@router.post("/{consumer_id}/suspend", summary="Suspend: every key is refused at the gateway",
             responses=responses(404))
def suspend(consumer_id: str, actor: AdminActor, ctx: Ctx,
            body: ReasonIn | None = None) -> ConsumerAdminOut:
    reason = body.reason if body else ""
    return ConsumerAdminOut.of(consumers.suspend(ctx.store, ctx.clock, actor, consumer_id, reason))


@router.post("/{consumer_id}/resume", summary="Lift a suspension", responses=responses(404))
def resume(consumer_id: str, actor: AdminActor, ctx: Ctx,
           body: ReasonIn | None = None) -> ConsumerAdminOut:
    reason = body.reason if body else ""
    return ConsumerAdminOut.of(consumers.resume(ctx.store, ctx.clock, actor, consumer_id, reason))


@router.put("/{consumer_id}/policies",
            summary="Set a consumer's own IP lists and limits ({} clears them)",
            responses=responses(404))
def set_policies(consumer_id: str, body: ScopedPoliciesIO, actor: AdminActor,
                 ctx: Ctx) -> ConsumerAdminOut:
    """On top of the API's, the route's and the plan's: every IP list must admit the
    request, every limit is charged. Reaches the gateways within their cache TTL."""
    return ConsumerAdminOut.of(consumers.set_policies(ctx.store, ctx.clock, actor, consumer_id,
                                                 body.model_dump()))


@router.get("/{consumer_id}/subscriptions", summary="A consumer's subscriptions",
            responses=responses(404))
def list_subscriptions(consumer_id: str, _: AdminActor, ctx: Ctx,
                       paging: Paging) -> Page[SubscriptionOut]:
    consumers.get(ctx.store, consumer_id)
    subs, nxt = subscriptions.list_page(ctx.store, consumer_id, limit=paging.limit,
                                        after=paging.after)
    return Page[SubscriptionOut](items=[SubscriptionOut.of(s) for s in subs],
                                 next_cursor=encode_cursor(nxt))


@router.post("/{consumer_id}/subscriptions", status_code=201,
             summary="Subscribe a consumer to a plan (active at once)",
             responses=responses(404, 409))
def grant(consumer_id: str, body: GrantIn, actor: AdminActor, ctx: Ctx) -> SubscriptionOut:
    consumer = consumers.get(ctx.store, consumer_id)
    sub = subscriptions.grant(ctx.store, ctx.clock, actor, consumer, body.plan_id,
                              body.overrides.as_dict())
    return SubscriptionOut.of(sub)


@router.patch("/{consumer_id}/subscriptions/{subscription_id}",
              summary="Change a consumer's plan or per-consumer overrides",
              responses=responses(404, 409))
def update_subscription(consumer_id: str, subscription_id: str, body: SubscriptionPatchIn,
                        actor: AdminActor, ctx: Ctx) -> SubscriptionOut:
    update: dict[str, object] = {}
    if body.plan_id is not None:
        update["plan_id"] = body.plan_id
    if body.overrides is not None:
        update["overrides"] = body.overrides.as_dict()
    sub = subscriptions.update(ctx.store, ctx.clock, actor, consumer_id, subscription_id, update)
    return SubscriptionOut.of(sub)


@router.delete("/{consumer_id}/subscriptions/{subscription_id}",
               summary="Cancel a consumer's subscription", responses=responses(404, 409))
def cancel_subscription(consumer_id: str, subscription_id: str, actor: AdminActor,
                        ctx: Ctx) -> SubscriptionOut:
    sub = subscriptions.cancel(ctx.store, ctx.clock, actor, consumer_id, subscription_id)
    return SubscriptionOut.of(sub)
