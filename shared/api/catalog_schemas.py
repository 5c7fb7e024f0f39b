"""Request and response bodies of the catalog routes (admin APIs and the public catalog).

In partial updates, ``null`` is the same as leaving a field out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from shared.api import policy_schemas
from shared.api.schemas import PlainText, RequestBody, when
from shared.core.models import Api
from shared.core.policy import Policies, to_json

ApiName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Version = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
#: The Azure Functions host keeps /admin and /runtime (any case) for itself and never passes
#: them to the gateway's catch-all route; one catalog drives every cloud, so base paths
#: under them are refused everywhere (docs/azure.md, "Reserved paths").
RESERVED_BASE_PATHS = ("/admin", "/runtime")


def _not_reserved(value: str) -> str:
    first = "/" + value.strip("/").split("/", 1)[0].lower()
    if first in RESERVED_BASE_PATHS:
        raise ValueError(
            f"base paths under {' and '.join(RESERVED_BASE_PATHS)} are reserved by the Azure "
            "Functions host, which never passes them to the gateway; choose another"
        )
    return value


BasePath = Annotated[str, Field(pattern=r"^(/[A-Za-z0-9._~-]+)+$", max_length=200),
                     AfterValidator(_not_reserved)]
RoutePath = Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~!$&'()+,;=:@%/{}*-]*$",
                                 max_length=500)]
Scope = Annotated[str, Field(pattern=r"^[A-Za-z0-9:._/-]{1,64}$")]
Method = Literal["*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
Description = Annotated[str, Field(max_length=2000), PlainText]


#: Gateway policies (docs/policies.md), typed in ``policy_schemas.py``: transform, cors, ip,
#: max_body_bytes, anonymous, limits, cost, traffic, cache, validate. On an API: defaults
#: for every route; on a route: each kind set there replaces the API's.
PolicyDoc = policy_schemas.PolicyDoc


# --- catalog ---------------------------------------------------------------------------------


class UpstreamIO(RequestBody):
    url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2048)]
    weight: int = Field(default=1, ge=1, le=100)


class RouteIO(RequestBody):
    method: Method
    path: RoutePath = Field(description="Below the base path: '/items/{id}', '/*' for any.")
    scopes: list[Scope] = Field(default_factory=list, max_length=20)
    policies: PolicyDoc | None = None


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
    policies: PolicyDoc | None = None


class ApiUpdateIn(RequestBody):
    base_path: BasePath | None = Field(default=None, description="Only while a draft.")
    upstreams: list[UpstreamIO] | None = Field(default=None, min_length=1, max_length=10)
    routes: list[RouteIO] | None = Field(default=None, min_length=1, max_length=500)
    timeout_seconds: float | None = Field(default=None, ge=0.1, le=60.0)
    retries: int | None = Field(default=None, ge=0, le=5)
    description: Description | None = None
    policies: PolicyDoc | None = None


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
    policies: policy_schemas.PoliciesIO | None

    @classmethod
    def of(cls, a: Api) -> ApiOut:
        return cls(
            id=a.id, name=a.name, version=a.version, base_path=a.base_path,
            upstreams=[UpstreamIO(url=u.url, weight=u.weight) for u in a.upstreams],
            routes=[RouteIO(method=r.method, path=r.path,  # type: ignore[arg-type]
                            scopes=list(r.scopes), policies=_out(r.policies))
                    for r in a.routes],
            lifecycle=a.lifecycle.value, timeout_seconds=a.timeout_seconds, retries=a.retries,
            deprecated_at=when(a.deprecated_at), sunset_at=when(a.sunset_at),
            description=a.description, policies=_out(a.policies),
        )


def _out(p: Policies | None) -> Any:
    return policy_schemas.out(policy_schemas.PoliciesIO, to_json(p))


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
