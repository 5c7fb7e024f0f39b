"""Aggregate usage events delivered by a CloudWatch Logs subscription.

The router (and a denying authorizer) log one ``TOLLWAY_USAGE`` line per request; the
subscription filter on their log groups invokes this function asynchronously with batches
of those lines (gzip + base64 in ``awslogs.data``). The batch is added with
``analytics.record_all``: usage (one transaction per consumer x API x hour, deduplicated by
a marker over the group's request ids) and analytics (per API version x hour, chunks with
their own markers) — so a redelivered batch changes nothing.

Delivery is at least once: a store failure raises, Lambda retries the batch (twice, then
the on-failure queue), and the groups and chunks already added are skipped by their
markers.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from shared.adapters import log_usage
from shared.clouds.aws import runtime as rt
from shared.clouds.aws.metrics import PowertoolsMetrics
from shared.core.clock import SystemClock
from shared.metering import analytics
from shared.ports import Store
from shared.settings import Settings
from shared.wiring import build_store

logger = rt.logger("metering")
metrics = PowertoolsMetrics("metering")
settings = rt.settings()


def build(settings: Settings, **overrides: Any) -> Store:
    """The cold-start factory (tests call it with their own store)."""
    return overrides.get("store") or build_store(settings)


store = build(settings)
clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    data = CloudWatchLogsEvent(event).parse_logs_data()
    if data.message_type != "DATA_MESSAGE":  # CONTROL_MESSAGE: the subscription's ping
        return {"recorded": 0, "duplicates": 0, "skipped": 0}
    parsed = [log_usage.parse(line.message) for line in data.log_events]
    usage = [u for u in parsed if u is not None]
    skipped = len(parsed) - len(usage)
    try:  # a StoreError propagates: Lambda retries the whole batch, the markers make it safe
        done = analytics.record_all(store, usage, now=clock.now())
        metrics.count("UsageRecorded", done.events)
        metrics.count("UsageDuplicateGroups", done.duplicates)
        if done.late:  # cannot happen within the template's retentions: alarm on it
            metrics.count("UsageTooLate", done.late)
            logger.error("usage older than the dedup window refused", extra={"late": done.late})
    finally:
        metrics.flush()
    if skipped:
        logger.warning("lines that are not usage events were skipped", extra={"skipped": skipped})
    return {"recorded": done.events, "duplicates": done.duplicates, "skipped": skipped}
