"""A developer's subscriptions to plans."""

from fastapi import APIRouter

from shared.api.deps import Ctx, CurrentDeveloper, Paging, VerifiedDeveloper, encode_cursor
from shared.api.errors import responses
from shared.api.schemas import Page, SubscribeIn, SubscriptionOut
from shared.management import subscriptions

router = APIRouter(prefix="/v1/me/subscriptions", tags=["subscriptions"])


@router.get("", summary="List my subscriptions")
def list_subscriptions(dev: CurrentDeveloper, ctx: Ctx, paging: Paging) -> Page[SubscriptionOut]:
    subs, nxt = subscriptions.list_page(ctx.store, dev.consumer_id, limit=paging.limit,
                                        after=paging.after)
    return Page[SubscriptionOut](items=[SubscriptionOut.of(s) for s in subs],
                                 next_cursor=encode_cursor(nxt))


@router.post("", status_code=201, summary="Subscribe to a plan", responses=responses(403, 409))
def subscribe(body: SubscribeIn, dev: VerifiedDeveloper, ctx: Ctx) -> SubscriptionOut:
    """Active at once, or ``pending`` when the plan requires an administrator's approval."""
    sub = subscriptions.subscribe(ctx.store, ctx.clock, dev.actor, dev.consumer, body.plan_id)
    return SubscriptionOut.of(sub)


@router.get("/{subscription_id}", summary="One of my subscriptions", responses=responses(404))
def get_subscription(subscription_id: str, dev: CurrentDeveloper, ctx: Ctx) -> SubscriptionOut:
    return SubscriptionOut.of(subscriptions.get(ctx.store, dev.consumer_id, subscription_id))


@router.delete("/{subscription_id}", summary="Cancel a subscription",
               responses=responses(404, 409))
def cancel_subscription(subscription_id: str, dev: CurrentDeveloper,
                        ctx: Ctx) -> SubscriptionOut:
    sub = subscriptions.cancel(ctx.store, ctx.clock, dev.actor, dev.consumer_id,
                               subscription_id)
    return SubscriptionOut.of(sub)


@router.post("/{subscription_id}/change-plan", summary="Change a subscription's plan",
             responses=responses(403, 404, 409))
def change_plan(subscription_id: str, body: SubscribeIn, dev: VerifiedDeveloper,
                ctx: Ctx) -> SubscriptionOut:
    """One plan per API: move this subscription to ``plan_id`` instead of subscribing twice.
    A plan without approval applies at once (the answer is this subscription, on the new
    plan). A plan that needs approval is requested: the answer is a new ``pending``
    subscription, and this one keeps working until an administrator approves the request
    (which cancels this one) or rejects it."""
    sub = subscriptions.change_plan(ctx.store, ctx.clock, dev.actor, dev.consumer,
                                    subscription_id, body.plan_id)
    return SubscriptionOut.of(sub)
