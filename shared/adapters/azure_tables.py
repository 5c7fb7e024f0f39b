"""Azure Table Storage store: the single-table layout of docs/storage.md on one table.

Entities (docs/azure-tables.md has the whole picture):

* ``PartitionKey``/``RowKey``: the item's ``pk``/``sk`` through the order-preserving escape
  codec of :mod:`shared.adapters.azure_keys` (Table Storage refuses ``#`` in keys).
* ``data``: the record as JSON text; past 30,000 characters it continues in ``data1``,
  ``data2``, ... (a string property holds at most 64 KiB of UTF-16). Records over 16 chunks
  are refused with ValueError: an entity holds at most 1 MiB.
* ``version``: Edm.Int64, assigned here (1 on first write, +1 on every write).
* ``expires``: Edm.Double epoch seconds, only on expiring items.

Table Storage has no conditional expressions, only ETags, so every write is a
read-decide-write: read the entities a batch touches (one query), check the caller's
conditions against the live ones (expiry by the injected clock: an expired entity is
absent), then submit one entity-group transaction in which every operation is pinned to
what was read — ``create`` where nothing was, ``update``/``delete`` with that ETag
(``IfNotModified``) where something was. If anything changed in between, the service
refuses the whole batch (409/412/404) and the round starts again with a fresh read; a
caller's condition that fails on a read is ``ConditionFailed(index)``, nothing sent. A
delete of an entity that does not exist is left out of the batch (the service would fail the
whole batch with 404; the contract says it is a no-op).

Rate-limit counters of bucket ``b`` are ONE entity, ``RL#b``/``RL``, holding every counter
as JSON (``{"name": [count, expiry]}``) and ``expires`` (the latest counter expiry, so
:meth:`AzureTableStore.purge_expired` removes idle buckets). ``hit`` decides with
``ratelimit.admit`` on the counters it knows and writes them back with the ETag they came
with: a per-process cache of each bucket's last ETag and counters makes an admitted hit one
round trip; a denial is always decided on a fresh read (one round trip, no write); a 412
re-reads and retries with jittered backoff, at most ``hit_attempts`` times and
``hit_budget`` seconds, then ``StoreUnavailable`` (the plan's fail mode decides).

Tables has no TTL: expired entities are hidden on every read and purged by
``purge_expired``, which a timer calls (``capabilities`` is empty). The client is built on
first use with a small retry budget and ~2 s timeouts; every azure-core error leaves as
``StoreUnavailable``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError
from azure.data.tables import EdmType, EntityProperty, TableClient, TableEntity, UpdateMode

from shared.adapters.attempts import full_jitter
from shared.adapters.azure_keys import decode, encode, prefix_end
from shared.core.clock import Clock, SystemClock
from shared.core.ratelimit import Guard, HitResult, Slot, admit
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

T = TypeVar("T")
Entity = dict[str, Any]  # as written; reads answer TableEntity (a dict with .metadata)
_Counters = dict[str, tuple[int, float]]  # counter name -> (count, expiry)
_State = tuple[str | None, _Counters]  # a counter entity's ETag (None: absent) and counters
_CHUNK = 30_000  # characters of JSON per string property (64 KiB of UTF-16, with room)
_MAX_CHUNKS = 16  # 16 x 60 KB stays under the 1 MiB entity limit
_ROUNDS = 8  # transact: read-decide-write rounds lost to concurrent writers before giving up
_HIT_ATTEMPTS = 50  # hit: 412s in a row before giving up (each one is another's commit)
_HIT_BUDGET = 2.0  # hit: seconds of conflicts before giving up (real time, not the clock)
_BACKOFF = (0.001, 0.025)  # hit: first and largest backoff ceiling after a 412, seconds
_BUCKETS_REMEMBERED = 4096
_KEYS_PER_QUERY = 14  # Azure allows 15 comparisons per filter; one is the PartitionKey
_RL_ROW = "RL"
_IF_MATCH = {"match_condition": MatchConditions.IfNotModified}


class _Conflict(Exception):
    """The entity changed since it was read (409/412, or 404 on an update or delete)."""


def _entity(pk: str, sk: str, data: Mapping[str, Any], version: int, exp: float | None) -> Entity:
    text = json.dumps(dict(data), separators=(",", ":"), allow_nan=False)
    chunks = [text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)]
    if len(chunks) > _MAX_CHUNKS:
        raise ValueError(
            f"record {pk!r}/{sk!r} is {len(text)} characters of JSON; Table Storage holds at "
            f"most {_CHUNK * _MAX_CHUNKS} (1 MiB per entity)"
        )
    out: Entity = {"PartitionKey": encode(pk), "RowKey": encode(sk)}
    out.update({f"data{i or ''}": chunk for i, chunk in enumerate(chunks)})
    out["version"] = EntityProperty(version, EdmType.INT64)  # ints >= 2**31 need INT64
    if exp is not None:
        out["expires"] = float(exp)
    return out


def _value(prop: Any) -> Any:
    return prop.value if isinstance(prop, EntityProperty) else prop


def _expires(e: Mapping[str, Any]) -> float | None:
    exp = e.get("expires")
    return None if exp is None else float(_value(exp))


def _live(e: Mapping[str, Any] | None, now: float) -> bool:
    return e is not None and ((exp := _expires(e)) is None or exp > now)


def _version(e: Mapping[str, Any] | None) -> int:
    return int(_value(e.get("version", 0))) if e is not None else 0


def _data(e: Mapping[str, Any]) -> dict[str, Any]:
    text, i = e.get("data", "{}"), 1
    while f"data{i}" in e:
        text, i = text + e[f"data{i}"], i + 1
    out: dict[str, Any] = json.loads(text)
    return out


def _item(e: Mapping[str, Any]) -> Item:
    pk, sk = decode(e["PartitionKey"]), decode(e["RowKey"])
    return Item(pk, sk, _data(e), _version(e), _expires(e))


def _pinned(verb: str, entity: Entity, current: TableEntity | None) -> tuple[Any, ...]:
    """A transaction operation that only succeeds if the entity is still as read."""
    if current is None:
        return ("create", entity)
    options = {**_IF_MATCH, "etag": current.metadata["etag"]}
    if verb == "delete":
        return ("delete", entity, options)
    return ("update", entity, {**options, "mode": UpdateMode.REPLACE})


class AzureTableStore:
    capabilities: frozenset[str] = frozenset()  # no "ttl": see purge_expired

    def __init__(
        self,
        table_name: str,
        clock: Clock | None = None,
        *,
        connection_string: str | None = None,
        endpoint: str | None = None,
        credential: Any = None,
        retry_total: int = 1,
        timeout: float = 2.0,
        max_connections: int = 32,
        hit_attempts: int = _HIT_ATTEMPTS,
        hit_budget: float = _HIT_BUDGET,
    ) -> None:
        if not connection_string and not endpoint:
            raise ValueError("AzureTableStore needs a connection_string or an endpoint")
        self._table = table_name
        self._clock = clock or SystemClock()
        self._target = (connection_string, endpoint, credential)
        # The SDK's default policy took 4.8 s to give up on a dead endpoint; a request path
        # cannot wait that long, so: one retry, ~2 s timeouts, and a pool big enough for
        # the threads of one instance.
        self._client_kw: dict[str, Any] = {
            "retry_total": retry_total,
            "retry_backoff_factor": 0.1,
            "connection_timeout": timeout,
            "read_timeout": timeout,
        }
        self._max_connections = max_connections
        self._hit_attempts = hit_attempts
        self._hit_budget = hit_budget
        self._made: TableClient | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._seen: dict[str, _State] = {}

    # --- client ----------------------------------------------------------------------------

    @property
    def _client(self) -> TableClient:
        # Built on first use: a function that never reaches the store does not pay for it.
        if self._made is None:
            with self._lock:
                if self._closed:
                    raise StoreUnavailable("the store is closed")
                if self._made is None:
                    self._made = self._build()
        return self._made

    def _build(self) -> TableClient:
        import requests
        from azure.core.pipeline.transport import RequestsTransport
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        adapter = HTTPAdapter(  # retries belong to azure-core's policy, not to urllib3
            pool_maxsize=self._max_connections, max_retries=Retry(total=False, redirect=False)
        )
        for scheme in ("http://", "https://"):
            session.mount(scheme, adapter)
        # A transport of our own takes the timeouts itself: the client's keywords would not
        # reach it, and its default is 300 s (found by test_azure_specific.py).
        timeouts = {k: v for k, v in self._client_kw.items() if k.endswith("_timeout")}
        kw = {**self._client_kw, "transport": RequestsTransport(session=session, **timeouts)}
        connection_string, endpoint, credential = self._target
        if connection_string:
            return TableClient.from_connection_string(connection_string, self._table, **kw)
        return TableClient(str(endpoint), self._table, credential=credential, **kw)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            made, self._made = self._made, None
        if made is not None:
            made.close()

    def create_table_if_missing(self) -> None:
        """For tests and ``tollway local``; deployments create the table in IaC."""
        with contextlib.suppress(_Conflict):  # 409: it exists
            self._call(self._client.create_table)

    def delete_table(self) -> None:
        """For tests: drop the table and everything in it."""
        self._call(self._client.delete_table)

    def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """Run one SDK call; conflicts become _Conflict, every other failure StoreUnavailable."""
        if self._closed:
            raise StoreUnavailable("the store is closed")
        try:
            return fn(*args, **kw)
        except HttpResponseError as e:
            code = getattr(e, "error_code", None) or ""
            code = str(getattr(code, "value", code))  # TableErrorCode enum or plain str
            if e.status_code in (404, 409, 412) and code != "TableNotFound":
                raise _Conflict(code) from None
            raise StoreUnavailable(f"Azure Tables: {e.status_code} {code}".strip()) from e
        except (AzureError, OSError, ValueError) as e:  # transport; ValueError: closed client
            raise StoreUnavailable(f"Azure Tables: {type(e).__name__}") from e

    # --- reads ---------------------------------------------------------------------------

    def _read(self, pk: str, rows: Sequence[str]) -> dict[str, TableEntity]:
        """The entities at encoded (pk, row) for each row, expired ones included."""
        if len(rows) == 1:
            try:
                return {rows[0]: self._call(self._client.get_entity, pk, rows[0])}
            except _Conflict:  # 404: no such entity
                return {}
        found: dict[str, TableEntity] = {}
        for i in range(0, len(rows), _KEYS_PER_QUERY):
            part = rows[i : i + _KEYS_PER_QUERY]
            # Parameters must stand alone between spaces: the SDK substitutes word by word.
            either = " or ".join(f"RowKey eq @r{j}" for j in range(len(part)))
            params = {"pk": pk, **{f"r{j}": row for j, row in enumerate(part)}}
            query = f"PartitionKey eq @pk and ( {either} )"
            pages = self._client.query_entities(query, parameters=params)
            entities: list[TableEntity] = self._call(list, pages)
            found.update((e["RowKey"], e) for e in entities)
        return found

    def get(self, pk: str, sk: str) -> Item | None:
        now = self._clock.now()
        e = self._read(encode(pk), [encode(sk)]).get(encode(sk))
        return _item(e) if e is not None and _live(e, now) else None

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
        now = self._clock.now()
        where, params = ["PartitionKey eq @pk"], {"pk": encode(pk)}
        if prefix:
            where.append("RowKey ge @lo")
            params["lo"] = encode(prefix)
            if (end := prefix_end(params["lo"])) is not None:
                where.append("RowKey lt @hi")
                params["hi"] = end
        if after is not None:
            where.append("RowKey lt @after" if descending else "RowKey gt @after")
            params["after"] = encode(after)
        pages = self._client.query_entities(
            " and ".join(where), parameters=params, results_per_page=min(max(limit, 100), 1000)
        )
        # Table Storage only reads upwards. Descending keeps the last `limit` live entities
        # of the range, which costs a scan of it: fine for audit pages and usage hours,
        # documented in docs/azure-tables.md.
        kept: deque[TableEntity] = deque(maxlen=limit if descending else None)

        def scan() -> None:
            for e in pages:
                if _live(e, now):
                    kept.append(e)
                    if not descending and len(kept) >= limit:
                        return

        self._call(scan)
        return [_item(e) for e in (reversed(kept) if descending else kept)]

    # --- writes ----------------------------------------------------------------------------

    def transact(self, writes: Sequence[Write]) -> None:
        check_batch(writes)
        first = writes[0]
        pk = encode(first.item.pk if isinstance(first, Put) else first.pk)
        rows = [encode(w.item.sk if isinstance(w, Put) else w.sk) for w in writes]
        for _ in range(_ROUNDS):
            current = self._read(pk, rows)
            now = self._clock.now()
            ops = [
                op
                for i, w in enumerate(writes)
                if (op := self._decide(i, w, current.get(rows[i]), now)) is not None
            ]
            if not ops:
                return  # only deletes of items that are not there
            try:
                self._call(self._client.submit_transaction, ops)
                return
            except _Conflict:
                continue  # something changed since the read: read and decide again
        raise StoreUnavailable("items kept changing under concurrent writers")

    @staticmethod
    def _decide(i: int, w: Write, cur: TableEntity | None, now: float) -> tuple[Any, ...] | None:
        """Check write ``i``'s condition on ``cur`` (as read) and pin its operation to it."""
        live = _live(cur, now)
        version = _version(cur) if live else 0
        if isinstance(w, Delete):
            if (w.must_exist or w.if_version is not None) and not live:
                raise ConditionFailed(i)
            if w.if_version is not None and w.if_version != version:
                raise ConditionFailed(i)
            if cur is None:
                return None  # a no-op; in a batch the service would call it a 404
            keys = {"PartitionKey": cur["PartitionKey"], "RowKey": cur["RowKey"]}
            return _pinned("delete", keys, cur)
        if isinstance(w, Put):
            stale = w.if_version is not None and (not live or w.if_version != version)
            if (w.if_absent and live) or stale:
                raise ConditionFailed(i)
            it = w.item
            entity = _entity(it.pk, it.sk, it.data, version + 1, it.expires_at)
            return _pinned("update", entity, cur)
        data = _data(cur) if live and cur is not None else {}
        for field, delta in w.deltas.items():
            data[field] = data.get(field, 0) + delta
        data.update(w.fields)
        exp = w.expires_at
        if exp is None and live and cur is not None:
            exp = _expires(cur)  # an Increment without expiry keeps the item's
        return _pinned("update", _entity(w.pk, w.sk, data, version + 1, exp), cur)

    # --- rate limits -----------------------------------------------------------------------

    def hit(
        self, bucket: str, slots: Sequence[Slot], guards: Sequence[Guard], cost: int
    ) -> HitResult:
        now = self._clock.now()
        pk = encode(f"RL#{bucket}")
        named = {s.name for s in slots} | {g.name for g in guards}
        with self._lock:
            state = self._seen.get(bucket)
        fresh = state is None
        if state is None:
            state = self._read_counters(pk)
        give_up = time.monotonic() + self._hit_budget
        for attempt in range(self._hit_attempts):
            etag, counters = state
            live = {n: c for n, (c, exp) in counters.items() if n in named and exp > now}
            result = admit(live, slots, guards, cost)
            if not result.admitted or not slots:  # nothing to write
                if fresh:
                    self._remember(bucket, state)
                    return result
                # The cache may be stale (another process may have dropped a counter):
                # a denial is only ever decided on a fresh read.
                state, fresh = self._read_counters(pk), True
                continue
            kept = {n: (c, counters[n][1]) for n, c in live.items()}
            kept.update({s.name: (result.counts[s.name], s.expires_at) for s in slots})
            try:
                written = self._write_counters(pk, etag, kept)
            except _Conflict:  # another request got in first: back off, re-read, decide again
                if time.monotonic() > give_up:
                    break  # past this bucket's ceiling: the plan's fail mode decides
                time.sleep(full_jitter(attempt, *_BACKOFF))
                state, fresh = self._read_counters(pk), True
                continue
            self._remember(bucket, written)
            return result
        with self._lock:
            self._seen.pop(bucket, None)
        raise StoreUnavailable(f"rate-limit counters of {bucket!r}: too many conflicts")

    def _read_counters(self, pk: str) -> _State:
        e = self._read(pk, [_RL_ROW]).get(_RL_ROW)
        if e is None:
            return None, {}
        raw = json.loads(e.get("counters", "{}"))
        return e.metadata["etag"], {n: (int(c), float(x)) for n, (c, x) in raw.items()}

    def _write_counters(self, pk: str, etag: str | None, counters: _Counters) -> _State:
        entity: Entity = {
            "PartitionKey": pk,
            "RowKey": _RL_ROW,
            "counters": json.dumps({n: [c, x] for n, (c, x) in counters.items()}),
            "expires": max(x for _, x in counters.values()),
        }
        if etag is None:
            meta = self._call(self._client.create_entity, entity)
        else:
            meta = self._call(
                self._client.update_entity, entity, UpdateMode.REPLACE, etag=etag, **_IF_MATCH
            )
        return meta["etag"], counters

    def _remember(self, bucket: str, state: _State) -> None:
        with self._lock:
            self._seen.pop(bucket, None)  # re-insert: the dict's order is least recent first
            self._seen[bucket] = state
            if len(self._seen) > _BUCKETS_REMEMBERED:
                del self._seen[next(iter(self._seen))]

    # --- expiry ----------------------------------------------------------------------------

    def purge_expired(self, limit: int = 1000) -> int:
        """Delete up to ``limit`` expired entities (items and idle counter buckets); return
        how many. Each delete is pinned to the ETag read, so an entity rewritten meanwhile
        stays. Table Storage has no TTL: a timer function calls this."""
        check_limit(limit)
        now = self._clock.now()
        pages = self._client.query_entities(
            "expires le @now",
            parameters={"now": float(now)},
            select=["PartitionKey", "RowKey", "expires"],
            results_per_page=min(limit, 1000),
        )

        def scan() -> list[TableEntity]:
            out: list[TableEntity] = []
            for e in pages:
                out.append(e)
                if len(out) >= limit:
                    break
            return out

        deleted = 0
        for e in self._call(scan):
            try:
                self._call(self._client.submit_transaction, [_pinned("delete", dict(e), e)])
                deleted += 1
            except _Conflict:
                pass  # rewritten or already gone
        return deleted
