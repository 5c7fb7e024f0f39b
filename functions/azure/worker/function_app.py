"""The metering worker on Azure Functions: a queue trigger, a five-minute and an hourly timer.

``meter`` (queue trigger on ``%TOLLWAY_USAGE_QUEUE%``, connection ``UsageQueue``): each
message holds one or more ``TOLLWAY_USAGE`` lines (the gateway sends one per request;
``shared/clouds/azure/usage.py``), parsed with the same codec as on AWS
(``shared.adapters.log_usage.parse``) and added with ``analytics.record_all`` — usage (one
transaction per consumer x API x hour with a dedup marker) and analytics (per API version x
hour, chunks with their own markers), so a message delivered twice, or two messages in any
order, count each request once.

- A line that is not a usage event is logged and dropped; the function returns normally and
  the host deletes the message (retrying cannot make it readable).
- A store failure raises: the host makes the message visible again, retries it up to
  ``maxDequeueCount`` (host.json: 5) times, then moves it to ``<queue>-poison``, where it is
  kept for an operator to inspect and replay (docs/azure-deploy.md). Groups and chunks added
  before the failure are skipped on the retry by their markers.
- Events older than ``aggregate.ACCEPT_SECONDS`` (20 days: a replay from the poison queue
  long after the fact) are refused and alarmed (``UsageTooLate``), never counted twice
  after their dedup markers expired.

``housekeeping`` (timer, every 5 minutes): Table Storage has no TTL, so expired items and
idle rate-limit buckets are purged (``purge_expired``); then the ``frequent`` scheduled jobs
(``shared/management/jobs.py``: management changes interrupted by a crash are rolled forward
or abandoned, ``changes.repair``).

``jobs`` (timer, hourly at minute 7): the ``hourly`` scheduled jobs — last month's
statements closed, quota alerts and approval results sent (each once, through the notifier
the settings name: ``TOLLWAY_NOTIFIER``), and the usage export when ``TOLLWAY_EXPORT_URL``
is set. Each job is guarded: one failing does not stop the
others; the run then fails so the host records it, and the next run is the retry.
"""

from __future__ import annotations

import time
from typing import Any

import azure.functions as func

from shared.adapters import log_usage
from shared.clouds.azure import runtime
from shared.clouds.azure.metrics import LogMetrics
from shared.core.clock import Clock, SystemClock
from shared.core.models import UsageEvent
from shared.management import jobs as scheduled
from shared.metering import analytics
from shared.ports import Store
from shared.wiring import build_store, notifier_for, scheduled_jobs

log = runtime.logger("worker")
metrics = LogMetrics("worker")
settings = runtime.settings()
clock: Clock = SystemClock()
store: Store = build_store(settings, clock)
#: The scheduled jobs, plus the hourly usage export when TOLLWAY_EXPORT_URL is set.
hourly_jobs = scheduled_jobs(settings)

PURGE_PAGE = 1000
PURGE_BUDGET = 120.0  # seconds of purging per timer run; the rest waits for the next run

app = func.FunctionApp()


def parse_message(body: bytes) -> tuple[list[UsageEvent], int]:
    """The usage events in one message body and how many lines were not usage events."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [], 1
    events: list[UsageEvent] = []
    bad = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        event = log_usage.parse(line)
        if event is None:
            bad += 1
        else:
            events.append(event)
    if not events and not bad:
        bad = 1  # an empty message is malformed too
    return events, bad


@app.queue_trigger(arg_name="msg", queue_name="%TOLLWAY_USAGE_QUEUE%", connection="UsageQueue")
def meter(msg: func.QueueMessage) -> None:
    metrics.begin(str(msg.id or ""))
    try:
        events, bad = parse_message(msg.get_body() or b"")
        if bad:
            metrics.count("UsageMalformed", bad)
            log.warning(
                "usage message %s: %d line(s) are not usage events; dropped (not retried)",
                msg.id,
                bad,
            )
        if not events:
            return
        # A StoreError propagates: the host retries the message, then moves it to poison.
        done = analytics.record_all(store, events, now=clock.now())
        metrics.count("UsageRecorded", done.events)
        metrics.count("UsageDuplicateGroups", done.duplicates)
        if done.late:  # a replay older than the dedup markers (e.g. from poison): alarm
            metrics.count("UsageTooLate", done.late)
            log.error(
                "usage message %s: %d event(s) older than the dedup window refused",
                msg.id,
                done.late,
            )
    finally:
        metrics.flush()


def purge(store: Store, budget: float = PURGE_BUDGET) -> int:
    """Purge expired items page by page within ``budget`` seconds (no-op for a store whose
    backend expires items by itself)."""
    fn = getattr(store, "purge_expired", None)
    if fn is None or "ttl" in getattr(store, "capabilities", frozenset()):
        return 0
    total, deadline = 0, time.monotonic() + budget
    while time.monotonic() < deadline:
        n = int(fn(PURGE_PAGE))
        total += n
        if n < PURGE_PAGE:
            break
    return total


def run_housekeeping(store: Store, clock: Clock) -> dict[str, Any]:
    """The purge, then the frequent jobs (repair); one failing does not stop the other
    (the failure is re-raised after)."""
    out: dict[str, Any] = {"purged": 0, "repaired": 0}
    failed: BaseException | None = None
    try:
        out["purged"] = purge(store)
    except Exception as exc:
        failed = exc
        log.warning("purge failed", exc_info=True)
    try:
        done = scheduled.run_due(store, clock, notifier_for(settings, store, clock),
                                 cadence=scheduled.FREQUENT, reraise=True)
        out["repaired"] = done["ran"].get("repair", 0)
    except Exception as exc:
        failed = failed or exc
    if failed is not None:
        raise failed
    return out



@app.timer_trigger(
    arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True
)
def housekeeping(timer: func.TimerRequest) -> None:
    metrics.begin("")
    try:
        done = run_housekeeping(store, clock)
        metrics.count("Purged", done["purged"])
        metrics.count("Repaired", done["repaired"])
        if timer.past_due:
            log.info("housekeeping ran late (past due)")
    finally:
        metrics.flush()


def run_jobs(store: Store, clock: Clock) -> dict[str, Any]:
    """The hourly jobs, each guarded; raises the first failure after all ran."""
    return scheduled.run_due(store, clock, notifier_for(settings, store, clock),
                             cadence=scheduled.HOURLY, reraise=True, jobs=hourly_jobs)


@app.timer_trigger(arg_name="timer", schedule="0 7 * * * *", run_on_startup=False, use_monitor=True)
def jobs(timer: func.TimerRequest) -> None:
    metrics.begin("")
    try:
        done = run_jobs(store, clock)
        ran = done["ran"]
        notices = [ran[n] for n in scheduled.NOTICES if n in ran]
        metrics.count("StatementsClosed", ran.get("statements", {}).get("closed", 0))
        metrics.count("NoticesSent", sum(n["sent"] for n in notices))
        metrics.count("NoticesFailed", sum(n["failed"] for n in notices))
        if timer.past_due:
            log.info("jobs ran late (past due)")
    except Exception:
        metrics.count("JobsFailed")
        raise
    finally:
        metrics.flush()
