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
_LIVE = frozenset({_ACTIVE, _PENDING})


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


def overlap(a: Plan, b: Plan) -> bool:
    """Whether two plans grant an API in common ("*" grants every API)."""
    if not a.apis or not b.apis:
        return False
    return "*" in a.apis or "*" in b.apis or bool(set(a.apis) & set(b.apis))


def _overlapping(store: Store, consumer_id: str, plan: Plan, *,
                 status: frozenset[SubscriptionStatus],
                 exclude: str = "") -> list[tuple[Subscription, Plan]]:
    """The consumer's subscriptions in ``status`` (other than ``exclude``) whose plan grants
    an API that ``plan`` grants too: the gateway would use only one of them."""
    found = []
    for sub in records.list_subscriptions(store, consumer_id):
        if sub.id == exclude or sub.status not in status or sub.plan_id == plan.id:
            continue
        other = records.get_plan(store, sub.plan_id)
        if other is not None and overlap(plan, other):
            found.append((sub, other))
    return found


def _one_plan_per_api(store: Store, consumer_id: str, plan: Plan, exclude: str = "") -> None:
    """Developer self-service holds at most one ACTIVE plan per API (the gateway would use
    only one). A pending request may overlap: approving it replaces the active ones."""
    clash = _overlapping(store, consumer_id, plan, status=frozenset({_ACTIVE}), exclude=exclude)
    if clash:
        sub, other = clash[0]
        raise Conflict(
            f"You already have the plan {other.name!r} for the APIs {plan.name!r} grants; "
            f"change it instead: POST /v1/me/subscriptions/{sub.id}/change-plan.")


def _create(
    store: Store, clock: Clock, actor: Actor, consumer: Consumer, plan_id: str, *,
    approved: bool, overrides: dict[str, int | None] | None = None, replacing: str = "",
) -> Subscription:
    plan = _open_plan(store, plan_id, for_new=True)
    taken = "This consumer already has a subscription to this plan."
    live = [s for s in records.list_subscriptions(store, consumer.id) if s.status is not _CANCELLED]
    if any(s.plan_id == plan_id for s in live):
        raise Conflict(taken)
    if not approved and not plan.requires_approval:
        _one_plan_per_api(store, consumer.id, plan, exclude=replacing)
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
    """A request that changes plan (see :func:`change_plan`) replaces the consumer's active
    subscriptions for the same APIs: they are cancelled in the same commit, so the
    consumer holds exactly one plan per API at every moment."""
    consumer_id = _by_id(store, sub_id)
    settle(store, records.consumer_pk(consumer_id))
    found = records.get_versioned(store, Subscription, records.consumer_pk(consumer_id),
                                  f"SUB#{sub_id}")
    if found is None:
        raise NotFound(NOT_FOUND)
    before, version = found
    plan = records.get_plan(store, before.plan_id)
    replaced = [] if plan is None else _overlapping(store, consumer_id, plan,
                                                    status=frozenset({_ACTIVE}), exclude=sub_id)
    if before.status is not _PENDING or not replaced:
        return _change(store, clock, actor, consumer_id, sub_id, "subscription.approve",
                       allowed_from=frozenset({_PENDING}), status=_ACTIVE)
    after = dataclasses.replace(before, status=_ACTIVE)
    primary = records.subscription_primary(after, before, version)
    then = [*records.subscription_indexes(after, before),
            audit.write(clock, actor, "subscription.approve",
                        audit.Target("subscription", sub_id, consumer_id),
                        before=to_dict(before), after=to_dict(after))]
    for old, _ in replaced:  # same partition as the approval: one atomic primary batch
        old_version = records.get_versioned(store, Subscription, records.consumer_pk(consumer_id),
                                            f"SUB#{old.id}")
        if old_version is None:
            continue
        cancelled = dataclasses.replace(old, status=_CANCELLED)
        primary += records.subscription_primary(cancelled, old, old_version[1])
        then += [*records.subscription_indexes(cancelled, old),
                 audit.write(clock, actor, "subscription.cancel",
                             audit.Target("subscription", old.id, consumer_id),
                             before=to_dict(old), after=to_dict(cancelled),
                             note=f"replaced by {sub_id}")]
    commit(store, clock, Change(primary, then))
    return after


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


def change_plan(store: Store, clock: Clock, actor: Actor, consumer: Consumer, sub_id: str,
                plan_id: str) -> Subscription:
    """Developer self-service: move a live subscription to another open plan.

    A plan that needs no approval takes over at once (the same subscription, its claim on
    the old plan swapped for the new one in one commit). A plan that needs approval is
    requested instead: a new pending subscription, and the current one keeps working until
    an administrator approves the request (:func:`approve` then cancels it) or rejects it.
    """
    if consumer.status is ConsumerStatus.SUSPENDED:
        raise Forbidden("This consumer is suspended; it cannot change plans.")
    current = get(store, consumer.id, sub_id)
    if current.status is _CANCELLED:
        raise Conflict("This subscription is cancelled; subscribe to a plan instead.")
    if current.plan_id == plan_id:
        return current  # already there: nothing to change, nothing to audit
    plan = _open_plan(store, plan_id, for_new=True)
    if plan.requires_approval and current.status is _ACTIVE:
        return _create(store, clock, actor, consumer, plan_id, approved=False,
                       replacing=sub_id)
    status = _PENDING if plan.requires_approval else _ACTIVE
    if status is _ACTIVE:
        _one_plan_per_api(store, consumer.id, plan, exclude=sub_id)
    return _change(store, clock, actor, consumer.id, sub_id, "subscription.change_plan",
                   allowed_from=_LIVE, plan_id=plan_id, status=status)
