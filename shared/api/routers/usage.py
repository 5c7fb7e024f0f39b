"""Usage: a developer reads their own; an admin reads anyone's and the top consumers."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator

from shared.api.admin_schemas import TopConsumer, TopOut
from shared.api.deps import AdminActor, Ctx, CurrentDeveloper, require_admin
from shared.api.errors import responses
from shared.api.schemas import ConsumerOut, UsageOut, UsageRow, UsageTotals
from shared.management import consumers, usage
from shared.management.errors import Invalid

router = APIRouter(tags=["usage"])
admin = APIRouter(prefix="/v1/admin/usage", tags=["admin: usage"],
                  dependencies=[Depends(require_admin)])

MAX_DAYS = {"day": 366, "hour": 31}
#: Without a start: 30 days by day; by hour, today and yesterday (UTC) — at most 48 hourly
#: rows per API, what a chart of "the last day or two" wants, not 720.
DEFAULT_DAYS = {"day": 30, "hour": 2}
EPOCH = date(1970, 1, 1)


def _iso_date(value: object) -> object:
    """Only 'YYYY-MM-DD': pydantic would also read '0' as a Unix time."""
    if isinstance(value, str) and not (len(value) == 10 and value[4] == value[7] == "-"):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_iso_date)]


@dataclass(frozen=True, slots=True)
class UsageQuery:
    period: usage.Period
    granularity: Literal["day", "hour"]
    api_id: str | None


def usage_query(
    ctx: Ctx,
    start: Annotated[Day | None, Query(description="First day (UTC); default 29 days "
                                                    "before end by day, the day before end "
                                                    "by hour (48 hourly buckets).")] = None,
    end: Annotated[Day | None, Query(description="Last day (UTC), inclusive; default "
                                                  "today.")] = None,
    granularity: Literal["day", "hour"] = "day",
    api_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> UsageQuery:
    today = datetime.fromtimestamp(ctx.clock.now(), UTC).date()
    for name, day in (("start", start), ("end", end)):
        if day is not None and day < EPOCH:
            raise Invalid(f"{name} is before 1970-01-01: there is no usage then.",
                          field=f"query.{name}")
    period = usage.default_period(end or today, DEFAULT_DAYS[granularity])
    period = usage.Period(start or period.start, end or today)
    if period.end < period.start:
        raise Invalid("end is before start.", field="query.end")
    if period.days > MAX_DAYS[granularity]:
        raise Invalid(f"At most {MAX_DAYS[granularity]} days at {granularity} granularity.",
                      field="query.start")
    return UsageQuery(period, granularity, api_id)


Usage = Annotated[UsageQuery, Depends(usage_query)]


def _totals(t: usage.Totals) -> dict[str, object]:
    return {
        "requests": t.requests, "errors": t.errors, "by_status": dict(t.status),
        "cost": t.cost, "bytes_in": t.bytes_in, "bytes_out": t.bytes_out,
        "avg_latency_ms": round(t.latency_ms / t.requests, 3) if t.requests else 0.0,
    }


def _report(ctx: Ctx, consumer_id: str, q: UsageQuery) -> UsageOut:
    rows, total = usage.report(ctx.store, consumer_id, q.period,
                               hourly=q.granularity == "hour", api_id=q.api_id)
    return UsageOut(
        consumer_id=consumer_id, start=q.period.start, end=q.period.end,
        granularity=q.granularity,
        rows=[UsageRow(period=label, api_id=api, **_totals(t))  # type: ignore[arg-type]
              for label, api, t in rows],
        total=UsageTotals(**_totals(total)),  # type: ignore[arg-type]
    )


@router.get("/v1/me/usage", summary="My usage", responses=responses(422))
def my_usage(dev: CurrentDeveloper, ctx: Ctx, q: Usage) -> UsageOut:
    """By API and day or hour, with counts per status class."""
    return _report(ctx, dev.consumer_id, q)


@admin.get("", summary="A consumer's usage", responses=responses(404))
def consumer_usage(
    _: AdminActor, ctx: Ctx, q: Usage,
    consumer_id: Annotated[str, Query(min_length=1, max_length=100)],
) -> UsageOut:
    consumers.get(ctx.store, consumer_id)
    return _report(ctx, consumer_id, q)


@admin.get("/top", summary="Top consumers by requests")
def top_consumers(
    _: AdminActor, ctx: Ctx, q: Usage,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> TopOut:
    ranked = usage.top(ctx.store, q.period, api_id=q.api_id, limit=limit)
    items = [TopConsumer(consumer=ConsumerOut.of(c), **_totals(t))  # type: ignore[arg-type]
             for c, t in ranked]
    return TopOut(start=q.period.start, end=q.period.end, items=items)
