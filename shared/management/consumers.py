"""Consumers: the party a key, a subscription and usage belong to.

Suspension is a status on the consumer record; the gateway reads it through its TTL
cache, so a suspension reaches every warm gateway within ``TOLLWAY_CACHE_TTL`` seconds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from shared.core.clock import Clock
from shared.core.models import Consumer, ConsumerStatus
from shared.core.policy import SCOPED, PolicyError, parse, to_json
from shared.management import audit, records
from shared.management.changes import Change
from shared.management.entities import Actor
from shared.management.errors import Invalid, NotFound, commit
from shared.ports import Store

NOT_FOUND = "No consumer with this id."


def view(consumer: Consumer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": consumer.id,
        "name": consumer.name,
        "status": consumer.status.value,
        "owner": consumer.owner,
        "created_at": consumer.created_at,
    }
    if consumer.policies is not None:
        out["policies"] = to_json(consumer.policies)
    return out


def get(store: Store, consumer_id: str) -> Consumer:
    consumer = records.get_consumer(store, consumer_id)
    if consumer is None:
        raise NotFound(NOT_FOUND)
    return consumer


def list_page(
    store: Store, *, status: ConsumerStatus | None, limit: int, after: str | None
) -> tuple[list[Consumer], str | None]:
    items, nxt = records.page(
        store,
        records.CONSUMER,
        limit=limit,
        after=after,
        keep=None if status is None else (lambda i: i.data.get("status") == status.value),
    )
    return records.load_all(Consumer, items), nxt


def _update(
    store: Store, clock: Clock, actor: Actor, consumer_id: str, action: str, note: str = "",
    **changes: Any,
) -> Consumer:
    found = records.get_versioned(store, Consumer, records.CONSUMER, consumer_id)
    if found is None:
        raise NotFound(NOT_FOUND)
    before, version = found
    after = dataclasses.replace(before, **changes)
    if after == before:
        return before
    commit(store, clock, Change(
        [records.put_consumer_write(after, if_version=version)],
        [audit.write(clock, actor, action, audit.Target("consumer", consumer_id, consumer_id),
                     before=view(before), after=view(after), note=note)],
    ))
    return after


def suspend(store: Store, clock: Clock, actor: Actor, consumer_id: str, reason: str) -> Consumer:
    return _update(store, clock, actor, consumer_id, "consumer.suspend", reason,
                   status=ConsumerStatus.SUSPENDED)


def resume(store: Store, clock: Clock, actor: Actor, consumer_id: str, reason: str) -> Consumer:
    return _update(store, clock, actor, consumer_id, "consumer.resume", reason,
                   status=ConsumerStatus.ACTIVE)


def rename(store: Store, clock: Clock, actor: Actor, consumer_id: str, name: str) -> Consumer:
    return _update(store, clock, actor, consumer_id, "consumer.rename", name=name)


def set_policies(store: Store, clock: Clock, actor: Actor, consumer_id: str,
                 policies: dict[str, Any]) -> Consumer:
    """The consumer's own IP lists and limits (``{}`` clears them); audited, and at every
    warm gateway within ``TOLLWAY_CACHE_TTL``."""
    try:
        parsed = parse(policies, kinds=SCOPED)
    except PolicyError as e:
        raise Invalid(e.message, field=f"body.{e.field}") from None
    return _update(store, clock, actor, consumer_id, "consumer.policies", policies=parsed)
