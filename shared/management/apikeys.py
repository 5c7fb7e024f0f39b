"""A developer's API keys: create (plaintext returned once), list, rotate, revoke.

Only the SHA-256 of a key is stored. The plaintext leaves this module exactly once, in
the value :func:`create` / :func:`rotate` return, and nothing here logs it. Every key
action writes an audit entry (with the key's public view: never its hash).

Step order (docs/storage.md): granting actions (create, rotate) commit in the consumer's
partition first — listing, reference and the cap guard, which serialises concurrent
creations so the per-consumer cap holds — and write the gateway's lookup item LAST, so a
key is usable only once every part of it exists. Revocation commits the lookup item FIRST,
so the gateway denies the key before anything else changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from shared.core import keys as keymod
from shared.core.clock import Clock
from shared.core.models import Consumer, ConsumerStatus, KeyRecord, KeyState
from shared.management import audit, records
from shared.management.changes import Change, settle
from shared.management.entities import Actor, new_id
from shared.management.errors import Conflict, Forbidden, NotFound, commit
from shared.ports import Store, Write

DEFAULT_GRACE = 86_400
MAX_GRACE = 7 * 86_400
NOT_FOUND = "No key with this id."


@dataclass(frozen=True, slots=True)
class Issued:
    record: KeyRecord
    plaintext: str  # shown once, in the response that creates the key


def effective_state(key: KeyRecord, now: float) -> str:
    if key.state is KeyState.ACTIVE and key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return key.state.value


def view(key: KeyRecord) -> dict[str, Any]:
    """The public fields of a key: what responses and audit entries may carry."""
    return {
        "id": key.id,
        "consumer_id": key.consumer_id,
        "name": key.name,
        "hint": key.hint,
        "state": key.state.value,
        "scopes": list(key.scopes),
        "created_at": key.created_at,
        "expires_at": key.expires_at,
    }


def _consumer_guard(store: Store, consumer_id: str) -> tuple[Consumer, Write]:
    consumer = records.get_consumer(store, consumer_id)
    if consumer is None:
        raise NotFound("No consumer with this id.")
    settle(store, records.consumer_pk(consumer_id))  # an interrupted change first
    return consumer, records.key_cap_guard(store, consumer_id)


def _live(store: Store, consumer_id: str, now: float) -> list[KeyRecord]:
    return [k for k in records.list_keys(store, consumer_id) if effective_state(k, now) == "active"]


def _new_key(prefix: str, consumer_id: str, name: str, scopes: tuple[str, ...],
             now: float, expires_at: float | None) -> Issued:
    issued = keymod.generate(prefix)
    record = KeyRecord(
        id=new_id("key"), consumer_id=consumer_id, key_hash=issued.key_hash, hint=issued.hint,
        name=name, created_at=now, expires_at=expires_at, scopes=scopes,
    )
    return Issued(record, issued.plaintext)


def create(
    store: Store, clock: Clock, actor: Actor, consumer_id: str, *,
    prefix: str, cap: int, name: str, scopes: tuple[str, ...] = (),
    expires_in_days: int | None = None,
) -> Issued:
    consumer, guard = _consumer_guard(store, consumer_id)
    if consumer.status is ConsumerStatus.SUSPENDED:
        raise Forbidden("This consumer is suspended; new keys cannot be created.")
    now = clock.now()
    if len(_live(store, consumer_id, now)) >= cap:
        raise Conflict(f"This consumer already has {cap} active keys, the most allowed. "
                       "Revoke one first.")
    expires = now + expires_in_days * 86_400 if expires_in_days else None
    new = _new_key(prefix, consumer_id, name, scopes, now, expires)
    target = audit.Target("key", new.record.id, consumer_id)
    commit(store, clock, Change(
        [*records.key_listing_writes(new.record, new=True), guard],
        [audit.write(clock, actor, "key.create", target, after=view(new.record)),
         records.key_hash_write(new.record, if_absent=True)],
    ))
    return new


def get(store: Store, consumer_id: str, key_id: str) -> KeyRecord:
    key = records.get_consumer_key(store, consumer_id, key_id)
    if key is None:
        raise NotFound(NOT_FOUND)
    return key


def list_page(
    store: Store, consumer_id: str, *, limit: int, after: str | None
) -> tuple[list[KeyRecord], str | None]:
    items, nxt = records.page(
        store, records.consumer_pk(consumer_id), "KEY#", limit=limit, after=after
    )
    return records.load_all(KeyRecord, items, key_hash=""), nxt


def _full(store: Store, consumer_id: str, key_id: str) -> KeyRecord:
    key = records.get_key_with_hash(store, consumer_id, key_id)
    if key is None:
        raise NotFound(NOT_FOUND)
    return key


def rotate(
    store: Store, clock: Clock, actor: Actor, consumer_id: str, key_id: str, *,
    prefix: str, cap: int, grace_seconds: int = DEFAULT_GRACE,
) -> tuple[Issued, KeyRecord]:
    """A new key with the old one's name and scopes; the old one keeps working until
    ``now + grace_seconds`` (both of its items expire then). Returns (new, old)."""
    old = _full(store, consumer_id, key_id)
    consumer, guard = _consumer_guard(store, consumer_id)
    if consumer.status is ConsumerStatus.SUSPENDED:
        raise Forbidden("This consumer is suspended; keys cannot be rotated.")
    now = clock.now()
    if effective_state(old, now) != "active":
        raise Conflict("Only an active key can be rotated. Create a new key instead.")
    if len([k for k in _live(store, consumer_id, now) if k.id != key_id]) >= cap:
        raise Conflict(f"Rotating would exceed the limit of {cap} active keys. Revoke one first.")
    grace_end = now + max(0, min(grace_seconds, MAX_GRACE))
    ends = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
    retiring = dataclasses.replace(old, expires_at=ends)
    new = _new_key(prefix, consumer_id, old.name, old.scopes, now, None)
    target = audit.Target("key", key_id, consumer_id)
    old_version = records.key_hash_version(store, old.key_hash)
    commit(store, clock, Change(
        [*records.key_listing_writes(new.record, new=True),
         *records.key_listing_writes(retiring), guard],
        [audit.write(clock, actor, "key.rotate", target, before=view(old),
                     after={"old": view(retiring), "new": view(new.record)}),
         # under the version read here: a revocation in between wins over this rewrite
         records.key_hash_write(retiring, if_version=old_version or 0),
         records.key_hash_write(new.record, if_absent=True)],
    ))
    return new, retiring


def revoke(store: Store, clock: Clock, actor: Actor, consumer_id: str, key_id: str) -> KeyRecord:
    """Revoked at once in the store; warm gateways notice within their cache TTL."""
    old = _full(store, consumer_id, key_id)
    if old.state is KeyState.REVOKED:
        return old
    revoked = dataclasses.replace(old, state=KeyState.REVOKED)
    target = audit.Target("key", key_id, consumer_id)
    settle(store, records.consumer_pk(consumer_id))  # a half-created key first
    commit(store, clock, Change(
        [records.key_hash_write(revoked)],
        [*records.key_listing_writes(revoked),
         audit.write(clock, actor, "key.revoke", target, before=view(old), after=view(revoked))],
    ))
    return revoked
