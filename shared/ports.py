"""The few things the core and services need from the world. Adapters implement them.

Every store adapter (memory, SQLite, DynamoDB, Azure Tables) passes the one contract suite
in ``tests/contract``; what follows is that contract in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.core.models import UsageEvent
from shared.core.ratelimit import Guard, HitResult, Slot

# --- store ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """A record in the single-table layout (see docs/storage.md).

    ``data`` is JSON-serialisable (str, int, float, bool, None, list, dict).
    ``version`` is assigned by the store: 1 on first write, +1 on every write.
    ``expires_at`` (epoch seconds) makes the item invisible from that moment on, even
    before the backend's TTL sweeper physically removes it.
    """

    pk: str
    sk: str
    data: Mapping[str, Any] = field(default_factory=dict)
    version: int = 0
    expires_at: float | None = None


@dataclass(frozen=True, slots=True)
class Put:
    """Write ``item`` whole. ``if_absent``: fail if a live item exists at (pk, sk).
    ``if_version``: fail unless the live item's version equals it."""

    item: Item
    if_absent: bool = False
    if_version: int | None = None


@dataclass(frozen=True, slots=True)
class Delete:
    """Remove (pk, sk). ``if_version``: fail unless the live item's version equals it.
    ``must_exist``: fail if there is no live item. Deleting a missing item is otherwise a no-op."""

    pk: str
    sk: str
    if_version: int | None = None
    must_exist: bool = False


@dataclass(frozen=True, slots=True)
class Increment:
    """Upsert: add each delta to the numeric field in ``data`` (absent = 0); set ``fields``
    (overwriting); set ``expires_at`` when given. Never conditional."""

    pk: str
    sk: str
    deltas: Mapping[str, int | float]
    fields: Mapping[str, Any] = field(default_factory=dict)
    expires_at: float | None = None


Write = Put | Delete | Increment


class StoreError(Exception):
    """Base of everything a store raises."""


class ConditionFailed(StoreError):
    """A write's condition did not hold. Nothing in the batch was written."""

    def __init__(self, index: int = 0) -> None:
        super().__init__(f"condition failed on write {index}")
        self.index = index


class CrossPartition(ValueError):
    """A batch named more than one partition key: a programming error, never retried."""


class StoreUnavailable(StoreError):
    """The backend could not be reached or throttled us past the retry budget.
    The caller decides by fail mode; nothing is known to have been written."""


class Store(Protocol):
    """Items, atomic batches and rate-limit counters.

    - ``get``/``query`` never return expired items.
    - ``get``/``query`` return copies: changing a returned item changes nothing stored.
    - ``query`` returns live items of partition ``pk`` whose sort key starts with
      ``prefix``, ordered by sort key (descending if asked), at most ``limit`` (>= 1, else
      ValueError), starting strictly after ``after`` (a sort key from a previous page).
    - ``transact`` applies all writes or none (at most 25 writes, all in ONE partition:
      a batch that names two partition keys raises :class:`CrossPartition` before anything
      is sent; that is all Table Storage and Cosmos DB can do atomically, so every backend
      refuses more). A failed condition raises :class:`ConditionFailed` with the index of
      the first failing write. Changes that span partitions are sequences of such batches
      (``shared/management/changes.py``).
    - ``hit`` is the rate-limit primitive: in one atomic step, if for every slot
      ``count(slot) + cost <= slot.ceiling`` and for every guard
      ``count(guard) <= guard.at_most``, add ``cost`` to every slot and answer
      ``admitted=True`` with the new counts; otherwise change nothing and answer
      ``admitted=False`` with the current counts. Counts of absent counters are 0 and may
      be omitted. Slot and guard names are all distinct; ``cost`` >= 1. Counters live in
      their own namespace (``bucket``), expire at their slot's ``expires_at``, and any hit
      (admitted or not) may discard counters of its bucket that it does not name. In steady
      state ``hit`` is exactly one backend round trip.
    - ``capabilities`` names optional abilities (see ``CAPABILITIES``); a service that
      needs one checks for it at construction rather than failing later.
    - ``close`` releases connections; the store is unusable afterwards.
    - Transport failures raise :class:`StoreUnavailable`, never a backend exception.
    """

    capabilities: frozenset[str]

    def get(self, pk: str, sk: str) -> Item | None: ...

    def query(
        self,
        pk: str,
        prefix: str = "",
        *,
        limit: int = 100,
        after: str | None = None,
        descending: bool = False,
    ) -> list[Item]: ...

    def transact(self, writes: Sequence[Write]) -> None: ...

    def hit(
        self, bucket: str, slots: Sequence[Slot], guards: Sequence[Guard], cost: int
    ) -> HitResult: ...

    def close(self) -> None: ...


MAX_BATCH = 25

#: "ttl": the backend removes expired items by itself (others hide them on read and need
#: ``purge_expired`` run on a schedule).
CAPABILITIES = frozenset({"ttl"})


# --- upstream -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpstreamRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    timeout: float
    retries: int = 0
    deadline: float | None = None  # time.monotonic(): no attempt may run past it


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class UpstreamTimeout(Exception):
    pass


class UpstreamFailure(Exception):
    pass


class Upstream(Protocol):
    """Send one request upstream. Raises :class:`UpstreamTimeout` when the timeout passes
    (or the ``deadline``: every attempt, retries included, ends by it),
    :class:`UpstreamFailure` when no response could be had (after ``retries`` for
    idempotent methods). Any HTTP status, 5xx included, is a response, not a failure."""

    def send(self, request: UpstreamRequest) -> UpstreamResponse: ...


# --- usage ----------------------------------------------------------------------------------


class UsageSink(Protocol):
    """Accept one usage event without a synchronous store write on the request path
    (buffer, log line, queue). Must not raise."""

    def emit(self, event: UsageEvent) -> None: ...


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def check_batch(writes: Sequence[Write]) -> None:
    if not writes:
        raise ValueError("empty batch")
    if len(writes) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} writes per batch")
    keys = [(w.item.pk, w.item.sk) if isinstance(w, Put) else (w.pk, w.sk) for w in writes]
    if len(set(keys)) != len(keys):
        raise ValueError("a batch may touch each item once")
    partitions = {k[0] for k in keys}
    if len(partitions) > 1:
        raise CrossPartition(
            f"a transaction spans {len(partitions)} partitions ({', '.join(sorted(partitions)[:3])}"
            f"{', ...' if len(partitions) > 3 else ''}); stores are atomic within one only"
        )


# --- metrics --------------------------------------------------------------------------------


class Metrics(Protocol):
    """Counters and timings for operators (EMF on AWS, logs elsewhere). Must not raise."""

    def count(self, name: str, value: float = 1.0) -> None: ...

    def timing(self, name: str, milliseconds: float) -> None: ...


class NullMetrics:
    def count(self, name: str, value: float = 1.0) -> None:
        pass

    def timing(self, name: str, milliseconds: float) -> None:
        pass


# --- notifications --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one developer. ``kind`` names the template ("deprecation",
    "quota", "subscription", ...); ``dedup_key`` is the same for every attempt to send
    the same notice (the services send each key once, ``management/notifications.py``)."""

    recipient: str  # an e-mail address
    kind: str
    subject: str
    text: str
    dedup_key: str
    data: Mapping[str, Any] = field(default_factory=dict)


class NotifyFailed(Exception):
    """The notice was not accepted; retrying later is safe (same ``dedup_key``)."""


class Notifier(Protocol):
    """Hand one notice to a delivery service (an outbox, SES, Azure Communication
    Services). Returns the provider's message id. Raises :class:`NotifyFailed` when the
    provider refused or could not be reached; raises nothing else. Adapters pass
    ``dedup_key`` on where the provider deduplicates (ACS ``repeatability-request-id``)."""

    def send(self, notice: Notice) -> str: ...
