"""Admin: plans. A plan in use cannot be deleted, only retired."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from shared.api.admin_schemas import PlanCreateIn, PlanOut, PlanUpdateIn, changes
from shared.api.deps import AdminActor, Ctx, Paging, encode_cursor, require_admin
from shared.api.errors import responses
from shared.api.schemas import Page
from shared.management import plans

router = APIRouter(prefix="/v1/admin/plans", tags=["admin: plans"],
                   dependencies=[Depends(require_admin)])


@router.get("", summary="List plans")
def list_plans(
    _: AdminActor, ctx: Ctx, paging: Paging,
    include_retired: Annotated[bool, Query()] = True,
) -> Page[PlanOut]:
    found, nxt = plans.list_page(ctx.store, include_retired=include_retired,
                                 limit=paging.limit, after=paging.after)
    return Page[PlanOut](items=[PlanOut.of(p) for p in found], next_cursor=encode_cursor(nxt))


@router.post("", status_code=201, summary="Create a plan")
def create_plan(body: PlanCreateIn, actor: AdminActor, ctx: Ctx) -> PlanOut:
    fields = body.model_dump()
    fields["fail_mode"] = fields["fail_mode"] or ctx.settings.default_fail_mode
    return PlanOut.of(plans.create(ctx.store, ctx.clock, actor, fields))


@router.get("/{plan_id}", summary="One plan", responses=responses(404))
def get_plan(plan_id: str, _: AdminActor, ctx: Ctx) -> PlanOut:
    return PlanOut.of(plans.get(ctx.store, plan_id))


@router.patch("/{plan_id}", summary="Change a plan", responses=responses(404, 409))
def update_plan(plan_id: str, body: PlanUpdateIn, actor: AdminActor, ctx: Ctx) -> PlanOut:
    """Reaches the gateways within their cache TTL. A null rate or quota removes that limit."""
    return PlanOut.of(plans.update(ctx.store, ctx.clock, actor, plan_id, changes(body)))


@router.post("/{plan_id}/retire", summary="Retire a plan (no new subscriptions)",
             responses=responses(404, 409))
def retire_plan(plan_id: str, actor: AdminActor, ctx: Ctx) -> PlanOut:
    return PlanOut.of(plans.retire(ctx.store, ctx.clock, actor, plan_id))


@router.delete("/{plan_id}", status_code=204, summary="Delete a plan nobody uses",
               responses=responses(404, 409))
def delete_plan(plan_id: str, actor: AdminActor, ctx: Ctx) -> Response:
    plans.delete(ctx.store, ctx.clock, actor, plan_id)
    return Response(status_code=204)
