"""The typed shape of ``policies`` (docs/policies.md), for the OpenAPI document.

These models mirror what ``shared/core/policy.py`` reads: every field, its type and its
bounds are documented in /v1/openapi.json. Pydantic checks the shape (a 422 naming the
field, ``body.policies.cache.ttl_seconds``); ``policy.parse`` then checks what a schema
cannot say (credential headers, CIDRs, combinations) with its own message and field path,
and turns the model into the stored dict. The models are never looser than ``parse``
accepts nor stricter than what it writes back (``to_json``), so a GET's ``policies`` passes
its PATCH.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.core.policy import PolicyError, parse

HeaderName = Annotated[str, Field(pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,100}$")]
Bound = Annotated[int, Field(ge=1, le=10**9)]


class _Policy(BaseModel):
    """Unknown fields refused; unset (or null) fields are left out of the JSON."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        """Responses are documented by their fields: the serializer below only leaves out
        what is unset (without this, a wrap serializer documents them as anything)."""
        return handler({k: v for k, v in schema.items() if k != "serialization"})

    @model_serializer(mode="wrap")
    def _set_only(self, nxt: Any) -> Any:
        out = nxt(self)
        if not isinstance(out, dict):
            return out
        if "validate_" in out:  # the field's alias, whatever the caller's by_alias
            out["validate"] = out.pop("validate_")
        return {k: v for k, v in out.items() if v is not None}


class HeaderOpsIO(_Policy):
    """Applied in order: remove, rename (old: new), set (name: value)."""

    remove: list[HeaderName] | None = Field(default=None, max_length=50)
    rename: dict[str, str] | None = Field(default=None, max_length=50)
    set: dict[str, str] | None = Field(default=None, max_length=50)


class TransformIO(_Policy):
    request_headers: HeaderOpsIO | None = None
    response_headers: HeaderOpsIO | None = None
    strip_prefix: str | None = Field(default=None, max_length=200, examples=["/v1"])
    add_prefix: str | None = Field(default=None, max_length=200, examples=["/api"])
    query_remove: list[str] | None = Field(default=None, max_length=50)
    query_set: dict[str, str] | None = Field(default=None, max_length=50,
                                             description="Values already percent-encoded.")


class CorsIO(_Policy):
    origins: list[str] = Field(min_length=1, max_length=100,
                               examples=[["https://app.example.com"]])
    methods: list[Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]] | None \
        = None
    headers: list[HeaderName] | None = Field(default=None, max_length=100)
    expose: list[HeaderName] | None = Field(default=None, max_length=100)
    credentials: bool | None = Field(default=None, description="Not with origins ['*'].")
    max_age: int | None = Field(default=None, ge=0, le=86_400, description="Default 600.")


class IpIO(_Policy):
    """IPv4/IPv6 addresses or CIDR blocks. Deny wins; a non-empty allow admits only its
    networks. At least one list."""

    allow: list[str] | None = Field(default=None, max_length=1000,
                                    examples=[["198.51.100.0/24"]])
    deny: list[str] | None = Field(default=None, max_length=1000,
                                   examples=[["203.0.113.0/24"]])


class LimitIO(_Policy):
    by: Literal["consumer", "key", "ip", "header", "consumer+route"]
    header: HeaderName | None = Field(default=None, description="Only with by: header.")
    rate_per_second: Bound | None = None
    rate_per_minute: Bound | None = None
    quota_per_day: Bound | None = None
    quota_per_month: Bound | None = None
    shadow: bool | None = Field(default=None, description="Count and report, never deny.")


class AnonymousIO(_Policy):
    rate_per_second: Bound | None = None
    rate_per_minute: Bound | None = None
    quota_per_day: Bound | None = None


class BreakerIO(_Policy):
    failure_rate: float | None = Field(default=None, ge=0.01, le=1.0)
    min_requests: int | None = Field(default=None, ge=1, le=10_000)
    window_seconds: float | None = Field(default=None, ge=1, le=3600)
    open_seconds: float | None = Field(default=None, ge=1, le=3600)
    probes: int | None = Field(default=None, ge=1, le=100)


class TrafficIO(_Policy):
    timeout_seconds: float | None = Field(default=None, ge=0.1, le=60.0)
    retries: int | None = Field(default=None, ge=0, le=5)
    retry_unsafe: bool | None = None
    sticky: bool | None = None
    breaker: BreakerIO | None = None


class CacheIO(_Policy):
    ttl_seconds: int = Field(ge=1, le=86_400)
    vary_query: bool | None = Field(default=None, description="Default true.")
    vary_headers: list[HeaderName] | None = Field(default=None, max_length=20)
    shared: bool | None = Field(default=None, description=(
        "One entry for every consumer, also kept in the deployment's store for small "
        "answers so that every gateway instance shares it."))
    private: bool | None = None


class ValidateIO(_Policy):
    """Check requests against the API's OpenAPI document (PUT /v1/admin/apis/{id}/openapi)."""

    body: bool | None = Field(default=None, description="The JSON request body.")
    query: bool | None = Field(default=None, description="Query parameters.")
    path: bool | None = Field(default=None, description="Path parameters.")


class PoliciesIO(_Policy):
    """Gateway policies (docs/policies.md). On an API: defaults for every route; on a
    route: each kind set there replaces the API's. ``{}`` clears them."""

    transform: TransformIO | None = None
    cors: CorsIO | None = None
    ip: IpIO | None = None
    max_body_bytes: int | None = Field(default=None, ge=0, le=6 * 1024 * 1024)
    anonymous: AnonymousIO | None = None
    limits: list[LimitIO] | None = Field(default=None, max_length=10)
    cost: int | None = Field(default=None, ge=0, le=1000)
    traffic: TrafficIO | None = None
    cache: CacheIO | None = None
    validate_: ValidateIO | None = Field(default=None, alias="validate")

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ScopedPoliciesIO(_Policy):
    """A plan's or a consumer's policies: IP lists and limits, on top of the API's and the
    route's (every list must admit; every limit is charged)."""

    ip: IpIO | None = None
    limits: list[LimitIO] | None = Field(default=None, max_length=10)


def _checked(kinds: tuple[str, ...] | None) -> Any:
    def check(value: BaseModel | None) -> BaseModel | None:
        if value is not None:
            try:
                parse(value.model_dump(), kinds=kinds)
            except PolicyError as e:  # the field path inside policies, then what to do
                raise ValueError(str(e)) from None
        return value

    return check


#: In a request body: checked by the model, then by ``policy.parse``; ``model_dump`` gives
#: what was set (the stored shape ``parse`` reads).
PolicyDoc = Annotated[PoliciesIO, AfterValidator(_checked(None))]
ScopedPolicyDoc = Annotated[ScopedPoliciesIO, AfterValidator(_checked(("ip", "limits")))]


def out(model: type[BaseModel], value: dict[str, Any] | None) -> Any:
    """A stored policies dict as its response model (None stays None)."""
    return None if value is None else model.model_validate(value, strict=False)
