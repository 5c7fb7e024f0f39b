"""Response bodies of analytics, deprecated callers and the quota meter."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class StatsOut(BaseModel):
    requests: int
    errors: int = Field(description="4xx and 5xx answers.")
    error_rate: float
    bytes_in: int
    bytes_out: int
    avg_latency_ms: float
    p50_ms: float | None = Field(description="Within 5 % (relative) of the exact value.")
    p95_ms: float | None
    p99_ms: float | None


class AnalyticsRow(StatsOut):
    api_id: str
    api: str
    version: str
    hour: str | None = None
    status_class: str | None = None
    route: str | None = None


class AnalyticsOut(BaseModel):
    """Portal (admin): per API and version a chart of requests per hour stacked by status
    class, p50/p95/p99 lines, and a table per route with error rates."""

    first_hour: str
    last_hour: str
    by: str
    rows: list[AnalyticsRow]


class MyLatencyOut(BaseModel):
    """My calls to one API version in one period (or the whole range: ``period`` null)."""

    period: str | None = Field(description="Day (YYYY-MM-DD) or hour (YYYY-MM-DDTHH), UTC; "
                               "null in `apis` (the whole range).")
    api_id: str
    api: str = Field(description="The API's name; empty if it has been deleted.")
    version: str
    requests: int
    errors: int = Field(description="4xx and 5xx answers.")
    error_rate: float
    avg_latency_ms: float
    p50_ms: float | None = Field(description="Within 5 % (relative) of the exact value; null "
                                 "when no request of the period has a latency sketch.")
    p95_ms: float | None
    p99_ms: float | None


class MyAnalyticsOut(BaseModel):
    """Portal: my own latency percentiles per API, and per day or hour."""

    consumer_id: str
    start: date
    end: date
    granularity: str
    rows: list[MyLatencyOut]
    apis: list[MyLatencyOut] = Field(description="Per API version over the whole range.")


class CallerOut(BaseModel):
    consumer_id: str
    consumer_name: str
    requests: int


class DeprecatedOut(BaseModel):
    api_id: str
    api: str
    version: str
    sunset_at: float | None
    callers: list[CallerOut]


class DeprecatedCallersOut(BaseModel):
    """Portal (admin): who still calls each deprecated version, and how much."""

    days: int
    items: list[DeprecatedOut]


class QuotaOut(BaseModel):
    subscription_id: str
    plan_id: str
    plan_name: str
    api: str
    used: int
    limit: int
    percent: int = Field(description="Whole percent used, rounded down.")
    resets_at: float


class QuotasOut(BaseModel):
    """Portal (developer): one meter per API, "73 % of this month's quota used"."""

    items: list[QuotaOut]
