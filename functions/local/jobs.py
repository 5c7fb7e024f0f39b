"""The hourly scheduled jobs in ``tollway local`` (``make run``), as the clouds' hourly
timers run them (docs/billing.md, "Scheduled jobs"): close last month's statements, quota
alerts and approval results through the notifier the settings name (the store's outbox
unless the environment says otherwise), and the usage export when ``TOLLWAY_EXPORT_URL``
is set. Once at start-up (after the seed), then every hour, on a daemon thread; a failing
job is logged (``tollway.jobs``) and the next round retries it: the stack never stops
because of a job. Repair and the purge stay on the stack's 30 s maintenance thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shared.core.clock import Clock
from shared.management import jobs
from shared.ports import Store
from shared.settings import Settings
from shared.wiring import notifier_for, scheduled_jobs

log = logging.getLogger("tollway.jobs")

#: Seconds between two hourly runs.
HOURLY_INTERVAL = 3600.0


def run_hourly(settings: Settings, store: Store, clock: Clock) -> dict[str, Any] | None:
    """One hourly run: the report of ``jobs.run_due``, or None when it could not even
    start (logged). Never raises."""
    try:
        return jobs.run_due(store, clock, notifier_for(settings, store, clock),
                            cadence=jobs.HOURLY, jobs=scheduled_jobs(settings))
    except Exception:
        log.exception("hourly jobs could not run")
        return None


def run_every(interval: float, run: Callable[[], object],
              wait: Callable[[float], bool]) -> None:
    """``run()`` now, then after each ``wait(interval)`` that answers False (True: stop)."""
    while True:
        try:
            run()
        except Exception:  # run_hourly does not raise; belt and braces for the thread
            log.exception("hourly jobs failed")
        if wait(interval):
            return


def start_hourly(settings: Settings, store: Store, clock: Clock,
                 interval: float = HOURLY_INTERVAL) -> threading.Event:
    """Start the hourly jobs' daemon thread; setting the returned event stops it."""
    stop = threading.Event()
    threading.Thread(
        target=run_every,
        args=(interval, lambda: run_hourly(settings, store, clock), stop.wait),
        name="tollway-jobs", daemon=True,
    ).start()
    return stop
