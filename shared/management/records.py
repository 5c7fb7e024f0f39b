"""Where each record lives in the single-table layout (docs/storage.md), and typed access.

Every service reads and writes entities through these functions, so the layout is defined
once. Collections that must be listed live in one partition per type (``PLAN``, ``API``,
``CONSUMER``); a consumer's keys and subscriptions live in ``CONSUMER#<id>``; the gateway's
hot lookup (key by hash) has its own partition per key so it never becomes a hot spot.

Management records (the gateway never reads them)::

    pk                        sk                          data
    ACCOUNT                   <account id>                Account (developer log-in)
    EMAIL#<email>             ACCOUNT                     {account_id}: one account per email
    CONSUMER#<id>             KEYREF#<key id>             {key_hash}: lets management rewrite a
                                                          key's hash item; never listed
    SUBSCRIPTION              <subscription id>           {consumer_id, plan_id, status}: find a
                                                          subscription by id; pending approvals
    PLAN#<plan id>            SUB#<subscription id>       {consumer_id}: the plan's live (active or
                                                          pending) subscriptions = "in use"
    APIINDEX                  NAME#<name>#<version>       {api_id}: one API per name and version
    APIINDEX                  PATH#<base path>            {api_id}: one API per base path
    APIDOC#<api id>           META / PART#<nnnn>          the API's OpenAPI document as JSON text
                                                          in chunks (fits every backend's item)
    AUDIT                     <epoch %020.6f>#<entry id>  AuditEntry, read newest first

    SESSION#<session id>      REVOKED                     {}: a logged-out session, expiring with
                                                          the session itself
    AUTHTOKEN#<sha256>        TOKEN                       AuthToken: an e-mailed verification or
                                                          reset link (``account_tokens``)

Rate-limit buckets (``Store.hit``): ``LOGIN#<email>``, ``LOGINIP#<ip>``, ``SIGNUP#<ip>``,
``VERIFYMAIL#<account id>``, ``RESET#<email>``, ``RESETIP#<ip>``.
Writes that belong to one action are returned as lists, split by partition: what an action
commits atomically (its primary partition) and what follows (``changes.Change``).
Sort keys starting with ``~`` are bookkeeping (``changes``): listings skip them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from shared.core.models import (
    Api,
    Consumer,
    KeyRecord,
    Plan,
    Subscription,
    SubscriptionStatus,
    from_dict,
    to_dict,
)
from shared.management.entities import Account, AuditEntry
from shared.ports import Delete, Item, Put, Store, Write

T = TypeVar("T")

PLAN, API, CONSUMER = "PLAN", "API", "CONSUMER"
ACCOUNT, SUBSCRIPTION, APIINDEX, AUDIT = "ACCOUNT", "SUBSCRIPTION", "APIINDEX", "AUDIT"
DOC_CHUNK = 30_000  # characters per OpenAPI document chunk (Azure Tables: 64 KiB/property)


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
        out.extend(from_dict(cls, dict(i.data)) for i in page if not i.sk.startswith("~"))
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


def key_listing_writes(key: KeyRecord, *, new: bool = False) -> list[Write]:
    """The consumer's listing entry of a key (no hash, so listing never exposes one) and
    the reference management uses to find the lookup item (rotate, revoke)."""
    listing = {k: v for k, v in to_dict(key).items() if k != "key_hash"}
    cond: dict[str, Any] = {"if_absent": True} if new else {}
    ref = {"key_hash": key.key_hash}
    return [
        Put(Item(consumer_pk(key.consumer_id), f"KEY#{key.id}", listing), **cond),
        Put(Item(consumer_pk(key.consumer_id), f"KEYREF#{key.id}", ref), **cond),
    ]


def key_hash_write(key: KeyRecord, **cond: Any) -> Put:
    """The gateway's lookup item: the only one that makes a key usable."""
    return Put(Item(keyhash_pk(key.key_hash), "KEY", to_dict(key), expires_at=key.expires_at),
               **cond)


def key_writes(key: KeyRecord, *, new: bool = False) -> list[Write]:
    """Every item of a key, listing first and lookup last (seed data: ``save_unaudited``)."""
    cond: dict[str, Any] = {"if_absent": True} if new else {}
    return [*key_listing_writes(key, new=new), key_hash_write(key, **cond)]


def key_hash_version(store: Store, key_hash: str) -> int | None:
    item = store.get(keyhash_pk(key_hash), "KEY")
    return None if item is None else item.version


def key_cap_guard(store: Store, consumer_id: str) -> Put:
    """Rewritten by every key action of a consumer under its version: concurrent creations
    serialise on it, so the per-consumer cap holds under races."""
    item = store.get(consumer_pk(consumer_id), "KEYCAP")
    fresh = Item(consumer_pk(consumer_id), "KEYCAP", {})
    return Put(fresh, if_absent=True) if item is None else Put(fresh, if_version=item.version)


def get_key_with_hash(store: Store, consumer_id: str, key_id: str) -> KeyRecord | None:
    """The whole record, hash included: for rewriting a key, never for showing one."""
    listing = store.get(consumer_pk(consumer_id), f"KEY#{key_id}")
    ref = store.get(consumer_pk(consumer_id), f"KEYREF#{key_id}")
    if listing is None or ref is None:
        return None
    return from_dict(KeyRecord, {**listing.data, "key_hash": ref.data["key_hash"]})


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


def save_unaudited(store: Store, writes: Sequence[Write]) -> None:
    """Write ``writes`` partition by partition, in order (seed data, never an action of a
    user: it is not audited and an interruption is mended by running it again)."""
    batch: list[Write] = []
    for w in writes:
        pk = w.item.pk if isinstance(w, Put) else w.pk
        if batch and (pk != (batch[0].item.pk if isinstance(batch[0], Put) else batch[0].pk)):
            store.transact(batch)
            batch = []
        batch.append(w)
    if batch:
        store.transact(batch)


# --- versions and pages ---------------------------------------------------------------------


def get_versioned(store: Store, cls: type[T], pk: str, sk: str) -> tuple[T, int] | None:
    """The record and the item version, for a conditional rewrite (``if_version``)."""
    item = store.get(pk, sk)
    return None if item is None else (from_dict(cls, dict(item.data)), item.version)


def page(
    store: Store,
    pk: str,
    prefix: str = "",
    *,
    limit: int,
    after: str | None = None,
    keep: Callable[[Item], bool] | None = None,
    descending: bool = False,
) -> tuple[list[Item], str | None]:
    """Up to ``limit`` items (those ``keep`` accepts) and the sort key to continue after,
    or None when there is nothing more."""
    out: list[Item] = []
    cursor = after
    batch_size = max(limit + 1, 50)
    while True:
        batch = store.query(pk, prefix, limit=batch_size, after=cursor, descending=descending)
        for item in batch:
            if item.sk.startswith("~") or (keep is not None and not keep(item)):
                continue
            if len(out) == limit:
                return out, out[-1].sk
            out.append(item)
        if len(batch) < batch_size:
            return out, None
        cursor = batch[-1].sk


def load_all(cls: type[T], items: Sequence[Item], **defaults: Any) -> list[T]:
    return [from_dict(cls, {**defaults, **i.data}) for i in items]


# --- accounts -------------------------------------------------------------------------------


def email_pk(email: str) -> str:
    return f"EMAIL#{email}"


def get_account(store: Store, account_id: str) -> Account | None:
    return _load(Account, store.get(ACCOUNT, account_id))


def account_by_email(store: Store, email: str) -> Account | None:
    ref = store.get(email_pk(email), "ACCOUNT")
    return None if ref is None else get_account(store, str(ref.data["account_id"]))


def email_claim_write(account: Account) -> Put:
    """One account per e-mail: the claim fails if the address is taken."""
    return Put(Item(email_pk(account.email), "ACCOUNT", {"account_id": account.id}),
               if_absent=True)


def put_account_write(account: Account, **cond: Any) -> Put:
    return Put(Item(ACCOUNT, account.id, to_dict(account)), **cond)


def session_pk(session_id: str) -> str:
    return f"SESSION#{session_id}"


def revoke_session_write(session_id: str, expires_at: float) -> Put:
    """One partition per session: a log-out never contends with anything else."""
    return Put(Item(session_pk(session_id), "REVOKED", {}, expires_at=expires_at))


def session_revoked(store: Store, session_id: str) -> bool:
    return store.get(session_pk(session_id), "REVOKED") is not None


def authtoken_pk(token_hash: str) -> str:
    """An e-mailed token, found by the SHA-256 of its plaintext (never stored)."""
    return f"AUTHTOKEN#{token_hash}"


# --- subscriptions: indexes by id and by plan -----------------------------------------------


def plan_subs_pk(plan_id: str) -> str:
    return f"PLAN#{plan_id}"


def plan_claim_sk(plan_id: str) -> str:
    return f"PLANSUB#{plan_id}"


def subscription_primary(
    sub: Subscription, previous: Subscription | None = None, version: int | None = None
) -> list[Write]:
    """In the consumer's partition: the subscription (what the gateway reads) and its claim
    on the plan (one live subscription per consumer and plan), changed atomically."""
    pk = consumer_pk(sub.consumer_id)
    live = sub.status is not SubscriptionStatus.CANCELLED
    cond: dict[str, Any] = {"if_absent": True} if previous is None else {"if_version": version}
    writes: list[Write] = [put_subscription_write(sub, **cond)]
    was_live = previous is not None and previous.status is not SubscriptionStatus.CANCELLED
    moved = previous is not None and previous.plan_id != sub.plan_id
    claim = Item(pk, plan_claim_sk(sub.plan_id), {"subscription_id": sub.id})
    if previous is not None and was_live and (moved or not live):
        writes.append(Delete(pk, plan_claim_sk(previous.plan_id)))
    if live and (previous is None or moved or not was_live):
        writes.append(Put(claim, if_absent=True))
    return writes


def subscription_writes(sub: Subscription) -> list[Write]:
    """A new subscription whole (seed data: ``save_unaudited``)."""
    return [*subscription_primary(sub), *subscription_indexes(sub)]


def subscription_indexes(sub: Subscription, previous: Subscription | None = None) -> list[Write]:
    """The follow-ups: the lookup by id (pending approvals) and the plan's "in use" index.
    Each item belongs to this subscription alone, so replaying them late is harmless."""
    live = sub.status is not SubscriptionStatus.CANCELLED
    ref = {"consumer_id": sub.consumer_id, "plan_id": sub.plan_id, "status": sub.status.value}
    writes: list[Write] = [Put(Item(SUBSCRIPTION, sub.id, ref))]
    if previous is not None and previous.plan_id != sub.plan_id:
        writes.append(Delete(plan_subs_pk(previous.plan_id), f"SUB#{sub.id}"))
    if live:
        by_plan = {"consumer_id": sub.consumer_id}
        writes.append(Put(Item(plan_subs_pk(sub.plan_id), f"SUB#{sub.id}", by_plan)))
    else:
        writes.append(Delete(plan_subs_pk(sub.plan_id), f"SUB#{sub.id}"))
    return writes


def subscription_owner(store: Store, sub_id: str) -> str | None:
    """The consumer id of a subscription, found by its id alone."""
    ref = store.get(SUBSCRIPTION, sub_id)
    return None if ref is None else str(ref.data["consumer_id"])


def plan_in_use(store: Store, plan_id: str) -> bool:
    return bool(store.query(plan_subs_pk(plan_id), "SUB#", limit=1))


# --- catalog indexes and OpenAPI documents --------------------------------------------------


def api_name_sk(name: str, version: str) -> str:
    return f"NAME#{name}#{version}"


def api_path_sk(base_path: str) -> str:
    return f"PATH#{base_path}"


def api_claim_writes(api: Api) -> list[Write]:
    """The API's uniqueness entries (name + version, base path), in one partition: claimed
    together or not at all."""
    ref = {"api_id": api.id}
    return [
        Put(Item(APIINDEX, api_name_sk(api.name, api.version), ref), if_absent=True),
        Put(Item(APIINDEX, api_path_sk(api.base_path), ref), if_absent=True),
    ]


def api_path_move_writes(api: Api, previous: Api) -> list[Write]:
    return [
        Put(Item(APIINDEX, api_path_sk(api.base_path), {"api_id": api.id}), if_absent=True),
        Delete(APIINDEX, api_path_sk(previous.base_path)),
    ]


def api_names(store: Store) -> set[str]:
    """Every API name in the catalog (read from the APIs themselves, seeded ones included)."""
    return {a.name for a in list_apis(store)}


def apidoc_pk(api_id: str) -> str:
    return f"APIDOC#{api_id}"


def doc_meta(store: Store, api_id: str) -> dict[str, Any] | None:
    item = store.get(apidoc_pk(api_id), "META")
    return None if item is None else dict(item.data)


def read_doc(store: Store, api_id: str) -> str | None:
    """The document's JSON text, or None. Chunks are checked against the digest in META, so
    a read racing a rewrite is retried rather than stitched from two versions."""
    for _ in range(3):
        meta = doc_meta(store, api_id)
        if meta is None:
            return None
        parts = store.query(apidoc_pk(api_id), "PART#", limit=int(meta["parts"]))
        text = "".join(str(p.data["text"]) for p in parts)
        if hashlib.sha256(text.encode()).hexdigest() == meta["sha256"]:
            return text
    return None


def doc_writes(api_id: str, text: str, meta: dict[str, Any], old_parts: int) -> list[Write]:
    """Replace the document: new chunks, stale chunks deleted, META last."""
    chunks = [text[i : i + DOC_CHUNK] for i in range(0, len(text), DOC_CHUNK)] or [""]
    pk = apidoc_pk(api_id)
    writes: list[Write] = [
        Put(Item(pk, f"PART#{n:04d}", {"text": chunk})) for n, chunk in enumerate(chunks)
    ]
    writes += [Delete(pk, f"PART#{n:04d}") for n in range(len(chunks), old_parts)]
    digest = hashlib.sha256(text.encode()).hexdigest()
    writes.append(Put(Item(pk, "META", {**meta, "parts": len(chunks), "sha256": digest})))
    return writes


def doc_delete_writes(api_id: str, parts: int) -> list[Write]:
    pk = apidoc_pk(api_id)
    writes: list[Write] = [Delete(pk, f"PART#{n:04d}") for n in range(parts)]
    return [*writes, Delete(pk, "META")]


# --- audit ----------------------------------------------------------------------------------


def audit_write(entry: AuditEntry) -> Put:
    """``if_absent``: a replayed audit step never writes the entry twice."""
    return Put(Item(AUDIT, f"{entry.at:020.6f}#{entry.id}", to_dict(entry)), if_absent=True)
