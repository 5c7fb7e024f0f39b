"""Request and response bodies of the admin routes (catalog, plans, consumers, audit).

In partial updates, ``null`` is the same as leaving a field out, except for the plan's
rate and quota fields and ``overrides``, where ``null`` means "no limit".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from shared.api.schemas import ConsumerOut, Id, Name, RequestBody, Role, UsageTotals, at, when
from shared.core.models import Api, Plan
from shared.services.entities import Account, AuditEntry

ApiName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Version = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
BasePath = Annotated[str, Field(pattern=r"^(/[A-Za-z0-9._~-]+)+$", max_length=200)]
RoutePath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~!$&'()+,;=:@%/{}*-]*$",
                                 max_length=500)]
Scope = Annotated[str, Field(pattern=r"^[A-Za-z0-9:._/-]{1,64}$")]
Method = Literal["*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Description = Annotated[str, Field(max_length=2000)]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000_000)]
Money = Annotated[int, Field(ge=0, le=1_000_000_000)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000_000)]


# --- catalog ---------------------------------------------------------------------------------


class UpstreamIO(RequestBody):
    url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2048)]
    weight: int = Field(default=1, ge=1, le=100)


class RouteIO(RequestBody):
    method: Method
    path: RoutePath = Field(description="Below the base path: '/items/{id}', '/*' for any.")
    scopes: list[Scope] = Field(default_factory=list, max_length=20)


_ANY_ROUTE = [RouteIO(method="*", path="/*")]


class ApiCreateIn(RequestBody):
    name: ApiName = Field(description="Plans grant APIs by name (every version).")
    version: Version
    base_path: BasePath = Field(description="Where the gateway serves it: '/demo/v1'.")
    upstreams: list[UpstreamIO] = Field(min_length=1, max_length=10)
    routes: list[RouteIO] = Field(default_factory=lambda: list(_ANY_ROUTE), min_length=1,
                                  max_length=500)
    timeout_seconds: float = Field(default=10.0, ge=0.1, le=60.0)
    retries: int = Field(default=0, ge=0, le=5)
    description: Description = ""


class ApiUpdateIn(RequestBody):
    base_path: BasePath | None = Field(default=None, description="Only while a draft.")
    upstreams: list[UpstreamIO] | None = Field(default=None, min_length=1, max_length=10)
    routes: list[RouteIO] | None = Field(default=None, min_length=1, max_length=500)
    timeout_seconds: float | None = Field(default=None, ge=0.1, le=60.0)
    retries: int | None = Field(default=None, ge=0, le=5)
    description: Description | None = None


def _rfc3339(value: object) -> object:
    """Only an RFC 3339 string: pydantic would also read a number as a Unix time."""
    if not isinstance(value, str):
        raise ValueError("a date-time is an RFC 3339 string: 2026-06-30T00:00:00Z")
    return value


#: Parsed from a string even in strict models (FastAPI validates bodies in Python mode).
Timestamp = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_rfc3339)]


class LifecycleIn(RequestBody):
    state: Literal["published", "deprecated", "retired"]
    sunset_at: Timestamp | None = Field(
        default=None, description="Required when deprecating; in the future.")


class ApiOut(BaseModel):
    id: str
    name: str
    version: str
    base_path: str
    upstreams: list[UpstreamIO]
    routes: list[RouteIO]
    lifecycle: Literal["draft", "published", "deprecated", "retired"]
    timeout_seconds: float
    retries: int
    deprecated_at: datetime | None
    sunset_at: datetime | None
    description: str

    @classmethod
    def of(cls, a: Api) -> ApiOut:
        return cls(
            id=a.id, name=a.name, version=a.version, base_path=a.base_path,
            upstreams=[UpstreamIO(url=u.url, weight=u.weight) for u in a.upstreams],
            routes=[RouteIO(method=r.method, path=r.path,  # type: ignore[arg-type]
                            scopes=list(r.scopes)) for r in a.routes],
            lifecycle=a.lifecycle.value, timeout_seconds=a.timeout_seconds, retries=a.retries,
            deprecated_at=when(a.deprecated_at), sunset_at=when(a.sunset_at),
            description=a.description,
        )


class CatalogRoute(BaseModel):
    method: str
    path: str


class CatalogApiOut(BaseModel):
    """What the portal shows: no upstream addresses."""

    id: str
    name: str
    version: str
    base_path: str
    lifecycle: Literal["published", "deprecated"]
    routes: list[CatalogRoute]
    deprecated_at: datetime | None
    sunset_at: datetime | None
    description: str

    @classmethod
    def of(cls, a: Api) -> CatalogApiOut:
        return cls(
            id=a.id, name=a.name, version=a.version, base_path=a.base_path,
            lifecycle=a.lifecycle.value,  # type: ignore[arg-type]
            routes=[CatalogRoute(method=r.method, path=r.path) for r in a.routes],
            deprecated_at=when(a.deprecated_at), sunset_at=when(a.sunset_at),
            description=a.description,
        )


class OpenApiDocumentIn(BaseModel):
    """An OpenAPI 3.x document, stored as given (at most 512 KiB)."""

    model_config = ConfigDict(extra="allow", strict=True)
    openapi: Annotated[str, Field(pattern=r"^3\.\d+(\.\d+)?$")]
    info: dict[str, Any]


class DocumentOut(BaseModel):
    api_id: str
    size: int
    updated_at: datetime


# --- plans -----------------------------------------------------------------------------------


class PlanCreateIn(RequestBody):
    name: Name
    description: Description = ""
    apis: list[ApiName | Literal["*"]] = Field(default_factory=list, max_length=100)
    rate_per_second: Limit | None = None
    rate_per_minute: Limit | None = None
    quota_per_day: Limit | None = None
    quota_per_month: Limit | None = None
    algorithm: Literal["fixed", "sliding"] = "fixed"
    fail_mode: Literal["closed", "open"] = "closed"
    request_cost: int = Field(default=1, ge=1, le=1000)
    monthly_fee_cents: Money = 0
    included_requests: Count = 0
    overage_cents_per_1000: Money = 0
    requires_approval: bool = False


class PlanUpdateIn(RequestBody):
    name: Name | None = None
    description: Description | None = None
    apis: list[ApiName | Literal["*"]] | None = Field(default=None, max_length=100)
    rate_per_second: Limit | None = None
    rate_per_minute: Limit | None = None
    quota_per_day: Limit | None = None
    quota_per_month: Limit | None = None
    algorithm: Literal["fixed", "sliding"] | None = None
    fail_mode: Literal["closed", "open"] | None = None
    request_cost: int | None = Field(default=None, ge=1, le=1000)
    monthly_fee_cents: Money | None = None
    included_requests: Count | None = None
    overage_cents_per_1000: Money | None = None
    requires_approval: bool | None = None


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
    monthly_fee_cents: int
    included_requests: int
    overage_cents_per_1000: int
    requires_approval: bool
    retired: bool

    @classmethod
    def of(cls, p: Plan) -> PlanOut:
        skip = {"apis", "algorithm", "fail_mode"}
        fields = {n: getattr(p, n) for n in cls.model_fields if n not in skip}
        return cls(**fields, apis=list(p.apis), algorithm=p.algorithm.value,
                   fail_mode=p.fail_mode.value)


# --- consumers, subscriptions, accounts, usage, audit ---------------------------------------


class ReasonIn(RequestBody):
    reason: str = Field(default="", max_length=500, description="Recorded in the audit log.")


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
                   consumer_id=e.consumer_id, before=e.before, after=e.after, note=e.note)
