"""Scheduled jobs: what the clouds' timers run, each a named step over the store.

``JOBS`` is the list; :func:`run_due` runs the jobs of one cadence (or those named) in
order, each guarded: a job that raises is logged and reported, the next one runs anyway,
and with ``reraise`` the first failure is raised once all have run (so the timer's run
shows as failed and the platform's alarms see it). Every job is idempotent — safe to run
again, late, twice at once, or after a crash half-way:

- ``statements``: close last month's statement of every consumer once ``billing.CLOSE_AFTER``
  (two days) has passed — written ``if_absent``, a closed one is never rewritten;
- ``quota_alerts`` / ``subscription_results``: notices sent once per dedup key (a claim
  written before sending; ``notifications.send_once``);
- ``repair``: finish or abandon management changes interrupted by a crash (``changes.repair``).

Cadence: ``frequent`` (every 5 minutes: repair) and ``hourly`` (the rest). Where they run:
AWS, the jobs function on two EventBridge schedules (``functions/aws/jobs.py``); Azure, the
worker's ``housekeeping`` (5 min, with the purge) and ``jobs`` (hourly) timers; locally,
``POST /v1/admin/notifications/run`` runs the two notice jobs. docs/billing.md.

Adding a job is one line in ``JOBS``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from shared.core import billing as core
from shared.core.clock import Clock
from shared.core.usage_export import UsageExporter
from shared.management import billing, changes, export, notifications, records
from shared.management.entities import ROLE_ADMIN, Actor
from shared.ports import Notifier, Store

log = logging.getLogger("tollway.jobs")

#: Who closes statements in the audit log when no person did.
SCHEDULER = Actor("scheduler", ROLE_ADMIN)

HOURLY, FREQUENT = "hourly", "frequent"


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: Callable[[Store, Clock, Notifier], Any]  # returns something JSON-able for the report
    cadence: str = HOURLY


class PartlyFailed(Exception):
    """Some items of a job failed (the others were done); the next run retries them."""


def close_statements(store: Store, clock: Clock, notifier: Notifier) -> dict[str, int]:
    """Last month's statement of every consumer that existed then; one consumer's failure
    does not stop the others."""
    now = clock.now()
    period = core.month_of(core.month_bounds(core.month_of(now))[0] - 1)
    end = core.month_bounds(period)[1]
    closed = failed = 0
    first: Exception | None = None
    for consumer in records.list_consumers(store):
        if consumer.created_at >= end:
            continue  # did not exist during that month: nothing to bill
        try:
            closed += billing.close_due(store, clock, SCHEDULER, [consumer.id])
        except Exception as exc:
            failed += 1
            first = first or exc
            log.warning("closing %s of %s failed", period, consumer.id, exc_info=True)
    if failed:
        raise PartlyFailed(f"{failed} statement(s) of {period} not closed "
                           f"({closed} closed): {first!r}") from first
    return {"closed": closed}


def _sent(fn: Callable[[Store, Clock, Notifier], notifications.Sent]
          ) -> Callable[[Store, Clock, Notifier], dict[str, int]]:
    return lambda store, clock, notifier: asdict(fn(store, clock, notifier))


JOBS: tuple[Job, ...] = (
    Job("statements", close_statements),
    Job("quota_alerts", _sent(notifications.quota_alerts)),
    Job("subscription_results", _sent(notifications.subscription_results)),
    Job("repair", lambda store, clock, _: changes.repair(store, clock), FREQUENT),
)



def with_export(exporter: UsageExporter | None, source: str = "tollway",
                jobs: tuple[Job, ...] = JOBS) -> tuple[Job, ...]:
    """``jobs`` plus the hourly ``usage_export`` (docs/billing.md, "Exporting usage") when
    an exporter is configured (``wiring.build_exporter(settings)``, ``settings.export_source``).
    A refused or unreachable target fails the job (the cursor stays; the next run resends)."""
    if exporter is None:
        return jobs

    def usage_export(store: Store, clock: Clock, _: Notifier) -> dict[str, Any]:
        run = export.run_export(store, clock, exporter, source=source)
        if run.error:
            raise PartlyFailed(f"usage export stopped at {run.cursor}: {run.error}")
        return asdict(run)

    return (*jobs, Job("usage_export", usage_export))


#: The jobs behind ``POST /v1/admin/notifications/run``.
NOTICES = ("quota_alerts", "subscription_results")


def run_due(store: Store, clock: Clock, notifier: Notifier, *, cadence: str | None = None,
            only: Iterable[str] | None = None, reraise: bool = False,
            jobs: Iterable[Job] = JOBS) -> dict[str, Any]:
    """Run the jobs of ``cadence`` (or named in ``only``; default all), each guarded.

    Returns ``{"ran": {name: result}, "failed": {name: error}, "seconds": {name: s}}``.
    ``reraise``: raise the first failure after every job ran."""
    jobs, names = tuple(jobs), None if only is None else set(only)
    if names is not None and (unknown := names - {j.name for j in jobs}):
        raise ValueError(f"no such job: {', '.join(sorted(unknown))}")
    chosen = [j for j in jobs if (cadence is None or j.cadence == cadence)
              and (names is None or j.name in names)]
    report: dict[str, Any] = {"ran": {}, "failed": {}, "seconds": {}}
    first: Exception | None = None
    for job in chosen:
        started = time.monotonic()
        try:
            report["ran"][job.name] = job.run(store, clock, notifier)
        except Exception as exc:
            first = first or exc
            report["failed"][job.name] = f"{type(exc).__name__}: {exc}"
            log.error("job %s failed", job.name, exc_info=True)
        report["seconds"][job.name] = round(time.monotonic() - started, 3)
    log.info("jobs run: %s", report)
    if reraise and first is not None:
        raise first
    return report
