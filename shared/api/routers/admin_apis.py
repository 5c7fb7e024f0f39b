"""Admin: API versions, their lifecycle and OpenAPI documents."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response

from shared.api.admin_schemas import changes
from shared.api.catalog_schemas import (
    ApiCreateIn,
    ApiName,
    ApiOut,
    ApiUpdateIn,
    DocumentOut,
    LifecycleIn,
    OpenApiDocumentIn,
)
from shared.api.deps import AdminActor, Ctx, Paging, encode_cursor, require_admin
from shared.api.errors import responses
from shared.api.schemas import Page, at
from shared.core.models import Lifecycle
from shared.core.policy import merge
from shared.gateway import validation
from shared.management import catalog
from shared.management.errors import Invalid
from shared.management.upstreams import UpstreamPolicy

router = APIRouter(prefix="/v1/admin/apis", tags=["admin: apis"],
                   dependencies=[Depends(require_admin)])


def upstream_policy(ctx: Ctx) -> UpstreamPolicy:
    """Private upstreams only with TOLLWAY_ALLOW_PRIVATE_UPSTREAMS=on (upstreams.py)."""
    return UpstreamPolicy(ctx.settings.allow_private_upstreams,
                          ctx.settings.forbidden_upstream_hosts)


@router.get("", summary="List APIs (every state)")
def list_apis(
    _: AdminActor, ctx: Ctx, paging: Paging,
    name: Annotated[ApiName | None, Query()] = None,
    lifecycle: Literal["draft", "published", "deprecated", "retired"] | None = None,
) -> Page[ApiOut]:
    states = None if lifecycle is None else frozenset({Lifecycle(lifecycle)})
    apis, nxt = catalog.list_page(ctx.store, states=states, name=name, limit=paging.limit,
                                  after=paging.after)
    return Page[ApiOut](items=[ApiOut.of(a) for a in apis], next_cursor=encode_cursor(nxt))


@router.post("", status_code=201, summary="Create an API version (draft)",
             responses=responses(409))
def create_api(body: ApiCreateIn, actor: AdminActor, ctx: Ctx) -> ApiOut:
    return ApiOut.of(catalog.create(ctx.store, ctx.clock, actor, body.model_dump(),
                                    upstream_policy(ctx), budget=ctx.settings.upstream_budget))


@router.get("/{api_id}", summary="One API", responses=responses(404))
def get_api(api_id: str, _: AdminActor, ctx: Ctx) -> ApiOut:
    return ApiOut.of(catalog.get(ctx.store, api_id))


@router.patch("/{api_id}", summary="Change an API", responses=responses(404, 409))
def update_api(api_id: str, body: ApiUpdateIn, actor: AdminActor, ctx: Ctx) -> ApiOut:
    """Changes to a published API reach the gateways within their cache TTL."""
    api = catalog.update(ctx.store, ctx.clock, actor, api_id, changes(body, frozenset()),
                         upstream_policy(ctx), budget=ctx.settings.upstream_budget)
    return ApiOut.of(api)


@router.delete("/{api_id}", status_code=204, summary="Delete a draft API",
               responses=responses(404, 409))
def delete_api(api_id: str, actor: AdminActor, ctx: Ctx) -> Response:
    catalog.delete(ctx.store, ctx.clock, actor, api_id)
    return Response(status_code=204)


@router.post("/{api_id}/lifecycle", summary="Move along draft → published → deprecated → "
             "retired", responses=responses(404, 409))
def transition(api_id: str, body: LifecycleIn, actor: AdminActor, ctx: Ctx) -> ApiOut:
    sunset = body.sunset_at.timestamp() if body.sunset_at else None
    api = catalog.transition(ctx.store, ctx.clock, actor, api_id, Lifecycle(body.state), sunset)
    return ApiOut.of(api)


@router.put("/{api_id}/openapi", summary="Store the API's OpenAPI document",
            responses=responses(404, 409))
def put_document(api_id: str, body: OpenApiDocumentIn, actor: AdminActor,
                 ctx: Ctx) -> DocumentOut:
    """An API with a ``validate`` policy checks requests against it: then a document the
    gateway could not compile (a $ref to nowhere, a schema that is not one) is refused."""
    doc = body.model_dump(mode="json")
    api = catalog.get(ctx.store, api_id)
    merged = [merge(api.policies, r.policies) for r in api.routes]
    if any(p is not None and p.validate is not None for p in merged):
        bad = validation.problems(doc)
        if bad is not None:
            raise Invalid(f"Requests to this API are validated against its document, and "
                          f"{bad.where or '/'} {bad.message}. Fix the document, or remove "
                          "the validate policy first.", field="body")
    meta = catalog.put_document(ctx.store, ctx.clock, actor, api_id, doc)
    return DocumentOut(api_id=api_id, size=meta["size"], updated_at=at(meta["updated_at"]))


@router.get("/{api_id}/openapi", summary="The API's OpenAPI document (any state)",
            responses=responses(404))
def get_document(api_id: str, _: AdminActor, ctx: Ctx) -> dict[str, Any]:
    return catalog.get_document(ctx.store, api_id, public=False)
