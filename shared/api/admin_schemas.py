"""Request and response bodies of the admin routes (plans, consumers, accounts, audit).

In partial updates, ``null`` is the same as leaving a field out, except for the plan's
rate and quota fields and ``overrides``, where ``null`` means "no limit".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from shared.api.catalog_schemas import Description
from shared.api.policy_schemas import ScopedPoliciesIO, ScopedPolicyDoc, out
from shared.api.schemas import (
    ConsumerOut,
    Id,
    Name,
    OverageTierIO,
    PlainText,
    RequestBody,
    Role,
    UsageTotals,
    at,
    tiers_out,
)
from shared.core.models import Consumer, Plan
from shared.core.policy import to_json
from shared.management.entities import Account, AuditEntry

#: One string schema with one pattern (not anyOf a pattern or "*"): client generators
#: (openapi-python-client, datamodel-code-generator) build a model that accepts both.
PlanApi = Annotated[str, Field(pattern=r"^(\*|[a-z0-9][a-z0-9-]{0,62})$",
                               description="An API name (every version), or * for every API.")]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000_000)]
Money = Annotated[int, Field(ge=0, le=1_000_000_000)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000_000)]


# --- plans -----------------------------------------------------------------------------------


class PlanCreateIn(RequestBody):
    name: Name
    description: Description = ""
    apis: list[PlanApi] = Field(default_factory=list, max_length=100)
    rate_per_second: Limit | None = None
    rate_per_minute: Limit | None = None
    quota_per_day: Limit | None = None
    quota_per_month: Limit | None = None
    algorithm: Literal["fixed", "sliding"] = "fixed"
    fail_mode: Literal["closed", "open"] | None = Field(
        default=None,
        description="When the counter store is down: closed answers 503, open admits. "
        "Default: the deployment's TOLLWAY_DEFAULT_FAIL_MODE (closed unless set).",
    )
    request_cost: int = Field(default=1, ge=1, le=1000)
    counter_shards: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Split each limit's counters over this many store items, for one "
        "consumer faster than one item takes (DynamoDB: ~1,000 writes/s per item). Fixed "
        "windows only. Admits at most limit + shards - 1 per window.",
    )
    monthly_fee_cents: Money = 0
    included_requests: Count = 0
    overage_cents_per_1000: Money = 0
    overage_tiers: list[OverageTierIO] = Field(default_factory=list, max_length=10, description=(
        "Graduated overage prices (each unit priced at the tier it falls in); when set, "
        "they replace overage_cents_per_1000. The last tier has no up_to."))
    requires_approval: bool = False
    policies: ScopedPolicyDoc | None = Field(default=None, description=(
        "IP lists and limits for every request of its subscribers, on top of the API's "
        "and the route's (docs/policies.md)."))


class PlanUpdateIn(RequestBody):
    name: Name | None = None
    description: Description | None = None
    apis: list[PlanApi] | None = Field(default=None, max_length=100)
    rate_per_second: Limit | None = None
    rate_per_minute: Limit | None = None
    quota_per_day: Limit | None = None
    quota_per_month: Limit | None = None
    algorithm: Literal["fixed", "sliding"] | None = None
    fail_mode: Literal["closed", "open"] | None = None
    request_cost: int | None = Field(default=None, ge=1, le=1000)
    counter_shards: int | None = Field(default=None, ge=1, le=64)
    monthly_fee_cents: Money | None = None
    included_requests: Count | None = None
    overage_cents_per_1000: Money | None = None
    overage_tiers: list[OverageTierIO] | None = Field(default=None, max_length=10,
                                                      description="[] clears them.")
    requires_approval: bool | None = None
    policies: ScopedPolicyDoc | None = Field(default=None, description="{} clears them.")


#: Fields where an explicit null is meaningful (no limit).
NULLABLE_LIMITS = frozenset({"rate_per_second", "rate_per_minute", "quota_per_day",
                             "quota_per_month"})


def changes(body: BaseModel, nullable: frozenset[str] = NULLABLE_LIMITS) -> dict[str, Any]:
    """The fields a partial update sets (null dropped unless it means 'no limit')."""
    data = body.model_dump(exclude_unset=True)
    return {k: v for k, v in data.items() if v is not None or k in nullable}


class PlanOut(BaseModel):
    id: str
    name: str
    description: str
    apis: list[str]
    rate_per_second: int | None
    rate_per_minute: int | None
    quota_per_day: int | None
    quota_per_month: int | None
    algorithm: Literal["fixed", "sliding"]
    fail_mode: Literal["closed", "open"]
    request_cost: int
    counter_shards: int
    monthly_fee_cents: int
    included_requests: int
    overage_cents_per_1000: int
    overage_tiers: list[OverageTierIO] = Field(default_factory=list)
    requires_approval: bool
    retired: bool
    policies: ScopedPoliciesIO | None = None

    @classmethod
    def of(cls, p: Plan) -> PlanOut:
        skip = {"apis", "algorithm", "fail_mode", "policies", "overage_tiers"}
        fields = {n: getattr(p, n) for n in cls.model_fields if n not in skip}
        return cls(**fields, apis=list(p.apis), algorithm=p.algorithm.value,
                   fail_mode=p.fail_mode.value, overage_tiers=tiers_out(p),
                   policies=out(ScopedPoliciesIO, to_json(p.policies)))



# --- consumers, subscriptions, accounts, usage, audit ---------------------------------------


class ConsumerAdminOut(ConsumerOut):
    """What an admin sees of a consumer: also its own policies (developers do not)."""

    policies: ScopedPoliciesIO | None = Field(
        default=None, description="Its own IP lists and limits (docs/policies.md).")

    @classmethod
    def of(cls, c: Consumer) -> ConsumerAdminOut:
        base = ConsumerOut.of(c).model_dump()
        return cls(**base, policies=out(ScopedPoliciesIO, to_json(c.policies)))


class ReasonIn(RequestBody):
    reason: Annotated[str, PlainText] = Field(default="", max_length=500,
                                              description="Recorded in the audit log.")


class Overrides(RequestBody):
    """Per-consumer limits replacing the plan's; null means no limit, absent keeps the plan's."""

    rate_per_second: Count | None = None
    rate_per_minute: Count | None = None
    quota_per_day: Count | None = None
    quota_per_month: Count | None = None

    def as_dict(self) -> dict[str, int | None]:
        return self.model_dump(exclude_unset=True)


class GrantIn(RequestBody):
    plan_id: Id
    overrides: Overrides = Field(default_factory=Overrides)


class SubscriptionPatchIn(RequestBody):
    plan_id: Id | None = None
    overrides: Overrides | None = Field(default=None, description="Replaces all overrides.")


class AccountOut(BaseModel):
    id: str
    email: str
    role: Role
    consumer_id: str
    created_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(id=a.id, email=a.email, role=a.role,  # type: ignore[arg-type]
                   consumer_id=a.consumer_id, created_at=at(a.created_at))


class RoleIn(RequestBody):
    role: Role


class TopConsumer(UsageTotals):
    consumer: ConsumerOut


class TopOut(BaseModel):
    start: date
    end: date
    items: list[TopConsumer]


class AuditOut(BaseModel):
    id: str
    at: datetime
    actor: str = Field(description="Account id, or 'admin-token'.")
    actor_role: Role
    action: str
    target_type: str
    target_id: str
    consumer_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(id=e.id, at=at(e.at), actor=e.actor,
                   actor_role=e.actor_role,  # type: ignore[arg-type]
                   action=e.action, target_type=e.target_type, target_id=e.target_id,
                   consumer_id=e.consumer_id, before=_iso_times(e.before),
                   after=_iso_times(e.after), note=e.note)


def _iso_times(value: Any) -> Any:
    """The stored snapshots keep times as epoch seconds; a response shows every time the
    same way, ISO 8601 UTC (``created_at``, ``expires_at``, ``deprecated_at``...)."""
    if isinstance(value, dict):
        return {k: at(v) if k.endswith("_at") and isinstance(v, int | float)
                and not isinstance(v, bool) else _iso_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso_times(v) for v in value]
    return value
