"""Billing: a developer reads their own statements; an admin reads and closes anyone's.

``GET …/statement?period=YYYY-MM`` answers JSON, or CSV with ``&format=csv``. The period
is a query parameter, not a path segment: it names a month, not a resource someone owns.
"""

import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from shared.api.billing_schemas import (
    ExportOut,
    ReconciliationOut,
    StatementOut,
    StatementsOut,
    StatementSummary,
)
from shared.api.deps import AdminActor, Ctx, CurrentDeveloper, require_admin
from shared.api.errors import responses
from shared.core.models import to_dict
from shared.core.usage_export import UsageExporter
from shared.management import audit, billing, consumers, export, reconciliation
from shared.management.changes import Change
from shared.management.errors import Conflict, commit

router = APIRouter(prefix="/v1/me/billing", tags=["billing"])
admin = APIRouter(prefix="/v1/admin/billing", tags=["admin: billing"],
                  dependencies=[Depends(require_admin)])

Period = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-01"],
                              description="The UTC month, YYYY-MM.")]
Format = Annotated[Literal["json", "csv"], Query(description="csv: text/csv, one row per line")]
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The statement (JSON or CSV)"}}


def _out(st: billing.Statement) -> StatementOut:
    return StatementOut.model_validate(st.as_dict())


def _render(st: billing.Statement, fmt: str) -> StatementOut | Response:
    if fmt == "csv":
        name = f"statement-{st.consumer_id}-{st.period}.csv"
        return Response(billing.to_csv(st), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return _out(st)


def _list(ctx: Ctx, consumer_id: str) -> StatementsOut:
    closed = billing.list_closed(ctx.store, consumer_id)
    current = billing.preview(ctx.store, ctx.clock, consumer_id)
    items = [current, *(s for s in closed if s.period != current.period)]
    return StatementsOut(items=[
        StatementSummary(period=s.period, status=s.status,  # type: ignore[arg-type]
                         total_cents=s.total_cents, currency=s.currency, closed_at=s.closed_at)
        for s in items])


@router.get("/preview", summary="My invoice preview for the current month")
def my_preview(dev: CurrentDeveloper, ctx: Ctx) -> StatementOut:
    """Moves until the month is closed: usage so far, fees prorated to the month's end."""
    return _out(billing.preview(ctx.store, ctx.clock, dev.consumer_id))


@router.get("/statements", summary="My statements, newest first")
def my_statements(dev: CurrentDeveloper, ctx: Ctx) -> StatementsOut:
    return _list(ctx, dev.consumer_id)


@router.get("/statement", summary="One of my statements (JSON or CSV)",
            response_model=StatementOut, responses={**CSV, **responses(422)})
def my_statement(dev: CurrentDeveloper, ctx: Ctx, period: Period | None = None,
                 format: Format = "json") -> StatementOut | Response:
    """Without ``period``: the current month (its preview until it is closed)."""
    month = period or time.strftime("%Y-%m", time.gmtime(ctx.clock.now()))
    return _render(billing.statement(ctx.store, ctx.clock, dev.consumer_id, month), format)


@admin.get("/{consumer_id}/preview", summary="A consumer's invoice preview",
           responses=responses(404))
def consumer_preview(consumer_id: str, _: AdminActor, ctx: Ctx) -> StatementOut:
    consumers.get(ctx.store, consumer_id)
    return _out(billing.preview(ctx.store, ctx.clock, consumer_id))


@admin.get("/{consumer_id}/statements", summary="A consumer's statements",
           responses=responses(404))
def consumer_statements(consumer_id: str, _: AdminActor, ctx: Ctx) -> StatementsOut:
    consumers.get(ctx.store, consumer_id)
    return _list(ctx, consumer_id)


@admin.get("/{consumer_id}/statement", summary="A consumer's statement",
           response_model=StatementOut, responses={**CSV, **responses(404, 422)})
def consumer_statement(consumer_id: str, _: AdminActor, ctx: Ctx, period: Period,
                       format: Format = "json") -> StatementOut | Response:
    consumers.get(ctx.store, consumer_id)
    return _render(billing.statement(ctx.store, ctx.clock, consumer_id, period), format)


@admin.post("/{consumer_id}/close", summary="Close a month's statement",
            responses=responses(404, 409, 422))
def close_statement(consumer_id: str, actor: AdminActor, ctx: Ctx,
                    period: Period) -> StatementOut:
    """Freezes the statement of an ended month (409 before it ends). Closing again answers
    the same statement: a closed period never changes."""
    consumers.get(ctx.store, consumer_id)
    return _out(billing.close(ctx.store, ctx.clock, actor, consumer_id, period))


@admin.get("/{consumer_id}/reconciliation", summary="Admitted vs metered vs billed",
           responses=responses(404, 422))
def reconcile(consumer_id: str, _: AdminActor, ctx: Ctx, period: Period) -> ReconciliationOut:
    """Per API: what the gateway admitted, what metering recorded, what the statement
    bills; every difference with its cause (docs/billing.md)."""
    consumers.get(ctx.store, consumer_id)
    billing.statement(ctx.store, ctx.clock, consumer_id, period)  # validates the period
    report = reconciliation.report(ctx.store, ctx.clock, consumer_id, period)
    return ReconciliationOut.model_validate(to_dict(report))


def get_exporter(request: Request, ctx: Ctx) -> Iterator[UsageExporter]:
    """``app.state.exporter`` when the host set one, else TOLLWAY_EXPORT_URL's."""
    found = getattr(request.app.state, "exporter", None)
    if found is not None:
        yield found
        return
    from shared.wiring import build_exporter

    built = build_exporter(ctx.settings)
    if built is None:
        raise Conflict("No usage export target is configured: set TOLLWAY_EXPORT_URL "
                       "(OpenMeter's base URL) and TOLLWAY_EXPORT_TOKEN.")
    try:
        yield built
    finally:
        getattr(built, "close", lambda: None)()


@admin.post("/export", summary="Export closed hours of usage to OpenMeter",
            operation_id="exportUsage", responses=responses(409, 503))
def export_usage(actor: AdminActor, ctx: Ctx,
                 exporter: Annotated[UsageExporter, Depends(get_exporter)]) -> ExportOut:
    """What the scheduled job does; safe to call any time: hours after the cursor that
    ended two hours ago, plus what late batches added to exported hours, as CloudEvents
    the target deduplicates by id. 409: the target refused a batch (its reason is in
    ``detail``; nothing moved past it); 503: the target could not be reached."""
    run = export.run_export(ctx.store, ctx.clock, exporter, source=ctx.settings.export_source)
    out = ExportOut.model_validate({k: v for k, v in to_dict(run).items()
                                    if k in ExportOut.model_fields})
    after = {**out.model_dump(), "error": run.error}
    commit(ctx.store, ctx.clock, Change([audit.write(
        ctx.clock, actor, "usage.export", audit.Target("export", run.target), after=after)]))
    if run.error and run.refused:
        raise Conflict(f"The export stopped: {run.error}. The cursor stays at "
                       f"{run.cursor or 'its start'}; fix the cause and run it again.")
    if run.error:
        raise HTTPException(503, f"The export stopped: {run.error}. Nothing was lost; "
                                 "run it again later.", headers={"Retry-After": "60"})
    return out
