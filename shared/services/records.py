"""Where each record lives in the single-table layout (docs/storage.md), and typed access.

Every service reads and writes entities through these functions, so the layout is defined
once. Collections that must be listed live in one partition per type (``PLAN``, ``API``,
``CONSUMER``); a consumer's keys and subscriptions live in ``CONSUMER#<id>``; the gateway's
hot lookup (key by hash) has its own partition per key so it never becomes a hot spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from shared.core.models import (
    Api,
    Consumer,
    KeyRecord,
    Plan,
    Subscription,
    from_dict,
    to_dict,
)
from shared.ports import Delete, Item, Put, Store, Write

T = TypeVar("T")

PLAN, API, CONSUMER = "PLAN", "API", "CONSUMER"


def consumer_pk(consumer_id: str) -> str:
    return f"CONSUMER#{consumer_id}"


def keyhash_pk(key_hash: str) -> str:
    return f"KEYHASH#{key_hash}"


def _load(cls: type[T], item: Item | None) -> T | None:
    return None if item is None else from_dict(cls, dict(item.data))


def _list(store: Store, cls: type[T], pk: str, prefix: str = "", limit: int = 1000) -> list[T]:
    out: list[T] = []
    after: str | None = None
    while True:
        page = store.query(pk, prefix, limit=min(limit - len(out), 500), after=after)
        out.extend(from_dict(cls, dict(i.data)) for i in page)
        if len(page) < 500 or len(out) >= limit:
            return out
        after = page[-1].sk


# --- plans and catalog ----------------------------------------------------------------------


def get_plan(store: Store, plan_id: str) -> Plan | None:
    return _load(Plan, store.get(PLAN, plan_id))


def list_plans(store: Store) -> list[Plan]:
    return _list(store, Plan, PLAN)


def put_plan_write(plan: Plan, **cond: Any) -> Put:
    return Put(Item(PLAN, plan.id, to_dict(plan)), **cond)


def get_api(store: Store, api_id: str) -> Api | None:
    return _load(Api, store.get(API, api_id))


def list_apis(store: Store) -> list[Api]:
    return _list(store, Api, API)


def put_api_write(api: Api, **cond: Any) -> Put:
    return Put(Item(API, api.id, to_dict(api)), **cond)


# --- consumers, keys, subscriptions ---------------------------------------------------------


def get_consumer(store: Store, consumer_id: str) -> Consumer | None:
    return _load(Consumer, store.get(CONSUMER, consumer_id))


def list_consumers(store: Store) -> list[Consumer]:
    return _list(store, Consumer, CONSUMER)


def put_consumer_write(consumer: Consumer, **cond: Any) -> Put:
    return Put(Item(CONSUMER, consumer.id, to_dict(consumer)), **cond)


def key_by_hash(store: Store, key_hash: str) -> KeyRecord | None:
    return _load(KeyRecord, store.get(keyhash_pk(key_hash), "KEY"))


def key_writes(key: KeyRecord, *, new: bool = False) -> list[Write]:
    """Both items of a key: the lookup by hash and the consumer's listing entry.
    The listing entry carries no hash, so listing a consumer's keys never exposes one."""
    data = to_dict(key)
    listing = {k: v for k, v in data.items() if k != "key_hash"}
    cond: dict[str, Any] = {"if_absent": True} if new else {}
    expires = key.expires_at
    return [
        Put(Item(keyhash_pk(key.key_hash), "KEY", data, expires_at=expires), **cond),
        Put(Item(consumer_pk(key.consumer_id), f"KEY#{key.id}", listing), **cond),
    ]


def get_consumer_key(store: Store, consumer_id: str, key_id: str) -> KeyRecord | None:
    """The listing entry (no hash: ``key_hash`` is empty)."""
    item = store.get(consumer_pk(consumer_id), f"KEY#{key_id}")
    return None if item is None else from_dict(KeyRecord, {"key_hash": "", **item.data})


def list_keys(store: Store, consumer_id: str) -> list[KeyRecord]:
    return [
        from_dict(KeyRecord, {"key_hash": "", **i.data})
        for i in store.query(consumer_pk(consumer_id), "KEY#", limit=1000)
    ]


def get_subscription(store: Store, consumer_id: str, sub_id: str) -> Subscription | None:
    return _load(Subscription, store.get(consumer_pk(consumer_id), f"SUB#{sub_id}"))


def list_subscriptions(store: Store, consumer_id: str) -> list[Subscription]:
    return _list(store, Subscription, consumer_pk(consumer_id), "SUB#")


def put_subscription_write(sub: Subscription, **cond: Any) -> Put:
    return Put(Item(consumer_pk(sub.consumer_id), f"SUB#{sub.id}", to_dict(sub)), **cond)


def delete_write(pk: str, sk: str) -> Delete:
    return Delete(pk, sk)


def save(store: Store, writes: Sequence[Write]) -> None:
    store.transact(list(writes))
