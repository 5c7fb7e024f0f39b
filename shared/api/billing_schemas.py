"""Response bodies of billing, reconciliation, analytics and quota routes.

Amounts are integer cents in ``currency``; periods are ``YYYY-MM`` (UTC months); times
are epoch seconds. What the portal shows is documented on each model (docs/billing.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class TierOut(BaseModel):
    up_to: int | None = Field(description="Overage units up to here (cumulative); null: no end.")
    cents_per_1000: int


class StatementLineOut(BaseModel):
    """One (subscription, plan) of the period: fee prorated by seconds, overage by tiers."""

    subscription_id: str
    plan_id: str
    plan_name: str
    seconds: int = Field(description="Seconds this plan was in force in the period.")
    period_seconds: int
    monthly_fee_cents: int
    included_requests: int
    tiers: list[TierOut]
    fee_cents: int = Field(description="round_half_up(fee x seconds / period_seconds)")
    allowance: int = Field(description="ceil(included x seconds / period_seconds)")
    units: int = Field(description="Usage units (request cost) billed on this line.")
    overage_units: int
    overage_cents: int
    units_by_api: dict[str, int]
    total_cents: int


class StatementOut(BaseModel):
    """Portal: a table of lines (plan, days in force, fee, units, allowance, overage),
    the total, and a badge: 'preview' while open, 'final' once closed."""

    consumer_id: str
    period: str
    start: int
    end: int
    status: Literal["open", "closed"]
    computed_at: float
    closed_at: float | None
    lines: list[StatementLineOut]
    unbilled_units_by_api: dict[str, int] = Field(
        description="Usage no active subscription covered: reported, never charged.")
    total_cents: int
    currency: str


class StatementSummary(BaseModel):
    period: str
    status: Literal["open", "closed"]
    total_cents: int
    currency: str
    closed_at: float | None


class StatementsOut(BaseModel):
    items: list[StatementSummary]


class ReconRow(BaseModel):
    api: str
    admitted: int | None = Field(description="Units the gateway admitted (its ledger); null "
                                             "when not kept.")
    metered: int
    billed: int
    unbilled: int


class ReconDifference(BaseModel):
    api: str
    between: Literal["admitted-metered", "metered-billed", "unbilled"]
    units: int = Field(description="The first minus the second.")
    cause: str


class ReconciliationOut(BaseModel):
    """Portal (admin): one row per API with the three counts side by side; differences
    highlighted with their cause. Empty ``differences``: everything agrees."""

    consumer_id: str
    period: str
    statement_status: Literal["open", "closed"]
    rows: list[ReconRow]
    differences: list[ReconDifference]
    notes: list[str]


class ExportOut(BaseModel):
    """One usage export run (docs/billing.md, "Exporting usage"). Hours are
    ``YYYY-MM-DDTHH`` (UTC); ``cursor``: every hour up to it was accepted by the target."""

    target: str = Field(description="The metering service, e.g. openmeter.")
    source: str = Field(description="The CloudEvents source of this deployment.")
    cursor_before: str | None
    cursor: str | None
    scanned_from: str | None = Field(description="First hour compared with metering.")
    scanned_through: str | None
    planned: int = Field(description="Events decided this run.")
    corrections: int = Field(description="Of which: growth of an hour exported before.")
    sent: int = Field(description="Events the target accepted (resent ones included).")
    batches: int
    pending: int = Field(description="Events still waiting in the outbox.")
    raced: int
    shrunk: int
    more: bool = Field(description="Closed hours remain after the cursor: run again.")
