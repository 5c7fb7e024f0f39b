"""DynamoDB store: the single-table layout of docs/storage.md on one table.

Items: ``pk`` (S, hash key), ``sk`` (S, range key), ``data`` (M), ``v`` (N, version),
``exp`` (N, epoch float, only when the item expires) and ``ttl`` (N, ``ceil(exp)``, the
table's TTL attribute). ``data`` is a native map, not JSON text, because ``Increment`` adds
to a field in place (``SET data.f = if_not_exists(data.f, 0) + d``), which a string cannot
do. Numbers come back as ``int`` when integral, ``float`` otherwise.

Expiry is checked against the injected clock on every read and inside every condition,
because DynamoDB's TTL sweeper is lazy (items linger for up to ~48h): an expired item counts
as absent. Two writes depend on that: an unconditional Put over an expired item and an
Increment of a missing or expired one restart at version 1. Each is sent in the form that
fits the likely case, guarded by a condition stating that *assumption*; if the assumption
fails it is re-sent in the other form. A failing condition the caller asked for is
``ConditionFailed``. One write is one PutItem/UpdateItem/DeleteItem; more are one
TransactWriteItems with a ``ClientRequestToken`` (SDK retries of it are idempotent).

Rate-limit counters of bucket ``b`` live on item ``RL#b``/``RL``: counter ``n`` is attribute
``c:n`` (N) and its expiry ``e:n`` (N). ``hit`` is one UpdateItem: ``ADD`` the cost to each
slot on condition that it stays within its ceiling (a counter known to be expired is ``SET``
instead), guards only in the condition, ``REMOVE`` the counters this process saw in the
bucket's previous answer that this hit does not name (old windows do not pile up), ``SET
ttl``. ``ReturnValues=ALL_NEW`` answers an admitted hit and
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` a denied one: one round trip either way
(moto supports it; with an emulator that does not, a denial costs one consistent GetItem).

The wire: without a client, the store sends its calls with
:class:`~shared.adapters.dynamodb_http.DynamoHttpClient` (DynamoDB's JSON protocol, SigV4,
no botocore: a fraction of botocore's CPU per call and of its cold start). A botocore
client can be given instead (tests on in-process moto); both raise the same errors here.

Retries: at most ``max_attempts`` tries per call (the first one included) with one-second
timeouts and pauses of tens of milliseconds: never minutes on the request path. A ``hit``
retried after a read timeout may count twice, which denies early rather than admitting
too much. Every failed call leaves as ``StoreUnavailable``.

Transaction conflicts (``TransactionConflict``: another transaction held one of the items,
e.g. two metering batches adding to one hot hourly aggregate) are retried after a jittered,
exponentially growing pause (full jitter, :data:`_CONFLICT_BACKOFF`), at most ``_ROUNDS``
tries in all (under 1.2 s of pauses), then ``StoreUnavailable``: the caller redelivers.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from shared.adapters.attempts import full_jitter
from shared.adapters.dynamodb_http import (
    BotocoreClient,
    DynamoError,
    DynamoHttpClient,
    ServiceError,
)
from shared.core.clock import Clock, SystemClock
from shared.core.ratelimit import Guard, HitResult, Slot
from shared.ports import (
    ConditionFailed,
    Delete,
    Item,
    Put,
    StoreUnavailable,
    Write,
    check_batch,
    check_limit,
)

AV = dict[str, Any]  # one low-level AttributeValue, e.g. {"N": "3"}
_ROUNDS = 6  # "our assumption failed, switch form" rounds before giving up
#: (first ceiling, largest ceiling) in seconds of the pause after a transaction conflict.
_CONFLICT_BACKOFF = (0.025, 0.4)
_BUCKETS_REMEMBERED = 4096


def make_client(
    *, max_attempts: int = 2, connect_timeout: float = 1.0, read_timeout: float = 1.0, **kw: Any
) -> Any:
    """A botocore low-level client (table set-up, tools) making at most ``max_attempts``
    tries per call (first included) with short timeouts; ``kw`` goes to ``client()``
    (endpoint_url, region_name, ...). The store's own calls go through
    :class:`~shared.adapters.dynamodb_http.DynamoHttpClient` instead."""
    import botocore.session
    from botocore.config import Config

    config = Config(
        # total_max_attempts counts the first try; plain "max_attempts" would mean retries.
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        # This adapter builds every request itself (the contract suite covers each
        # shape) and DynamoDB validates them anyway: botocore's client-side walk over the
        # parameters is CPU on every request for nothing (seen in a warm router profile).
        parameter_validation=False,
    )
    # botocore directly: boto3 would add its resource layer and s3transfer (~100 ms of
    # cold start) for nothing this adapter uses.
    return botocore.session.get_session().create_client("dynamodb", config=config, **kw)


def create_table(client: Any, table_name: str) -> None:
    """Create the table (on demand, ``pk``/``sk`` strings, TTL on ``ttl``) unless it exists;
    ``client`` is a botocore client (:func:`make_client`)."""
    from botocore.exceptions import ClientError

    keys = (("pk", "HASH"), ("sk", "RANGE"))
    try:
        client.create_table(
            TableName=table_name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": a, "KeyType": t} for a, t in keys],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a, _ in keys],
        )
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":
            raise
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
        )


def _enc(value: Any) -> AV:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(int(value))}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a JSON number: {value}")
        return {"N": repr(float(value))}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): _enc(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [_enc(v) for v in value]}
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def _num(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _dec(av: AV) -> Any:
    ((kind, value),) = av.items()
    if kind == "N":
        return _num(value)
    if kind == "M":
        return {k: _dec(v) for k, v in value.items()}
    if kind == "L":
        return [_dec(v) for v in value]
    return None if kind == "NULL" else value  # S, BOOL


def _key(pk: str, sk: str) -> dict[str, AV]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class _Expr:
    """Placeholders for one request, made on use: DynamoDB rejects unused ones."""

    def __init__(self, now: float) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, AV] = {}
        self._now, self._now_at = "", now

    def n(self, attr: str) -> str:
        return self.names.setdefault(attr, f"#n{len(self.names)}")

    def v(self, value: Any) -> str:
        self.values[name := f":v{len(self.values)}"] = _enc(value)
        return name

    def now(self) -> str:
        self._now = self._now or self.v(self._now_at)
        return self._now

    def live(self) -> str:  # no item, or an item that has not expired
        return f"(attribute_not_exists({self.n('exp')}) OR {self.n('exp')} > {self.now()})"

    def gone(self) -> str:  # no item, or an expired one the sweeper has not removed yet
        return f"(attribute_not_exists({self.n('pk')}) OR {self.n('exp')} <= {self.now()})"

    def exists(self) -> str:
        return f"attribute_exists({self.n('pk')})"

    def expiry(self, exp: float | None) -> str:
        if exp is None:
            return ""
        x, t = self.n("exp"), self.n("ttl")
        return f", {x} = {self.v(float(exp))}, {t} = {self.v(math.ceil(exp))}"

    def params(self, **expressions: str) -> dict[str, Any]:
        out: dict[str, Any] = {k: e for k, e in expressions.items() if e}
        if self.names:
            out["ExpressionAttributeNames"] = {p: a for a, p in self.names.items()}
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


def _attrs(pk: str, sk: str, data: Mapping[str, Any], version: int, exp: float | None) -> AV:
    out = {**_key(pk, sk), "data": _enc(dict(data)), "v": _enc(version)}
    if exp is not None:
        out.update(exp=_enc(float(exp)), ttl=_enc(math.ceil(exp)))
    return out


def _counters(raw: AV | None) -> dict[str, tuple[int, float]]:
    """Counter name -> (count, expiry) on a rate-limit item."""
    if not raw:
        return {}
    return {
        a[2:]: (int(av["N"]), float(raw.get("e:" + a[2:], {"N": "inf"})["N"]))
        for a, av in raw.items()
        if a.startswith("c:")
    }


class _Op(NamedTuple):
    kind: str  # Put | Update | Delete, as TransactWriteItems names them
    params: dict[str, Any]
    assumed: bool = False  # the condition is our assumption about the item, not the caller's


class _Refused(Exception):
    """Conditions failed at ``failed`` indexes; ``item``: the old item, if the backend sent it."""

    def __init__(self, failed: list[int], item: AV | None = None) -> None:
        super().__init__(failed)
        self.failed, self.item = failed, item


def _cancelled(e: ServiceError) -> _Refused | None:
    """The failed conditions of a cancelled transaction; None when it failed for another
    reason (throttling, validation) that only the backend can fix."""
    if (reasons := e.response.get("CancellationReasons")) is not None:
        codes = [r.get("Code") or "None" for r in reasons]
    else:  # some emulators only list them in the message: "... reasons [None, ...]"
        found = re.search(r"\[(.*)\]", e.response.get("Error", {}).get("Message", ""))
        codes = [c.strip() for c in found.group(1).split(",")] if found else ["?"]
    if any(c not in ("None", "ConditionalCheckFailed", "TransactionConflict") for c in codes):
        return None
    return _Refused([i for i, c in enumerate(codes) if c == "ConditionalCheckFailed"])


class DynamoStore:
    capabilities = frozenset({"ttl"})

    def __init__(
        self,
        table_name: str,
        client: Any = None,
        clock: Clock | None = None,
        *,
        max_attempts: int = 2,
        connect_timeout: float = 1.0,
        read_timeout: float = 1.0,
        endpoint_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._sleep = sleep  # the pause after a transaction conflict (tests record it)
        self._owned = client is None
        # Without a client, one is built on first use (reading the environment's region and
        # credentials), so a function that never reaches the store pays nothing for it.
        self._given: Any = (
            client
            if client is None or isinstance(client, DynamoHttpClient)
            else BotocoreClient(client)
        )
        self._client_kw: dict[str, Any] = {
            "max_attempts": max_attempts,
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        if endpoint_url:
            self._client_kw["endpoint_url"] = endpoint_url
        self._client_lock = threading.Lock()
        self._clock = clock or SystemClock()
        self._seen: dict[str, dict[str, float]] = {}  # bucket -> counter -> expiry, last answer
        self._lock = threading.Lock()

    @property
    def _client(self) -> Any:
        if self._given is None:
            with self._client_lock:
                if self._given is None:
                    self._given = DynamoHttpClient(**self._client_kw)
        return self._given

    def close(self) -> None:
        if self._owned and self._given is not None:
            self._given.close()

    def _call(self, op: str, **kw: Any) -> dict[str, Any]:
        if op != "transact_write_items":
            kw["TableName"] = self._table
        try:
            answer: dict[str, Any] = getattr(self._client, op)(**kw)
            return answer
        except ServiceError as e:
            code = e.code
            if code == "ConditionalCheckFailedException":
                raise _Refused([0], e.response.get("Item")) from None
            if code == "TransactionCanceledException" and (refused := _cancelled(e)):
                raise refused from None
            raise StoreUnavailable(f"DynamoDB {op}: {code or e}") from e
        except DynamoError as e:
            raise StoreUnavailable(f"DynamoDB {op}: {e}") from e

    def _raw(self, pk: str, sk: str) -> AV | None:
        item: AV | None = self._call("get_item", Key=_key(pk, sk), ConsistentRead=True).get("Item")
        return item

    @staticmethod
    def _item(raw: AV | None, now: float) -> Item | None:
        if raw is None:
            return None
        exp = float(raw["exp"]["N"]) if "exp" in raw else None
        if exp is not None and exp <= now:
            return None
        data = _dec(raw["data"]) if "data" in raw else {}
        return Item(raw["pk"]["S"], raw["sk"]["S"], data, int(raw.get("v", {"N": 0})["N"]), exp)

    def get(self, pk: str, sk: str) -> Item | None:
        now = self._clock.now()
        return self._item(self._raw(pk, sk), now)

    def query(
        self,
        pk: str,
        prefix: str = "",
        *,
        limit: int = 100,
        after: str | None = None,
        descending: bool = False,
    ) -> list[Item]:
        check_limit(limit)
        if after == "":  # keys cannot be empty in DynamoDB; "" sorts before every key
            if descending:
                return []
            after = None
        if after is not None and not after.startswith(prefix):
            # DynamoDB rejects a start key outside the key condition, so decide here:
            if (after < prefix) == descending:
                return []  # every matching key lies before `after` in reading order
            after = None  # every matching key lies after it
        now = self._clock.now()
        e = _Expr(now)
        cond = f"{e.n('pk')} = {e.v(pk)}"
        if prefix:
            cond += f" AND begins_with({e.n('sk')}, {e.v(prefix)})"
        start = _key(pk, after) if after is not None else None
        out: list[Item] = []
        while len(out) < limit:
            page = self._call(
                "query",
                ScanIndexForward=not descending,
                ConsistentRead=True,
                Limit=limit - len(out),
                **e.params(KeyConditionExpression=cond),
                **({"ExclusiveStartKey": start} if start else {}),
            )
            out += [i for raw in page.get("Items", []) if (i := self._item(raw, now))]
            if not (start := page.get("LastEvaluatedKey")):
                break
        return out[:limit]

    # --- writes ------------------------------------------------------------------------

    def transact(self, writes: Sequence[Write]) -> None:
        check_batch(writes)
        flips = [False] * len(writes)
        conflicts = 0
        for _ in range(_ROUNDS):
            ops = [
                self._op(w, flip, self._clock.now()) for w, flip in zip(writes, flips, strict=True)
            ]
            try:
                if len(ops) == 1:
                    verb = {"Put": "put_item", "Update": "update_item", "Delete": "delete_item"}
                    self._call(verb[ops[0].kind], **ops[0].params)
                else:
                    items = [{op.kind: {"TableName": self._table, **op.params}} for op in ops]
                    token = uuid.uuid4().hex  # SDK retries of this attempt are idempotent
                    self._call(
                        "transact_write_items", TransactItems=items, ClientRequestToken=token
                    )
                return
            except _Refused as refused:
                if theirs := [i for i in refused.failed if not ops[i].assumed]:
                    raise ConditionFailed(theirs[0]) from None
                for i in refused.failed:  # the item was not as we assumed: other form
                    flips[i] = not flips[i]
                if not refused.failed:  # a conflict with another transaction: back off
                    self._sleep(full_jitter(conflicts, *_CONFLICT_BACKOFF))
                    conflicts += 1
        raise StoreUnavailable("items kept changing under concurrent writers")

    def _op(self, w: Write, flip: bool, now: float) -> _Op:
        e = _Expr(now)
        if isinstance(w, Delete):
            conds = [e.exists()] if w.must_exist else []
            if w.if_version is not None:
                conds.append(f"{e.n('v')} = {e.v(w.if_version)}")
            cond = " AND ".join([*conds, e.live()]) if conds else ""
            return _Op("Delete", {"Key": _key(w.pk, w.sk), **e.params(ConditionExpression=cond)})
        if isinstance(w, Put):
            it = w.item
            if w.if_absent or w.if_version is not None or flip:  # write whole, version known
                conds = [e.gone()] if w.if_absent or flip else []
                if w.if_version is not None:
                    conds.append(f"{e.n('v')} = {e.v(w.if_version)} AND {e.live()}")
                version = 1 if w.if_version is None else w.if_version + 1
                attrs = _attrs(it.pk, it.sk, it.data, version, it.expires_at)
                cond = " AND ".join(conds)
                return _Op("Put", {"Item": attrs, **e.params(ConditionExpression=cond)}, flip)
            # Over a live item or none: the store counts the version up. Expired: flip.
            d, v = e.n("data"), e.n("v")
            update = f"SET {d} = {e.v(dict(it.data))}, {v} = if_not_exists({v}, {e.v(0)}) + "
            update += e.v(1) + e.expiry(it.expires_at)
            if it.expires_at is None:
                update += f" REMOVE {e.n('exp')}, {e.n('ttl')}"
            params = e.params(UpdateExpression=update, ConditionExpression=e.live())
            return _Op("Update", {"Key": _key(it.pk, it.sk), **params}, assumed=True)
        deltas = {f: n for f, n in w.deltas.items() if f not in w.fields}
        if flip:  # missing or expired: a first write, from zero
            attrs = _attrs(w.pk, w.sk, {**deltas, **w.fields}, 1, w.expires_at)
            return _Op("Put", {"Item": attrs, **e.params(ConditionExpression=e.gone())}, True)
        d, v = e.n("data"), e.n("v")
        sets = [f"{v} = {v} + {e.v(1)}"]
        for f, n in deltas.items():
            path = f"{d}.{e.n(f)}"
            sets.append(f"{path} = if_not_exists({path}, {e.v(0)}) + {e.v(n)}")
        sets += [f"{d}.{e.n(f)} = {e.v(value)}" for f, value in w.fields.items()]
        update = "SET " + ", ".join(sets) + e.expiry(w.expires_at)
        cond = f"{e.exists()} AND {e.live()}"
        params = e.params(UpdateExpression=update, ConditionExpression=cond)
        return _Op("Update", {"Key": _key(w.pk, w.sk), **params}, assumed=True)

    # --- rate limits -------------------------------------------------------------------

    def hit(
        self, bucket: str, slots: Sequence[Slot], guards: Sequence[Guard], cost: int
    ) -> HitResult:
        now = self._clock.now()
        rl = (f"RL#{bucket}", "RL")
        named = {s.name for s in slots} | {g.name for g in guards}

        def fits(counts: Mapping[str, int]) -> bool:
            return all(counts.get(s.name, 0) + cost <= s.ceiling for s in slots) and all(
                counts.get(g.name, 0) <= g.at_most for g in guards
            )

        def live(counters: Mapping[str, tuple[int, float]]) -> dict[str, int]:
            return {n: c for n, (c, exp) in counters.items() if n in named and exp > now}

        if not slots or any(cost > s.ceiling for s in slots):
            # Nothing to write, or nothing can be: one consistent read answers.
            counts = live(_counters(self._raw(*rl)))
            return HitResult(fits(counts), counts)
        with self._lock:
            seen = self._seen.get(bucket, {})
        for _ in range(_ROUNDS):
            params = self._hit_update(_Expr(now), now, slots, guards, cost, seen)
            try:
                new = self._call(
                    "update_item",
                    Key=_key(*rl),
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **params,
                )["Attributes"]
            except _Refused as refused:
                # ALL_OLD is the item as the condition saw it; without it, read it.
                old = refused.item if refused.item is not None else self._raw(*rl)
                counters = _counters(old)
                seen = self._remember(bucket, counters)
                if not fits(counts := live(counters)):
                    return HitResult(False, counts)
                continue  # only an expired counter was in the way: SET it this time
            counters = _counters(new)
            self._remember(bucket, counters)
            return HitResult(True, live(counters) | {s.name: counters[s.name][0] for s in slots})
        raise StoreUnavailable(f"rate-limit counters of {bucket!r} kept changing")

    @staticmethod
    def _hit_update(
        e: _Expr,
        now: float,
        slots: Sequence[Slot],
        guards: Sequence[Guard],
        cost: int,
        seen: dict[str, float],
    ) -> dict[str, Any]:
        adds: list[str] = []
        sets: list[str] = []
        conds: list[str] = []
        k = e.v(cost)
        for s in slots:
            c, x = e.n("c:" + s.name), e.n("e:" + s.name)
            if seen.get(s.name, math.inf) <= now:  # known expired: start again
                sets.append(f"{c} = {k}")
                conds.append(f"(attribute_not_exists({c}) OR {x} <= {e.now()})")
            else:
                adds.append(f"{c} {k}")
                below = f"{c} <= {e.v(s.ceiling - cost)} AND {x} > {e.now()}"
                conds.append(f"(attribute_not_exists({c}) OR ({below}))")
            sets.append(f"{x} = {e.v(s.expires_at)}")
        for g in guards:
            c, x = e.n("c:" + g.name), e.n("e:" + g.name)
            at_most = f"{c} <= {e.v(g.at_most)}"
            conds.append(f"(attribute_not_exists({c}) OR {at_most} OR {x} <= {e.now()})")
        named = {s.name for s in slots} | {g.name for g in guards}
        kept = [seen[n] for n in named if n in seen and math.isfinite(seen[n])]
        ttl = math.ceil(max([s.expires_at for s in slots] + kept))
        sets.append(f"{e.n('ttl')} = {e.v(ttl)}")
        stale = [e.n(p + n) for n in sorted(set(seen) - named) for p in ("c:", "e:")]
        update = "SET " + ", ".join(sets) + " ADD " * bool(adds) + ", ".join(adds)
        update += " REMOVE " * bool(stale) + ", ".join(stale)
        return e.params(UpdateExpression=update, ConditionExpression=" AND ".join(conds))

    def _remember(self, bucket: str, counters: Mapping[str, tuple[int, float]]) -> dict[str, float]:
        seen = {n: exp for n, (_, exp) in counters.items()}
        with self._lock:
            self._seen.pop(bucket, None)
            self._seen[bucket] = seen
            if len(self._seen) > _BUCKETS_REMEMBERED:
                del self._seen[next(iter(self._seen))]
        return seen
