"""Request and response bodies of the public and developer routes.

Request bodies forbid unknown fields, so a privileged field a developer slips in (plan,
quota, owner, role, status …) is a 422, never silently ignored. Response models list their
fields explicitly: a key is only ever shown as id, name, hint, state and dates, plus the
plaintext ``key`` once, in the response that creates it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
)
from pydantic_core import PydanticCustomError

from shared.core.models import Consumer, KeyRecord, Plan, Subscription
from shared.management.entities import Account

T = TypeVar("T")

#: C0 and C1 control characters, DEL, and the invisible format characters that reorder or
#: hide text (bidi overrides and isolates, line/paragraph separators, zero-width ones).
_HIDDEN = frozenset(
    [*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u200b", "\u200c", "\u200d",
     "\u200e", "\u200f", "\u2028", "\u2029", *map(chr, range(0x202A, 0x202F)),
     *map(chr, range(0x2066, 0x206A)), "\ufeff"]
)
_LINE_BREAKS = frozenset("\t\n\r")


def _one_line(value: str) -> str:
    """Free text shown in lists, logs and the portal: no NUL, controls or hidden text."""
    if any(c in _HIDDEN for c in value):
        raise ValueError("must not contain control or invisible formatting characters")
    return value


def _plain_text(value: str) -> str:
    """Longer free text: tabs and line breaks allowed, other controls not."""
    if any(c in _HIDDEN and c not in _LINE_BREAKS for c in value):
        raise ValueError("must not contain control characters other than tab and line breaks")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
Id = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_one_line)]
PlainText = AfterValidator(_plain_text)
PASSWORD_MIN, PASSWORD_MAX = 12, 256


def _password_length(value: object) -> object:
    """Counted in characters, and said so: pydantic's own check on a SecretStr speaks of
    "items"."""
    if isinstance(value, str) and not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        short = len(value) < PASSWORD_MIN
        raise PydanticCustomError(
            "too_short" if short else "too_long",
            f"Passwords have at {'least' if short else 'most'} {{limit}} characters",
            {"limit": PASSWORD_MIN if short else PASSWORD_MAX},
        )
    return value


Password = Annotated[SecretStr, BeforeValidator(_password_length),
                     Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
KeyState = Literal["active", "revoked", "disabled", "expired"]
SubStatus = Literal["active", "pending", "cancelled"]
Role = Literal["developer", "admin"]


def when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class RequestBody(BaseModel):
    """Unknown fields are refused; so are values of the wrong JSON type ("5" for 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; "
                                                "null on the last page.")


class Health(BaseModel):
    status: Literal["ok"]


# --- auth and profile ------------------------------------------------------------------------


class SignupIn(RequestBody):
    email: EmailStr
    password: Password
    name: Name | None = Field(default=None, description="Shown to admins; defaults to e-mail.")


class LoginIn(RequestBody):
    email: EmailStr
    password: Annotated[SecretStr, Field(min_length=1, max_length=256)]


class SessionOut(BaseModel):
    access_token: str = Field(description="Send as 'Authorization: Bearer <token>'.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name
    expires_in: int = Field(description="Seconds until the token expires.")
    expires_at: datetime
    account_id: str
    consumer_id: str
    role: Role


class ConsumerOut(BaseModel):
    id: str
    name: str
    status: Literal["active", "suspended"]
    owner: str = Field(description="The developer account that owns it, or '' (admin-made).")
    created_at: datetime

    @classmethod
    def of(cls, c: Consumer) -> ConsumerOut:
        return cls(id=c.id, name=c.name, status=c.status.value, owner=c.owner,
                   created_at=at(c.created_at))


class MeOut(BaseModel):
    account_id: str
    email: str
    email_verified: bool = Field(description="The developer opened a verification (or "
                                 "password reset) link sent to this address.")
    role: Role
    created_at: datetime
    consumer: ConsumerOut

    @classmethod
    def of(cls, a: Account, c: Consumer) -> MeOut:
        return cls(account_id=a.id, email=a.email, email_verified=a.email_verified,
                   role=a.role, created_at=at(a.created_at),  # type: ignore[arg-type]
                   consumer=ConsumerOut.of(c))


# --- e-mail verification and password reset -------------------------------------------------

LinkToken = Annotated[str, Field(min_length=1, max_length=256,
                                 description="The token from the link in the e-mail.")]


class VerifyIn(RequestBody):
    token: LinkToken


class VerifiedOut(BaseModel):
    email: str
    email_verified: bool


class VerificationSentOut(BaseModel):
    sent: bool = Field(description="false: the e-mail service refused it; ask again later.")
    detail: str


class PasswordResetIn(RequestBody):
    email: EmailStr


class PasswordResetConfirmIn(RequestBody):
    token: LinkToken
    new_password: Password


class AcceptedOut(BaseModel):
    detail: str


class MeUpdateIn(RequestBody):
    name: Name


# --- keys ------------------------------------------------------------------------------------


class KeyCreateIn(RequestBody):
    name: Name
    expires_in_days: int | None = Field(default=None, ge=1, le=730,
                                        description="Omit for a key that does not expire.")


class KeyOut(BaseModel):
    id: str
    name: str
    hint: str = Field(description="Prefix and last four characters, for recognising a key.")
    state: KeyState
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        default=None, description="Start of the newest hour (UTC) in which this key made a "
        "request, from metering, over the last 90 days; null if none. Set when keys are "
        "read (list, one key), null in the answers of create, rotate and revoke.")

    @classmethod
    def of(cls, k: KeyRecord, state: str, last_used: float | None = None) -> KeyOut:
        return cls(id=k.id, name=k.name, hint=k.hint, state=state,  # type: ignore[arg-type]
                   created_at=at(k.created_at), expires_at=when(k.expires_at),
                   last_used_at=when(last_used))


class KeyCreatedOut(KeyOut):
    key: str = Field(description="The key itself. Shown this once: store it now.")


class RotateIn(RequestBody):
    grace_seconds: int = Field(default=86_400, ge=0, le=7 * 86_400,
                               description="How long the old key keeps working.")


class RotatedOut(KeyCreatedOut):
    previous: KeyOut = Field(description="The old key, now expiring at the end of the grace.")


# --- plans, subscriptions ------------------------------------------------------------------


class OverageTierIO(BaseModel):
    up_to: int | None = Field(default=None, ge=1, le=1_000_000_000_000, description=(
        "Overage units this tier reaches (counted from the first unit above the included "
        "requests, cumulative); null on the last tier: no upper bound."))
    cents_per_1000: int = Field(ge=0, le=1_000_000_000)


def tiers_out(p: Plan) -> list[OverageTierIO]:
    return [OverageTierIO(up_to=t.up_to, cents_per_1000=t.cents_per_1000)
            for t in p.overage_tiers]


class PublicPlanOut(BaseModel):
    id: str
    name: str
    description: str
    apis: list[str] = Field(description="API names granted (all versions); '*' is every API.")
    rate_per_second: int | None
    rate_per_minute: int | None
    quota_per_day: int | None
    quota_per_month: int | None
    monthly_fee_cents: int
    included_requests: int
    overage_cents_per_1000: int
    overage_tiers: list[OverageTierIO] = Field(
        default_factory=list, description="Graduated overage prices; when present they "
        "replace overage_cents_per_1000.")
    requires_approval: bool

    @classmethod
    def of(cls, p: Plan) -> PublicPlanOut:
        skip = {"apis", "overage_tiers"}
        fields = {name: getattr(p, name) for name in cls.model_fields if name not in skip}
        return cls(**fields, apis=list(p.apis), overage_tiers=tiers_out(p))


class SubscribeIn(RequestBody):
    plan_id: Id


class SubscriptionOut(BaseModel):
    id: str
    consumer_id: str
    plan_id: str
    status: SubStatus
    overrides: dict[str, int | None] = Field(
        description="Per-consumer limits replacing the plan's (null: unlimited).")
    created_at: datetime

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(id=s.id, consumer_id=s.consumer_id, plan_id=s.plan_id,
                   status=s.status.value, overrides=dict(s.overrides),
                   created_at=at(s.created_at))


# --- usage -----------------------------------------------------------------------------------


class UsageTotals(BaseModel):
    requests: int
    errors: int = Field(description="4xx + 5xx responses.")
    by_status: dict[str, int] = Field(description="Requests per status class: '2xx', '4xx' …")
    cost: int = Field(description="Billable units (plan request cost x admitted requests).")
    bytes_in: int
    bytes_out: int
    avg_latency_ms: float


class UsageRow(UsageTotals):
    period: str = Field(description="'YYYY-MM-DD' (daily) or 'YYYY-MM-DDTHH' (hourly, UTC).")
    api_id: str


class UsageOut(BaseModel):
    consumer_id: str
    start: date
    end: date
    granularity: Literal["day", "hour"]
    rows: list[UsageRow]
    total: UsageTotals
