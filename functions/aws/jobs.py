"""Scheduled jobs on AWS (``shared/management/jobs.py``): one function, two EventBridge
schedules (template.yaml ``JobsFunction``) whose input names the cadence:

- every 5 minutes ``{"cadence": "frequent"}``: finish or abandon interrupted management
  changes (``changes.repair``);
- hourly ``{"cadence": "hourly"}``: close last month's statements, quota alerts, approval
  results (each notice once, through the notifier the settings name: SES when deployed
  with a sender, else the store's outbox), and the usage export when
  ``TOLLWAY_EXPORT_URL`` is set (``jobs.with_export``).

Every job is idempotent, so the schedule needs no retries: a failed job is logged and
counted (``JobsFailed``), the others still run, and the invocation then fails so Lambda's
``Errors`` metric shows it; the next scheduled run is the retry.
"""

from __future__ import annotations

from typing import Any

from shared.clouds.aws import runtime as rt
from shared.clouds.aws.metrics import PowertoolsMetrics
from shared.core.clock import Clock, SystemClock
from shared.management import jobs
from shared.ports import Store
from shared.wiring import build_store, notifier_for, scheduled_jobs

logger = rt.logger("jobs")
metrics = PowertoolsMetrics("jobs")
settings = rt.settings()
clock: Clock = SystemClock()
store: Store = build_store(settings, clock)
#: JOBS, plus the hourly usage export when TOLLWAY_EXPORT_URL is set (docs/billing.md).
scheduled = scheduled_jobs(settings)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    cadence = event.get("cadence", jobs.HOURLY)
    if cadence not in (jobs.HOURLY, jobs.FREQUENT):
        raise ValueError(f"cadence {cadence!r}: choose {jobs.HOURLY} or {jobs.FREQUENT}")
    try:
        report = jobs.run_due(store, clock, notifier_for(settings, store, clock),
                              cadence=cadence, jobs=scheduled)
        ran = report["ran"]
        notices = [ran[n] for n in jobs.NOTICES if n in ran]
        metrics.count("JobsFailed", len(report["failed"]))
        metrics.count("StatementsClosed", ran.get("statements", {}).get("closed", 0))
        metrics.count("NoticesSent", sum(n["sent"] for n in notices))
        metrics.count("NoticesFailed", sum(n["failed"] for n in notices))
        metrics.count("Repaired", ran.get("repair", 0))
    finally:
        metrics.flush()
    logger.info("jobs run", extra={"cadence": cadence, "report": report})
    if report["failed"]:
        raise RuntimeError(f"scheduled jobs failed: {report['failed']}")
    return report
