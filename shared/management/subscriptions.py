"""Subscriptions: a consumer's access to a plan, optionally awaiting admin approval.

Every action commits in the consumer's partition: the subscription (what the gateway
reads) and the consumer's claim on the plan (one live subscription per consumer and
plan), atomically. The lookup by id and the plan's "in use" index follow, with the audit
entry (docs/storage.md). A cancellation is therefore effective at its first write.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.core.clock import Clock
from shared.core.models import (
    Consumer,
    ConsumerStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
    to_dict,
)
from shared.management import audit, records
from shared.management.changes import Change, settle
from shared.management.entities import Actor, new_id
from shared.management.errors import Conflict, Forbidden, Invalid, NotFound, commit
from shared.ports import Store

NOT_FOUND = "No subscription with this id."
_ACTIVE, _PENDING, _CANCELLED = (
    SubscriptionStatus.ACTIVE, SubscriptionStatus.PENDING, SubscriptionStatus.CANCELLED
)


def _open_plan(store: Store, plan_id: str, *, for_new: bool) -> Plan:
    plan = records.get_plan(store, plan_id)
    if plan is None or (for_new and plan.retired):
        raise Invalid("No plan open for subscription has this id. See GET /v1/plans.",
                      field="body.plan_id")
    return plan


def get(store: Store, consumer_id: str, sub_id: str) -> Subscription:
    sub = records.get_subscription(store, consumer_id, sub_id)
    if sub is None:
        raise NotFound(NOT_FOUND)
    return sub


def list_page(
    store: Store, consumer_id: str, *, limit: int, after: str | None
) -> tuple[list[Subscription], str | None]:
    items, nxt = records.page(store, records.consumer_pk(consumer_id), "SUB#",
                              limit=limit, after=after)
    return records.load_all(Subscription, items), nxt


def list_all(
    store: Store, *, status: SubscriptionStatus | None, limit: int, after: str | None
) -> tuple[list[Subscription], str | None]:
    """Across consumers (admin), e.g. everything pending approval."""
    items, nxt = records.page(
        store, records.SUBSCRIPTION, limit=limit, after=after,
        keep=None if status is None else (lambda i: i.data.get("status") == status.value),
    )
    subs = [records.get_subscription(store, str(i.data["consumer_id"]), i.sk) for i in items]
    return [s for s in subs if s is not None], nxt


def _create(
    store: Store, clock: Clock, actor: Actor, consumer: Consumer, plan_id: str, *,
    approved: bool, overrides: dict[str, int | None] | None = None,
) -> Subscription:
    plan = _open_plan(store, plan_id, for_new=True)
    taken = "This consumer already has a subscription to this plan."
    live = [s for s in records.list_subscriptions(store, consumer.id) if s.status is not _CANCELLED]
    if any(s.plan_id == plan_id for s in live):
        raise Conflict(taken)
    status = _PENDING if plan.requires_approval and not approved else _ACTIVE
    sub = Subscription(new_id("sub"), consumer.id, plan_id, status, dict(overrides or {}),
                       clock.now())
    commit(store, clock, Change(
        records.subscription_primary(sub),
        [*records.subscription_indexes(sub),
         audit.write(clock, actor, "subscription.create",
                     audit.Target("subscription", sub.id, consumer.id), after=to_dict(sub))],
    ), taken)
    return sub


def subscribe(store: Store, clock: Clock, actor: Actor, consumer: Consumer,
              plan_id: str) -> Subscription:
    """Developer self-service: pending if the plan requires approval."""
    if consumer.status is ConsumerStatus.SUSPENDED:
        raise Forbidden("This consumer is suspended; it cannot subscribe to plans.")
    return _create(store, clock, actor, consumer, plan_id, approved=False)


def grant(store: Store, clock: Clock, actor: Actor, consumer: Consumer, plan_id: str,
          overrides: dict[str, int | None]) -> Subscription:
    """Admin: subscribe a consumer directly, active at once."""
    return _create(store, clock, actor, consumer, plan_id, approved=True, overrides=overrides)


def _change(
    store: Store, clock: Clock, actor: Actor, consumer_id: str, sub_id: str, action: str,
    *, allowed_from: frozenset[SubscriptionStatus], **changes: Any,
) -> Subscription:
    settle(store, records.consumer_pk(consumer_id))  # an interrupted change first
    found = records.get_versioned(store, Subscription, records.consumer_pk(consumer_id),
                                  f"SUB#{sub_id}")
    if found is None:
        raise NotFound(NOT_FOUND)
    before, version = found
    if before.status not in allowed_from:
        raise Conflict(f"This subscription is {before.status.value}; it cannot be changed so.")
    after = dataclasses.replace(before, **changes)
    if after == before:
        return before
    _open_plan(store, after.plan_id, for_new=after.plan_id != before.plan_id)
    commit(store, clock, Change(
        records.subscription_primary(after, before, version),
        [*records.subscription_indexes(after, before),
         audit.write(clock, actor, action, audit.Target("subscription", sub_id, consumer_id),
                     before=to_dict(before), after=to_dict(after))],
    ))
    return after


_LIVE = frozenset({_ACTIVE, _PENDING})


def cancel(store: Store, clock: Clock, actor: Actor, consumer_id: str,
           sub_id: str) -> Subscription:
    current = get(store, consumer_id, sub_id)
    if current.status is _CANCELLED:
        return current
    return _change(store, clock, actor, consumer_id, sub_id, "subscription.cancel",
                   allowed_from=_LIVE, status=_CANCELLED)


def _by_id(store: Store, sub_id: str) -> str:
    owner = records.subscription_owner(store, sub_id)
    if owner is None:
        raise NotFound(NOT_FOUND)
    return owner


def approve(store: Store, clock: Clock, actor: Actor, sub_id: str) -> Subscription:
    return _change(store, clock, actor, _by_id(store, sub_id), sub_id, "subscription.approve",
                   allowed_from=frozenset({_PENDING}), status=_ACTIVE)


def reject(store: Store, clock: Clock, actor: Actor, sub_id: str) -> Subscription:
    return _change(store, clock, actor, _by_id(store, sub_id), sub_id, "subscription.reject",
                   allowed_from=frozenset({_PENDING}), status=_CANCELLED)


def update(store: Store, clock: Clock, actor: Actor, consumer_id: str, sub_id: str,
           changes: dict[str, Any]) -> Subscription:
    """Admin: move to another plan and/or replace the per-consumer overrides."""
    if "plan_id" in changes:
        live = records.list_subscriptions(store, consumer_id)
        if any(s.plan_id == changes["plan_id"] and s.id != sub_id and s.status is not _CANCELLED
               for s in live):
            raise Conflict("This consumer already has a subscription to that plan.")
    return _change(store, clock, actor, consumer_id, sub_id, "subscription.update",
                   allowed_from=_LIVE, **changes)
