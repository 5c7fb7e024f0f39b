"""Analytics (admin: every API), deprecated callers (admin), and my quota meter."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from shared.api.analytics_schemas import (
    AnalyticsOut,
    AnalyticsRow,
    CallerOut,
    DeprecatedCallersOut,
    DeprecatedOut,
    MyAnalyticsOut,
    MyLatencyOut,
    QuotaOut,
    QuotasOut,
)
from shared.api.deps import AdminActor, Ctx, CurrentDeveloper, require_admin
from shared.api.errors import responses
from shared.api.routers.usage import Day, Usage
from shared.management import analytics, records, usage
from shared.management.errors import Invalid

router = APIRouter(prefix="/v1/me", tags=["usage"])
admin = APIRouter(prefix="/v1/admin/analytics", tags=["admin: analytics"],
                  dependencies=[Depends(require_admin)])

MAX_DAYS = 31
KEYS = {"hour": ("hour", "status_class", "route"), "route": ("route",), "api": ()}
STATS = ("requests", "errors", "bytes_in", "bytes_out", "avg_latency_ms", "p50_ms", "p95_ms",
         "p99_ms")


@admin.get("", summary="Per API version, route, status class and hour",
           responses=responses(422))
def api_analytics(
    _: AdminActor, ctx: Ctx,
    start: Annotated[Day | None, Query(description="First day (UTC); default end.")] = None,
    end: Annotated[Day | None, Query(description="Last day (UTC); default today.")] = None,
    api_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    by: Literal["hour", "route", "api"] = "hour",
) -> AnalyticsOut:
    """Counts, bytes, error rate and latency p50/p95/p99 (merged sketches)."""
    last = end or datetime.fromtimestamp(ctx.clock.now(), UTC).date()
    first = start or last
    if first > last or last - first > timedelta(days=MAX_DAYS - 1):
        raise Invalid(f"start must be on or before end, at most {MAX_DAYS} days apart.",
                      field="query.start")
    first_hour, last_hour = f"{first.isoformat()}T00", f"{last.isoformat()}T23"
    rows = []
    for r in analytics.report(ctx.store, first_hour, last_hour, api_id=api_id, by=by):
        fields: dict[str, Any] = dict(zip(KEYS[by], r.key, strict=True))
        fields.update({k: getattr(r.stats, k) for k in STATS})
        rows.append(AnalyticsRow(api_id=r.api.id, api=r.api.name, version=r.api.version,
                                 error_rate=r.stats.error_rate, **fields))
    return AnalyticsOut(first_hour=first_hour, last_hour=last_hour, by=by, rows=rows)


@admin.get("/deprecated-callers", summary="Who still calls a deprecated version")
def deprecated_callers(
    _: AdminActor, ctx: Ctx, days: Annotated[int, Query(ge=1, le=90)] = 30,
) -> DeprecatedCallersOut:
    items = []
    for found in analytics.deprecated_callers(ctx.store, ctx.clock, days):
        callers = []
        for consumer_id, n in sorted(found.consumers.items(), key=lambda c: -c[1]):
            consumer = records.get_consumer(ctx.store, consumer_id)
            callers.append(CallerOut(consumer_id=consumer_id, requests=n,
                                     consumer_name=consumer.name if consumer else ""))
        items.append(DeprecatedOut(api_id=found.api.id, api=found.api.name,
                                   version=found.api.version, sunset_at=found.api.sunset_at,
                                   callers=callers))
    return DeprecatedCallersOut(days=days, items=items)


def _latency(period: str | None, api_id: str, names: dict[str, tuple[str, str]],
             t: usage.Totals) -> MyLatencyOut:
    name, version = names.get(api_id, ("", ""))
    return MyLatencyOut(
        period=period, api_id=api_id, api=name, version=version, requests=t.requests,
        errors=t.errors, error_rate=round(t.errors / t.requests, 4) if t.requests else 0.0,
        avg_latency_ms=round(t.latency_ms / t.requests, 3) if t.requests else 0.0,
        p50_ms=t.percentile(0.5), p95_ms=t.percentile(0.95), p99_ms=t.percentile(0.99))


@router.get("/analytics", summary="My calls per API: counts, errors, latency percentiles",
            responses=responses(422))
def my_analytics(dev: CurrentDeveloper, ctx: Ctx, q: Usage) -> MyAnalyticsOut:
    """Only my own requests (this session's consumer), per API version and day or hour,
    and per API version over the range: p50/p95/p99 from metering's latency sketches."""
    names = {a.id: (a.name, a.version) for a in records.list_apis(ctx.store)}
    rows, _ = usage.report(ctx.store, dev.consumer_id, q.period,
                           hourly=q.granularity == "hour", api_id=q.api_id)
    per_api = usage.by_api(rows)
    return MyAnalyticsOut(
        consumer_id=dev.consumer_id, start=q.period.start, end=q.period.end,
        granularity=q.granularity,
        rows=[_latency(label, api, names, t) for label, api, t in rows],
        apis=[_latency(None, api, names, t) for api, t in sorted(
            per_api.items(), key=lambda at: (names.get(at[0], ("~", "")), at[0]))])


@router.get("/quota", summary="My monthly quotas: how much is used")
def my_quota(dev: CurrentDeveloper, ctx: Ctx) -> QuotasOut:
    """Per subscription and API with a monthly quota, as the gateway counts it."""
    return QuotasOut(items=[
        QuotaOut(subscription_id=q.subscription_id, plan_id=q.plan_id, plan_name=q.plan_name,
                 api=q.api, used=q.used, limit=q.limit, percent=q.percent,
                 resets_at=q.resets_at)
        for q in analytics.quota(ctx.store, ctx.clock, dev.consumer_id)])
