"""Public: the published catalog, its OpenAPI documents, and the plans on offer."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shared.api.catalog_schemas import ApiName, CatalogApiOut
from shared.api.deps import Ctx, Paging, encode_cursor
from shared.api.errors import responses
from shared.api.schemas import Page, PublicPlanOut
from shared.management import catalog, plans
from shared.management.errors import NotFound

router = APIRouter(tags=["catalog"])


@router.get("/v1/catalog", summary="Published and deprecated APIs")
def list_catalog(
    ctx: Ctx, paging: Paging, name: Annotated[ApiName | None, Query()] = None
) -> Page[CatalogApiOut]:
    apis, nxt = catalog.list_page(ctx.store, states=catalog.PUBLIC, name=name,
                                  limit=paging.limit, after=paging.after)
    return Page[CatalogApiOut](items=[CatalogApiOut.of(a) for a in apis],
                               next_cursor=encode_cursor(nxt))


@router.get("/v1/catalog/{api_id}", summary="One published API", responses=responses(404))
def get_catalog_api(api_id: str, ctx: Ctx) -> CatalogApiOut:
    return CatalogApiOut.of(catalog.get(ctx.store, api_id, public=True))


@router.get("/v1/catalog/{api_id}/openapi", summary="The API's OpenAPI document",
            responses=responses(404))
def get_catalog_document(api_id: str, ctx: Ctx) -> dict[str, Any]:
    return catalog.get_document(ctx.store, api_id, public=True)


@router.get("/v1/plans", summary="Plans open for subscription")
def list_public_plans(ctx: Ctx, paging: Paging) -> Page[PublicPlanOut]:
    found, nxt = plans.list_page(ctx.store, include_retired=False, limit=paging.limit,
                                 after=paging.after)
    return Page[PublicPlanOut](items=[PublicPlanOut.of(p) for p in found],
                               next_cursor=encode_cursor(nxt))


@router.get("/v1/plans/{plan_id}", summary="One plan open for subscription",
            responses=responses(404))
def get_public_plan(plan_id: str, ctx: Ctx) -> PublicPlanOut:
    plan = plans.get(ctx.store, plan_id)
    if plan.retired:
        raise NotFound(plans.NOT_FOUND)
    return PublicPlanOut.of(plan)
