"""The records the gateway decides with. Frozen, plain, and serialisable to JSON dicts.

Management owns these records; the gateway only reads them (through a short-TTL cache).
``to_dict``/``from_dict`` are the single place the stored shape is defined.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, TypeVar

from shared.core.policy import Policies, parse, to_json


class Lifecycle(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


#: The only lifecycle moves accepted. Draft APIs are invisible at the gateway (404).
TRANSITIONS: dict[Lifecycle, frozenset[Lifecycle]] = {
    Lifecycle.DRAFT: frozenset({Lifecycle.PUBLISHED}),
    Lifecycle.PUBLISHED: frozenset({Lifecycle.DEPRECATED}),
    Lifecycle.DEPRECATED: frozenset({Lifecycle.RETIRED}),
    Lifecycle.RETIRED: frozenset(),
}


class Algorithm(StrEnum):
    FIXED = "fixed"
    SLIDING = "sliding"


class FailMode(StrEnum):
    CLOSED = "closed"  # store down -> 503
    OPEN = "open"  # store down -> admit, count a metric


@dataclass(frozen=True, slots=True)
class OverageTier:
    """Overage units up to ``up_to`` (counted from the first unit above the included ones,
    cumulative; None: no upper bound) cost ``cents_per_1000`` per 1,000 units."""

    up_to: int | None
    cents_per_1000: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A tier: limits, quotas, price and the APIs (by name, all versions) it grants."""

    id: str
    name: str
    apis: tuple[str, ...] = ()
    rate_per_second: int | None = None
    rate_per_minute: int | None = None
    quota_per_day: int | None = None
    quota_per_month: int | None = None
    algorithm: Algorithm = Algorithm.FIXED
    fail_mode: FailMode = FailMode.CLOSED
    request_cost: int = 1
    monthly_fee_cents: int = 0
    included_requests: int = 0
    overage_cents_per_1000: int = 0
    # Graduated overage prices; when set they replace overage_cents_per_1000 (billing.md).
    overage_tiers: tuple[OverageTier, ...] = ()
    requires_approval: bool = False
    retired: bool = False
    description: str = ""
    # Hot consumers (issue 11): each limit's counters split over this many store items
    # (fixed windows only), so one subscription is not capped by one item's write rate.
    # Over-admission bound: N * ceil(limit / N) <= limit + N - 1 per window (ratelimit.py).
    counter_shards: int = 1
    # IP lists and limits for every request of its subscribers, on top of the API's and
    # the route's (core/policy.py SCOPED; docs/policies.md "Plans and consumers").
    policies: Policies | None = None

    def grants(self, api_name: str) -> bool:
        return "*" in self.apis or api_name in self.apis

    def with_overrides(self, overrides: dict[str, int | None]) -> Plan:
        allowed = {k: v for k, v in overrides.items() if k in OVERRIDABLE}
        return dataclasses.replace(self, **allowed) if allowed else self  # type: ignore[arg-type]


#: Plan fields a per-consumer override may change.
OVERRIDABLE = frozenset({"rate_per_second", "rate_per_minute", "quota_per_day", "quota_per_month"})


class ConsumerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Consumer:
    id: str
    name: str
    status: ConsumerStatus = ConsumerStatus.ACTIVE
    owner: str = ""  # developer account id, "" for admin-created consumers
    created_at: float = 0.0
    policies: Policies | None = None  # IP lists and limits of its own (core/policy.py SCOPED)


class KeyState(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A stored key. ``key_hash`` is the SHA-256 of the plaintext, never the plaintext."""

    id: str
    consumer_id: str
    key_hash: str
    hint: str
    name: str = ""
    state: KeyState = KeyState.ACTIVE
    created_at: float = 0.0
    expires_at: float | None = None  # set on rotation (grace end) or at creation
    scopes: tuple[str, ...] = ()  # empty: none; passes only routes requiring none (core.scopes)


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    consumer_id: str
    plan_id: str
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    overrides: dict[str, int | None] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Upstream:
    url: str
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Route:
    method: str  # "GET", ..., or "*" for any
    path: str  # template below the base path: "/items/{id}", "/*" for any remainder
    scopes: tuple[str, ...] = ()
    policies: Policies | None = None  # overrides the API's, kind by kind (core/policy.py)


@dataclass(frozen=True, slots=True)
class Api:
    """One version of an API: its base path, upstreams, routes and lifecycle state."""

    id: str
    name: str
    version: str
    base_path: str
    upstreams: tuple[Upstream, ...]
    routes: tuple[Route, ...] = (Route("*", "/*"),)
    lifecycle: Lifecycle = Lifecycle.DRAFT
    timeout_seconds: float = 10.0
    retries: int = 0
    deprecated_at: float | None = None
    sunset_at: float | None = None
    description: str = ""
    policies: Policies | None = None  # defaults for every route (core/policy.py)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One metered request. Aggregated per consumer x api x hour, idempotent by request id."""

    request_id: str
    timestamp: float
    consumer_id: str
    key_id: str
    api_id: str
    route: str
    method: str
    status: int
    bytes_in: int
    bytes_out: int
    latency_ms: float
    cost: int = 1


# --- serialisation -------------------------------------------------------------------------

T = TypeVar("T")

_NESTED: dict[tuple[type, str], type] = {}


def to_dict(record: Any) -> dict[str, Any]:
    """A JSON-ready dict: enums as values, tuples as lists, nested records as dicts."""

    def conv(v: Any) -> Any:
        if isinstance(v, Policies):
            return to_json(v)
        if isinstance(v, Enum):
            return v.value
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return to_dict(v)
        if isinstance(v, tuple | list):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v

    return {f.name: conv(getattr(record, f.name)) for f in dataclasses.fields(record)}


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Build ``cls`` from a stored dict; unknown keys are ignored (forward compatible)."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        v = data[f.name]
        nested = _NESTED.get((cls, f.name))
        if f.name == "policies":  # Api, Route, Plan, Consumer
            v = parse(v)
        elif nested is not None:
            v = tuple(from_dict(nested, x) for x in v)
        elif isinstance(v, list):
            v = tuple(v)
        elif isinstance(f.type, str) and v is not None:
            enum_cls = _ENUMS.get(f.type.split(" ")[0])
            if enum_cls is not None:
                v = enum_cls(v)
        kwargs[f.name] = v
    return cls(**kwargs)


_ENUMS: dict[str, type[Enum]] = {
    e.__name__: e
    for e in (Lifecycle, Algorithm, FailMode, ConsumerStatus, KeyState, SubscriptionStatus)
}
_NESTED.update({(Api, "upstreams"): Upstream, (Api, "routes"): Route,
                (Plan, "overage_tiers"): OverageTier})
