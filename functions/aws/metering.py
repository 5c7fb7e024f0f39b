"""Aggregate usage events delivered by a CloudWatch Logs subscription.

The router (and a denying authorizer) log one ``TOLLWAY_USAGE`` line per request; the
subscription filter on their log groups invokes this function asynchronously with batches
of those lines (gzip + base64 in ``awslogs.data``). Each event is recorded with
``metering.record``: a conditional dedup item per request id (kept 7 days) and the hourly
aggregate, in one transaction — so a redelivered batch changes nothing.

Delivery is at least once: a store failure raises, Lambda retries the batch (twice, then
the on-failure queue), and the events already recorded are skipped by their request id.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

from functions.aws import _runtime as rt
from shared.adapters import aws_usage
from shared.adapters.aws_metrics import PowertoolsMetrics
from shared.ports import Store
from shared.services import metering
from shared.settings import Settings
from shared.wiring import build_store

logger = rt.logger("metering")
metrics = PowertoolsMetrics("metering")
settings = rt.settings()


def build(settings: Settings, **overrides: Any) -> Store:
    """The cold-start factory (tests call it with their own store)."""
    return overrides.get("store") or build_store(settings)


store = build(settings)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    data = CloudWatchLogsEvent(event).parse_logs_data()
    counts = {"recorded": 0, "duplicates": 0, "skipped": 0}
    if data.message_type != "DATA_MESSAGE":  # CONTROL_MESSAGE: the subscription's ping
        return counts
    try:
        for line in data.log_events:
            usage = aws_usage.parse(line.message)
            if usage is None:
                counts["skipped"] += 1
            elif metering.record(store, usage):
                counts["recorded"] += 1
            else:
                counts["duplicates"] += 1
    finally:  # a StoreError propagates: Lambda retries the whole batch, dedup makes it safe
        metrics.count("UsageRecorded", counts["recorded"])
        metrics.count("UsageDuplicates", counts["duplicates"])
        metrics.flush()
    if counts["skipped"]:
        logger.warning("lines that are not usage events were skipped", extra=counts)
    return counts
