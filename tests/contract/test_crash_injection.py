"""Crash injection: every multi-step management write, cut after each of its steps, on
every store backend.

A step is one ``Store.transact`` (each is atomic within one partition). For every action
and every k, a store that dies after k successful transactions interrupts the action; then

* at the moment of the crash: a revoked key, a suspended consumer or a cancelled
  subscription is never admitted; a key is usable only once all of its parts exist;
* after ``changes.repair`` (run once the journal entry is older than REPAIR_AFTER): the
  journal is empty, and the action either happened completely WITH its audit entry or
  left no trace and no audit entry (docs/storage.md, "Convergence").
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher

from shared.core import keys as keymod
from shared.core.models import Consumer, Plan, Subscription, SubscriptionStatus
from shared.core.outcomes import Outcome
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory
from shared.gateway.identity import authenticate
from shared.management import (
    accounts,
    apikeys,
    audit,
    catalog,
    changes,
    consumers,
    plans,
    records,
    subscriptions,
)
from shared.management.entities import ADMIN_TOKEN_ACTOR as ADMIN
from shared.management.upstreams import UpstreamPolicy

PERMISSIVE = UpstreamPolicy(allow_private=True)

# Every backend of the contract suite but the HTTP one (the same store logic as dynamodb-moto,
# and several hundred sequential round trips per action through a serialised server).
SKIP = {"dynamodb-server"}


class Crash(BaseException):
    """Not an Exception: nothing in the services may catch it, as nothing catches SIGKILL."""


class CrashingStore:
    """Forwards to ``inner``; the transaction after the first ``allowed`` ones dies."""

    def __init__(self, inner: Any, allowed: int) -> None:
        self.inner, self.allowed, self.done = inner, allowed, 0
        self.capabilities = inner.capabilities

    def transact(self, writes: Any) -> None:
        if self.done >= self.allowed:
            raise Crash
        self.inner.transact(writes)
        self.done += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@dataclass
class World:
    store: Any
    clock: Any
    key: str = ""  # plaintext of con_a's active key
    key_id: str = ""

    def admitted(self, plaintext: str) -> bool:
        """Would a gateway with a cold cache accept this key for its consumer right now?"""
        d = Directory(self.store, self.clock, ttl=0)
        who = authenticate(GatewayRequest("GET", "/", headers=(("x-api-key", plaintext),)),
                           d, {}, self.clock)
        if who.outcome is not Outcome.OK:
            return False
        c = d.consumer(who.consumer_id)
        return c is not None and c.status.value == "active"

    def live_subscription(self, consumer_id: str) -> bool:
        return any(s.status is SubscriptionStatus.ACTIVE
                   for s in records.list_subscriptions(self.store, consumer_id))

    def key_audited(self, key_id: str) -> bool:
        """An entry names the key: as its target (create) or as the new key (rotate)."""
        entries, _ = audit.list_entries(self.store, audit.AuditFilter(action="key"),
                                        limit=100, after=None)
        return any(e.target_id == key_id or key_id in json.dumps(e.after) for e in entries)

    def audits(self, action: str, target_id: str | None = None) -> int:
        flt = audit.AuditFilter(action=action, target_id=target_id)
        entries, _ = audit.list_entries(self.store, flt, limit=100, after=None)
        return len(entries)


def seed(store: Any, clock: Any) -> World:
    free = Plan("free", "Free", apis=("*",), rate_per_minute=100)
    records.save_unaudited(store, [
        records.put_plan_write(free),
        records.put_consumer_write(Consumer("con_a", "A")),
        *records.subscription_writes(Subscription("sub_a", "con_a", "free")),
    ])
    w = World(store, clock)
    issued = apikeys.create(store, clock, ADMIN, "con_a", prefix="tw", cap=10, name="a")
    w.key, w.key_id = issued.plaintext, issued.record.id
    return w


# --- the actions: (run it, check the crash-time invariant, describe "done"/"absent") --------

@dataclass(frozen=True)
class Action:
    run: Callable[[Any, World], Any]
    audit: str
    done: Callable[[World, Any], bool]  # fully applied (given run's result, if any)
    absent: Callable[[World, Any], bool]  # no trace
    at_crash: Callable[[World], None] = lambda w: None  # the "never admitted" invariants


def _new_key_usable_only_when_complete(w: World) -> None:
    for k in records.list_keys(w.store, "con_a"):
        full = records.get_key_with_hash(w.store, "con_a", k.id)
        item = records.key_by_hash(w.store, full.key_hash) if full else None
        if item is not None:  # the lookup item exists: so must the listing and its audit
            assert full is not None
            assert w.key_audited(k.id), "a usable key without its audit entry"


def _revoked_never_admitted(w: World) -> None:
    listing = records.get_consumer_key(w.store, "con_a", w.key_id)
    if listing is not None and listing.state.value == "revoked":
        assert not w.admitted(w.key)


def _suspended_never_admitted(w: World) -> None:
    c = records.get_consumer(w.store, "con_a")
    if c is not None and c.status.value == "suspended":
        assert not w.admitted(w.key)


def _cancelled_never_admitted(w: World) -> None:
    ref = w.store.get(records.SUBSCRIPTION, "sub_a")
    if ref is not None and ref.data["status"] == "cancelled":
        assert not w.live_subscription("con_a")


HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _signup(store: Any, w: World) -> Any:
    return accounts.signup(store, w.clock, accounts.Passwords(HASHER), email="dev@example.com",
                           password="correct horse battery staple", name=None, client="1.2.3.4")


def _account_of(w: World) -> Any:
    return records.account_by_email(w.store, "dev@example.com")


def _key_ids(w: World) -> set[str]:
    return {k.id for k in records.list_keys(w.store, "con_a")}


ACTIONS: dict[str, Action] = {
    "signup": Action(
        _signup, "account.create",
        done=lambda w, _: _account_of(w) is not None
        and records.get_consumer(w.store, _account_of(w).consumer_id) is not None,
        absent=lambda w, _: w.store.get(records.email_pk("dev@example.com"), "ACCOUNT") is None,
    ),
    "key.create": Action(
        lambda s, w: apikeys.create(s, w.clock, ADMIN, "con_a", prefix="tw", cap=10, name="b"),
        "key.create",
        done=lambda w, _: len(_key_ids(w)) == 2 and all(
            w.admitted(p) for p in [w.key]) and _second_key_usable(w),
        absent=lambda w, _: _key_ids(w) == {w.key_id},
        at_crash=_new_key_usable_only_when_complete,
    ),
    "key.rotate": Action(
        lambda s, w: apikeys.rotate(s, w.clock, ADMIN, "con_a", w.key_id, prefix="tw", cap=10),
        "key.rotate",
        done=lambda w, _: len(_key_ids(w)) == 2 and _second_key_usable(w)
        and records.key_by_hash(w.store, keymod.hash_key(w.key)).expires_at is not None,
        absent=lambda w, _: _key_ids(w) == {w.key_id}
        and records.key_by_hash(w.store, keymod.hash_key(w.key)).expires_at is None,
        at_crash=_new_key_usable_only_when_complete,
    ),
    "key.revoke": Action(
        lambda s, w: apikeys.revoke(s, w.clock, ADMIN, "con_a", w.key_id),
        "key.revoke",
        done=lambda w, _: not w.admitted(w.key)
        and records.get_consumer_key(w.store, "con_a", w.key_id).state.value == "revoked",
        absent=lambda w, _: w.admitted(w.key),
        at_crash=_revoked_never_admitted,
    ),
    "consumer.suspend": Action(
        lambda s, w: consumers.suspend(s, w.clock, ADMIN, "con_a", "abuse"),
        "consumer.suspend",
        done=lambda w, _: not w.admitted(w.key),
        absent=lambda w, _: w.admitted(w.key),
        at_crash=_suspended_never_admitted,
    ),
    "subscription.cancel": Action(
        lambda s, w: subscriptions.cancel(s, w.clock, ADMIN, "con_a", "sub_a"),
        "subscription.cancel",
        done=lambda w, _: not w.live_subscription("con_a")
        and w.store.get(records.SUBSCRIPTION, "sub_a").data["status"] == "cancelled"
        and not records.plan_in_use(w.store, "free"),
        absent=lambda w, _: w.live_subscription("con_a")
        and records.plan_in_use(w.store, "free"),
        at_crash=_cancelled_never_admitted,
    ),
    "subscription.create": Action(
        lambda s, w: subscriptions.grant(s, w.clock, ADMIN, Consumer("con_a", "A"), "pro", {}),
        "subscription.create",
        done=lambda w, _: len(records.list_subscriptions(w.store, "con_a")) == 2
        and records.plan_in_use(w.store, "pro"),
        absent=lambda w, _: len(records.list_subscriptions(w.store, "con_a")) == 1
        and not records.plan_in_use(w.store, "pro"),
    ),
    # A change-plan request approved: the old subscription is cancelled in the same commit.
    "subscription.approve": Action(
        lambda s, w: subscriptions.approve(s, w.clock, ADMIN, "sub_p"),
        "subscription.approve",
        done=lambda w, _: _statuses(w) == {"sub_a": "cancelled", "sub_p": "active"}
        and records.plan_in_use(w.store, "partner") and not records.plan_in_use(w.store, "free")
        and w.audits("subscription.cancel", "sub_a") == 1,
        absent=lambda w, _: _statuses(w) == {"sub_a": "active", "sub_p": "pending"}
        and records.plan_in_use(w.store, "free")
        and w.audits("subscription.cancel", "sub_a") == 0,
        at_crash=lambda w: _one_active_plan(w),
    ),
    "plan.create": Action(
        lambda s, w: plans.create(s, w.clock, ADMIN, {"name": "Gold", "apis": ["*"]}),
        "plan.create",
        done=lambda w, p: records.get_plan(w.store, p.id) is not None,
        absent=lambda w, _: {p.id for p in records.list_plans(w.store)} == {"free", "pro"},
    ),
    "api.create": Action(
        lambda s, w: catalog.create(s, w.clock, ADMIN, {
            "name": "orders", "version": "v1", "base_path": "/orders/v1",
            "upstreams": [{"url": "http://127.0.0.1:9"}]}, PERMISSIVE),
        "api.create",
        done=lambda w, api: records.get_api(w.store, api.id) is not None
        and w.store.get(records.APIINDEX, records.api_path_sk("/orders/v1")) is not None,
        absent=lambda w, _: not records.list_apis(w.store)
        and w.store.get(records.APIINDEX, records.api_path_sk("/orders/v1")) is None,
    ),
}


def _second_key_usable(w: World) -> bool:
    # the new key's plaintext is not known after a crash; its lookup item is what counts
    for k in records.list_keys(w.store, "con_a"):
        if k.id != w.key_id:
            full = records.get_key_with_hash(w.store, "con_a", k.id)
            return full is not None and records.key_by_hash(w.store, full.key_hash) is not None
    return False


def _statuses(w: World) -> dict[str, str]:
    return {s.id: s.status.value for s in records.list_subscriptions(w.store, "con_a")}


def _one_active_plan(w: World) -> None:
    """Whatever the step, the consumer holds exactly one active plan for its APIs."""
    assert list(_statuses(w).values()).count("active") == 1, _statuses(w)


def _prepare(name: str, w: World) -> None:
    if name == "subscription.approve":
        partner = Plan("partner", "Partner", apis=("*",), requires_approval=True)
        records.save_unaudited(w.store, [
            records.put_plan_write(partner),
            *records.subscription_writes(
                Subscription("sub_p", "con_a", "partner", SubscriptionStatus.PENDING)),
        ])
    if name == "subscription.create":
        records.save_unaudited(w.store, [records.put_plan_write(Plan("pro", "Pro", apis=("*",)))])
    if name == "plan.create":
        records.save_unaudited(w.store, [records.put_plan_write(Plan("pro", "Pro", apis=("*",)))])


def _steps(backend: Any, clock: Any, tmp_path: Any, name: str) -> int:
    """How many transactions the uninterrupted action makes (and that it works)."""
    (tmp_path / "count").mkdir()
    with backend.make(clock, tmp_path / "count") as store:
        w = seed(store, clock)
        _prepare(name, w)
        counting = CrashingStore(store, 10_000)
        result = ACTIONS[name].run(counting, w)
        assert ACTIONS[name].done(w, result), "the uninterrupted action must complete"
        assert w.audits(ACTIONS[name].audit) >= 1
        return counting.done


# --- a fresh seeded store per step -------------------------------------------------------
# Seeding (seed + _prepare) is ~15 requests and, on moto, a new client per store: on the
# emulated backends that was half of each step. There, the seeded world is built once per
# test in a template store and each step gets a fresh store holding a copy of its items
# (every attribute as stored: ids, key hashes, versions, audit entries), made with the
# emulator's own bulk calls. The action, the crash and the repair still go through the
# adapter under test; memory and SQLite are seeded per step as before.


@contextmanager
def _moto_stores(clock: Any) -> Iterator[Callable[[str], AbstractContextManager[Any]]]:
    """One moto mock and client for the whole test (a client costs ~0.2 s); each store is a
    table of its own in it."""
    import boto3
    from botocore.config import Config
    from moto import mock_aws

    from shared.adapters.dynamodb import DynamoStore, create_table

    with mock_aws():
        client = boto3.session.Session().client(
            "dynamodb", region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        tables = itertools.count()

        @contextmanager
        def make(label: str = "") -> Iterator[Any]:
            table = f"tollway-contract-{next(tables)}"
            create_table(client, table)
            yield DynamoStore(table, client, clock)
            client.delete_table(TableName=table)

        try:
            yield make
        finally:
            client.close()


def _moto_copy(src: Any, dst: Any) -> None:
    """Every item of src's table into dst's: one scan, one batch write per 25 items."""
    client = src._given.client  # the botocore client both stores were given
    items: list[Any] = []
    for page in client.get_paginator("scan").paginate(TableName=src._table,
                                                      ConsistentRead=True):
        items += page["Items"]
    for i in range(0, len(items), 25):
        client.batch_write_item(RequestItems={dst._table: [
            {"PutRequest": {"Item": item}} for item in items[i:i + 25]]})


def _azure_copy(src: Any, dst: Any) -> None:
    """Every entity of src's table into dst's, typed as stored: one transaction per partition
    (and per 100 entities)."""
    by_partition: dict[str, list[Any]] = {}
    for entity in src._client.list_entities():
        by_partition.setdefault(entity["PartitionKey"], []).append(entity)
    for entities in by_partition.values():
        for i in range(0, len(entities), 100):
            dst._client.submit_transaction([("upsert", e, {"mode": "replace"})
                                            for e in entities[i:i + 100]])


COPY = {"dynamodb-moto": _moto_copy, "azure-tables": _azure_copy}


@contextmanager
def _seeded(backend: Any, clock: Any, tmp_path: Any, name: str
            ) -> Iterator[Callable[[int], AbstractContextManager[World]]]:
    """``fresh(k)``: a new store holding the action's seeded world, for step k."""
    copy = COPY.get(backend.NAME)
    with ExitStack() as stack:
        if backend.NAME == "dynamodb-moto":
            make = stack.enter_context(_moto_stores(clock))
        else:
            def make(label: str = "template") -> AbstractContextManager[Any]:
                (tmp_path / label).mkdir()
                return backend.make(clock, tmp_path / label)
        template: World | None = None
        if copy is not None:
            template = seed(stack.enter_context(make()), clock)
            _prepare(name, template)

        @contextmanager
        def fresh(k: int) -> Iterator[World]:
            with make(f"k{k}") as store:
                if template is None:
                    w = seed(store, clock)
                    _prepare(name, w)
                else:
                    copy(template.store, store)
                    w = World(store, clock, template.key, template.key_id)
                yield w

        yield fresh


@pytest.mark.parametrize("name", list(ACTIONS))
def test_an_action_cut_after_any_step_is_safe_and_converges(backend, clock, tmp_path, name):
    if backend.NAME in SKIP:
        pytest.skip(f"{backend.NAME}: same adapter as dynamodb-moto (see SKIP)")
    action = ACTIONS[name]
    total = _steps(backend, clock, tmp_path, name)
    assert total >= 3  # journal, primary, follow-ups: it really is multi-step
    with _seeded(backend, clock, tmp_path, name) as fresh:
        for k in range(total):
            with fresh(k) as w:
                store = w.store
                audits_before = w.audits(action.audit)
                result = None
                with pytest.raises(Crash):
                    result = action.run(CrashingStore(store, k), w)
                # THEN at the moment of the crash, nothing that should be denied is admitted
                action.at_crash(w)
                # WHEN the repair runs once the interrupted change is old enough
                clock.advance(changes.REPAIR_AFTER + 1)
                changes.repair(store, clock)
                # THEN it converged: complete with its audit entry, or no trace and no entry
                assert changes.pending(store) == 0, f"step {k}: journal not empty"
                audited = w.audits(action.audit) - audits_before
                if audited:
                    assert audited == 1, f"step {k}: audited twice"
                    assert _done(action, w, result), f"step {k}: audited but not complete"
                else:
                    assert action.absent(w, result), f"step {k}: an effect without its audit entry"
                action.at_crash(w)


def _done(action: Action, w: World, result: Any) -> bool:
    if result is not None:
        return action.done(w, result)
    # the crashed call returned nothing: find what it made from the store
    if action.audit == "plan.create":
        return any(p.name == "Gold" for p in records.list_plans(w.store))
    if action.audit == "api.create":
        apis = records.list_apis(w.store)
        return len(apis) == 1 and action.done(w, apis[0])
    return action.done(w, None)


def test_repair_leaves_a_young_change_alone(backend, clock, tmp_path):
    """A change in flight (younger than REPAIR_AFTER) is not the repair's to finish."""
    if backend.NAME in SKIP:
        pytest.skip(f"{backend.NAME}: same adapter as dynamodb-moto (see SKIP)")
    w = seed(backend_store := _enter(backend, clock, tmp_path), clock)
    try:
        with pytest.raises(Crash):
            consumers.suspend(CrashingStore(backend_store, 1), clock, ADMIN, "con_a", "x")
        assert changes.repair(backend_store, clock) == 0
        assert changes.pending(backend_store) == 1
        clock.advance(changes.REPAIR_AFTER + 1)
        assert changes.repair(backend_store, clock) == 1
        # the primary never committed (crash after the journal): nothing happened
        assert w.admitted(w.key) and w.audits("consumer.suspend") == 0
    finally:
        _exit()


def test_a_late_primary_cannot_commit_after_the_repair_gave_it_up(backend, clock, tmp_path):
    if backend.NAME in SKIP:
        pytest.skip(f"{backend.NAME}: same adapter as dynamodb-moto (see SKIP)")
    store = _enter(backend, clock, tmp_path)
    try:
        w = seed(store, clock)
        found = records.get_versioned(store, Consumer, records.CONSUMER, "con_a")
        assert found is not None
        suspended = dataclasses.replace(found[0], status=found[0].status.__class__("suspended"))
        change = changes.Change([records.put_consumer_write(suspended, if_version=found[1])])
        # a request writes its journal entry, then stalls past REPAIR_AFTER …
        real_transact = store.transact
        stalled: list[Any] = []

        def journal_then_stall(writes: Any) -> None:
            if not stalled:
                stalled.append(writes)
                real_transact(writes)
                clock.advance(changes.REPAIR_AFTER + 1)
                changes.repair(store, clock)  # … and the repair gives the change up
                return
            real_transact(writes)

        with pytest.raises(Exception) as failed:
            changes.apply(_Proxy(store, journal_then_stall), clock, change)
        assert type(failed.value).__name__ == "ConditionFailed"
        assert w.admitted(w.key) and changes.pending(store) == 0
    finally:
        _exit()


class _Proxy:
    def __init__(self, inner: Any, transact: Callable[[Any], None]) -> None:
        self._inner, self.transact = inner, transact

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


_open: list[Any] = []


def _enter(backend: Any, clock: Any, tmp_path: Any) -> Any:
    cm = backend.make(clock, tmp_path)
    _open.append(cm)
    return cm.__enter__()


def _exit() -> None:
    _open.pop().__exit__(None, None, None)
