"""Rate-limit and quota decisions: the core's arithmetic over the store's ``hit``."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass

from shared.core import ledger
from shared.core.clock import Clock
from shared.core.models import Algorithm, Plan
from shared.core.ratelimit import (
    Guard,
    HitResult,
    RateDecision,
    Schedule,
    Slot,
    Window,
    decide,
    learn,
    limits_of,
    plan_counters,
    shard_bucket,
)
from shared.ports import Store, StoreUnavailable

#: (start, end, slots with the ledger's, guards, the Schedule's window): see Limiter.charge
#: (a sharded Schedule's window has each shard's ceilings)
_Charging = tuple[float, float, tuple[Slot, ...], tuple[Guard, ...], Window]
#: Bound on the schedules a Limiter keeps windows for (one per distinct plan in use).
MAX_SCHEDULES = 1024


@dataclass(frozen=True, slots=True)
class Throttled:
    decision: RateDecision | None  # None: the store was unavailable


class Limiter:
    """Every admitted hit also adds to the admission ledger (``core/ledger.py``)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        # Previous-window counts seen by this process, for sliding windows. Small: pruned
        # to the names the latest decision used.
        self._known: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()
        # Which shard a sharded plan's next hit goes to: turns, from a random start so
        # that instances do not all begin on shard 0.
        self._turn = itertools.count(secrets.randbelow(1 << 16))
        # per fixed-window Schedule: (start, end, its slots with this month's ledger slot,
        # the ledger guard, the schedule's window), valid in [start, end)
        self._windows: dict[Schedule, _Charging] = {}

    def charge(
        self, bucket: str, schedule: Schedule, now: float | None = None
    ) -> dict[str, str] | Throttled:
        """The warm path for a fixed-window ``schedule`` (``schedule.fixed``, with limits):
        the RateLimit headers when admitted, else the denial (or ``Throttled(None)`` when
        the store is unavailable). Same decision as ``check``, fewer objects. ``now``: the
        caller's reading of this limiter's clock, if it has one."""
        if now is None:
            now = self.clock.now()
        # One store hit with what is built once per window: no per-request tuples.
        c = self._windows.get(schedule)
        if c is None or not (c[0] <= now < c[1]):
            c = self._charging(schedule, now)
        if schedule.shards != 1:
            return self._charge_shards(bucket, schedule, c, now)
        try:
            result = self.store.hit(bucket, c[2], c[3], schedule.cost)
        except StoreUnavailable:
            return Throttled(None)
        if result.admitted:
            return schedule.headers(c[4], result.counts, now)
        return Throttled(schedule.denied(c[4], result, now))

    def _charging(self, schedule: Schedule, now: float) -> _Charging:
        w = schedule.window(now)
        start, end = ledger.month_bounds(now)
        c = (
            max(w[0], start),
            min(w[1], end),
            (*w[2], ledger.slot(now)),
            (ledger.guard(now),),
            w,
        )
        if len(self._windows) >= MAX_SCHEDULES:  # schedules of plans gone by: start over
            self._windows.clear()
        self._windows[schedule] = c  # a whole tuple: safe to share between threads
        return c

    def _charge_shards(
        self, bucket: str, schedule: Schedule, c: _Charging, now: float
    ) -> dict[str, str] | Throttled:
        """A hot consumer: spread over the shards, a second one before refusing."""
        try:
            shard = next(self._turn) % schedule.shards
            result = self.store.hit(shard_bucket(bucket, shard), c[2], c[3], schedule.cost)
            if not result.admitted:
                shard = (shard + 1) % schedule.shards
                result = self.store.hit(shard_bucket(bucket, shard), c[2], c[3], schedule.cost)
        except StoreUnavailable:
            return Throttled(None)
        charged = schedule.answer(c[4], result, now)
        if isinstance(charged, RateDecision):
            return Throttled(charged)
        return charged

    def count(self, bucket: str, schedule: Schedule, now: float) -> HitResult | None:
        """For a fixed-window, unsharded ``schedule`` whose RateLimit headers no one reads
        (a policy limit): the hit ``charge`` makes, without rendering headers
        (``decide(schedule.counters(now), result)`` is ``charge``'s denial). ``now``: the
        caller's reading of this limiter's clock. None: the store is unavailable."""
        try:
            # No ledger slot: a policy limit's bucket (per header, IP, route...) is not a
            # consumer's and API's, and the ledger is only ever read from those. The
            # window's slots are the Schedule's own, kept for the window.
            return self.store.hit(bucket, schedule.window(now)[2], (), schedule.cost)
        except StoreUnavailable:
            return None

    def check(self, bucket: str, plan: Plan, schedule: Schedule | None = None) -> Throttled:
        """``schedule``: the plan's :func:`schedule_of`, when the caller keeps it (the
        gateway's warm path): fixed windows then cost one ``hit`` and no recomputation."""
        if schedule is not None and schedule.fixed and schedule.limits:
            charged = self.charge(bucket, schedule)
            if isinstance(charged, Throttled):
                return charged
            return Throttled(RateDecision(True, (), 0, None, False, charged))
        limits = limits_of(plan)
        if not limits:
            return Throttled(RateDecision(True, (), 0, None, False))
        if plan.algorithm is Algorithm.FIXED:  # no previous-window bookkeeping needed
            cp = plan_counters(limits, plan.algorithm, self.clock.now(), plan.request_cost, {})
            slots, guards = (*cp.slots, ledger.slot(cp.now)), (ledger.guard(cp.now),)
            try:
                return Throttled(decide(cp, self.store.hit(bucket, slots, guards, cp.cost)))
            except StoreUnavailable:
                return Throttled(None)
        with self._lock:
            known = dict(self._known.get(bucket, {}))
        for _ in range(3):  # a stale sliding-window guard costs a retry, never a wrong answer
            cp = plan_counters(limits, plan.algorithm, self.clock.now(), plan.request_cost, known)
            try:
                result = self.store.hit(bucket, (*cp.slots, ledger.slot(cp.now)),
                                        (*cp.guards, ledger.guard(cp.now)), cp.cost)
            except StoreUnavailable:
                return Throttled(None)
            learn(cp, result, known)
            decision = decide(cp, result)
            if not decision.stale_guard:
                names = {s.name for s in cp.slots} | {g.name for g in cp.guards}
                with self._lock:
                    self._known[bucket] = {k: v for k, v in known.items() if k in names}
                return Throttled(decision)
        return Throttled(None)
