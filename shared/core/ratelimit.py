"""Rate limits and quotas as counters in windows — pure arithmetic, no I/O.

A plan's limits become *slots*: named counters (``m29446560`` = minute window 29446560)
each with a ceiling. The store admits a request only if every slot stays at or under its
ceiling after adding the cost, in one conditional atomic update (``Store.hit``, ports.py).

Rate limits (per second / per minute) use the plan's algorithm:

* fixed window — one slot per limit; exact and always one store round trip;
* sliding-window counter — the current window's ceiling is lowered by the previous
  window's count weighted by how much of it still overlaps the sliding window. The
  previous count is read from a per-process cache and *guarded* (``prev <= assumed``) in
  the same update, so a stale cache costs one retry, never a wrong decision.

Quotas (per day / per month) are calendar windows in UTC, always fixed.
"""

from __future__ import annotations

import calendar
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import NamedTuple

from shared.core.models import Algorithm, Plan


class Unit(Enum):
    SECOND = ("s", 1)
    MINUTE = ("m", 60)
    DAY = ("d", 86_400)
    MONTH = ("M", 0)  # calendar month, variable length

    @property
    def code(self) -> str:
        return self.value[0]

    def window(self, now: float) -> tuple[int, float, float]:
        """(window index, start, end) of the window containing ``now``."""
        if self is Unit.MONTH:
            return _month_of_day(int(now // 86_400))
        size = self.value[1]
        index = int(now // size)
        return index, float(index * size), float((index + 1) * size)


@functools.lru_cache(maxsize=64)
def _month_of_day(day: int) -> tuple[int, float, float]:
    # Calendar arithmetic once per UTC day, not once per request.
    dt = datetime.fromtimestamp(day * 86_400, UTC)
    index = dt.year * 12 + dt.month - 1
    return index, _month_start(index), _month_start(index + 1)


def _month_start(index: int) -> float:
    year, month0 = divmod(index, 12)
    return float(calendar.timegm((year, month0 + 1, 1, 0, 0, 0)))


@dataclass(frozen=True, slots=True)
class Limit:
    name: str  # policy name in RateLimit headers
    unit: Unit
    max: int
    is_quota: bool


@functools.lru_cache(maxsize=1024)
def limits_of(plan: Plan) -> tuple[Limit, ...]:
    out = []
    for name, unit, value, quota in (
        ("per-second", Unit.SECOND, plan.rate_per_second, False),
        ("per-minute", Unit.MINUTE, plan.rate_per_minute, False),
        ("per-day", Unit.DAY, plan.quota_per_day, True),
        ("per-month", Unit.MONTH, plan.quota_per_month, True),
    ):
        if value is not None:
            out.append(Limit(name, unit, value, quota))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Slot:
    """Add ``cost`` to counter ``name`` only if the result stays <= ``ceiling``."""

    name: str
    ceiling: int
    expires_at: float


@dataclass(frozen=True, slots=True)
class Guard:
    """Read-only precondition: counter ``name`` (absent = 0) must be <= ``at_most``."""

    name: str
    at_most: int


class HitResult(NamedTuple):
    """What the store answers. ``counts`` holds every slot and guard counter it knows:
    after the increment when admitted, as found when not. (A named tuple: made once per
    request, it costs a fraction of a frozen dataclass.)"""

    admitted: bool
    counts: Mapping[str, int]


def admit(
    counts: Mapping[str, int], slots: Sequence[Slot], guards: Sequence[Guard], cost: int
) -> HitResult:
    """The admission rule of ``Store.hit``, for stores that evaluate it in Python.

    ``counts`` are the bucket's live counters (expired ones already dropped). Admitted:
    ``cost`` added to every slot; the answer's counts are the new ones (slots) and the
    guards as found. Denied: the counts as found. DynamoDB evaluates the same rule in its
    condition expression; the contract suite holds both to it.
    """
    ok = all(counts.get(s.name, 0) + cost <= s.ceiling for s in slots) and all(
        counts.get(g.name, 0) <= g.at_most for g in guards
    )
    out = dict(counts)
    if ok:
        for s in slots:
            out[s.name] = counts.get(s.name, 0) + cost
    return HitResult(ok, out)


@dataclass(frozen=True, slots=True)
class _Plan:
    limit: Limit
    slot: Slot
    prev_name: str | None  # sliding only
    weight: float  # share of the previous window still inside the sliding window
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class CounterPlan:
    """The slots and guards for one decision, plus what is needed to read the answer."""

    slots: tuple[Slot, ...]
    guards: tuple[Guard, ...]
    parts: tuple[_Plan, ...]
    cost: int
    now: float
    assumed_prev: Mapping[str, int]


# Counters outlive their window a little so that late readers (clock skew) still see them,
# and month counters stay readable for usage display.
_GRACE = 120.0


def plan_counters(
    limits: Sequence[Limit],
    algorithm: Algorithm,
    now: float,
    cost: int,
    known: Mapping[str, int],
) -> CounterPlan:
    """Slots and guards for ``limits`` at ``now``. ``known`` holds previous-window counts
    this process has seen (sliding windows read from it; absent means assume 0)."""
    slots: list[Slot] = []
    guards: list[Guard] = []
    parts: list[_Plan] = []
    assumed: dict[str, int] = {}
    for lim in limits:
        index, start, end = lim.unit.window(now)
        name = f"{lim.unit.code}{index}"
        ceiling = lim.max
        prev_name: str | None = None
        weight = 0.0
        if algorithm is Algorithm.SLIDING and not lim.is_quota:
            size = end - start
            weight = 1.0 - (now - start) / size
            prev_name = f"{lim.unit.code}{index - 1}"
            prev = known.get(prev_name, 0)
            assumed[prev_name] = prev
            ceiling = lim.max - math.floor(prev * weight)
            guards.append(Guard(prev_name, prev))
            expires = end + (end - start) + _GRACE  # stays readable as next window's "prev"
        else:
            expires = end + _GRACE
        slot = Slot(name, ceiling, expires)
        slots.append(slot)
        parts.append(_Plan(lim, slot, prev_name, weight, start, end))
    return CounterPlan(tuple(slots), tuple(guards), tuple(parts), cost, now, assumed)


@dataclass(frozen=True, slots=True)
class LimitState:
    limit: Limit
    remaining: int
    reset_seconds: int  # until the window (or the sliding deficit) frees capacity
    window_seconds: int


@dataclass(frozen=True, slots=True)
class RateDecision:
    admitted: bool
    states: tuple[LimitState, ...]
    retry_after: int  # seconds; 0 when admitted
    exceeded: Limit | None
    stale_guard: bool  # a guard failed: refresh ``known`` from counts and decide again
    # The RateLimit headers, when already rendered (Schedule's fast path leaves ``states``
    # empty then): exactly what ``ratelimit_headers(states)`` would give.
    headers: Mapping[str, str] | None = None


def decide(cp: CounterPlan, result: HitResult) -> RateDecision:
    """Read the store's answer for ``cp``."""
    counts = result.counts
    stale = any(counts.get(g.name, 0) > g.at_most for g in cp.guards)
    if not result.admitted and stale:
        return RateDecision(False, (), 0, None, True)
    states: list[LimitState] = []
    exceeded: Limit | None = None
    retry_after = 0
    for part in cp.parts:
        lim = part.limit
        current = counts.get(part.slot.name, 0)
        used = current
        if part.prev_name is not None:
            used += math.floor(counts.get(part.prev_name, 0) * part.weight)
        remaining = max(0, lim.max - used)
        reset = max(1, math.ceil(part.end - cp.now))
        window = int(part.end - part.start)
        blocked = (not result.admitted) and current + cp.cost > part.slot.ceiling
        if blocked and part.prev_name is not None and current + cp.cost <= lim.max:
            # Only the previous window's weight blocks: capacity returns as it slides out.
            prev = counts.get(part.prev_name, 0)
            need = current + cp.cost + prev * part.weight - lim.max
            reset = max(1, math.ceil(need / prev * window)) if prev else 1
        if blocked and (exceeded is None or reset > retry_after):
            exceeded, retry_after = lim, reset
        states.append(LimitState(lim, remaining, reset, window))
    return RateDecision(result.admitted, tuple(states), retry_after, exceeded, False)


def learn(cp: CounterPlan, result: HitResult, known: dict[str, int]) -> None:
    """Remember previous-window counts the store reported, for the next sliding decision.
    Keeps the dict small: only names this plan uses."""
    for part in cp.parts:
        if part.prev_name is not None:
            known[part.prev_name] = max(
                known.get(part.prev_name, 0), result.counts.get(part.prev_name, 0)
            )
            # Our current window becomes the next one's "prev"; seed it as a lower bound.
            known[part.slot.name] = max(
                known.get(part.slot.name, 0), result.counts.get(part.slot.name, 0)
            )


def _item(name: str, params: str) -> str:
    return f'"{name}";{params}'


def ratelimit_headers(states: Sequence[LimitState]) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` per draft-ietf-httpapi-ratelimit-headers-11."""
    if not states:
        return {}
    policy = ", ".join(_item(s.limit.name, f"q={s.limit.max};w={s.window_seconds}") for s in states)
    current = ", ".join(_item(s.limit.name, f"r={s.remaining};t={s.reset_seconds}") for s in states)
    return {"RateLimit-Policy": policy, "RateLimit": current}


_NO_KNOWN: Mapping[str, int] = {}

#: (start, end, slots, parts, RateLimit-Policy header, RateLimit format, and per part
#: (ceiling, slot name, window end, the plan's limit)) of one window.
Window = tuple[
    float,
    float,
    tuple[Slot, ...],
    tuple[_Plan, ...],
    str,
    str,
    tuple[tuple[int, str, float, int], ...],
]


class Schedule:
    """One plan's limits with what only changes once per window computed once per window:
    the slots, the ``RateLimit-Policy`` header and the ``RateLimit`` header's format.

    For fixed windows (the common case), a decision is then one store ``hit`` plus a few
    subtractions and one ``%`` format; sliding windows (whose ceilings move with ``now``)
    go through :func:`plan_counters` every time. Decisions are identical to
    :func:`plan_counters` + :func:`decide` + :func:`ratelimit_headers` (unit-tested).
    A Schedule is shared between threads: its window cache is one tuple, replaced whole.

    Sharded counters (``shards`` = N > 1, fixed windows only): the caller spreads hits
    over N buckets (:func:`shard_bucket`); each shard's ceiling is ``ceil(max / N)``, so a
    window admits at most ``N * ceil(max / N) <= max + N - 1`` in all (the over-admission
    bound), and a request can be refused while another shard still has room (the limiter
    tries a second shard before refusing). ``RateLimit`` reports the plan's limits, with
    ``remaining`` estimated as the chosen shard's room times N.
    """

    __slots__ = ("_second", "_window", "algorithm", "cost", "fixed", "limits", "shards")

    def __init__(
        self, limits: tuple[Limit, ...], algorithm: Algorithm, cost: int, shards: int = 1
    ) -> None:
        self.limits, self.algorithm, self.cost = limits, algorithm, cost
        self.fixed = algorithm is Algorithm.FIXED or all(lim.is_quota for lim in limits)
        self.shards = max(1, shards) if self.fixed else 1
        self._window: Window | None = None
        # (whole second, window, the RateLimit format with that second's resets written
        # in): the resets only change once a second (see headers)
        self._second: tuple[int, Window, str] | None = None

    def window(self, now: float) -> Window:
        """The window containing ``now``: computed once per window, then this tuple."""
        w = self._window
        if w is None or not (w[0] <= now < w[1]):
            n = self.shards
            limits = self.limits
            if n > 1:
                limits = tuple(
                    Limit(lim.name, lim.unit, -(-lim.max // n), lim.is_quota) for lim in limits
                )
            cp = plan_counters(limits, Algorithm.FIXED, now, self.cost, _NO_KNOWN)
            start = max(p.start for p in cp.parts)
            end = min(p.end for p in cp.parts)
            flat = tuple(
                (p.limit.max, p.slot.name, p.end, whole.max)
                for p, whole in zip(cp.parts, self.limits, strict=True)
            )
            policy = ", ".join(
                _item(whole.name, f"q={whole.max};w={int(p.end - p.start)}")
                for p, whole in zip(cp.parts, self.limits, strict=True)
            )
            w = (start, end, cp.slots, cp.parts, policy, _fmt_of(cp), flat)
            self._window = w
        return w

    def counters(self, now: float) -> CounterPlan:
        """``plan_counters(limits, FIXED, now, cost, {})``, cached per window (per shard
        ceilings when sharded)."""
        w = self.window(now)
        return CounterPlan(w[2], (), w[3], self.cost, now, _NO_KNOWN)

    def headers(self, w: Window, counts: Mapping[str, int], now: float) -> dict[str, str]:
        """The RateLimit headers of window ``w`` (:meth:`window`) after an admitted hit
        whose answer is ``counts`` (every slot's count: none above its ceiling). A reset
        is ``ceil(end - now)``, which for a window ending on a whole second is
        ``end - int(now)``: the same all second long, so the format with the resets
        written in is made once a second, and only the remainders are filled in."""
        second = int(now)
        f = self._second
        if f is None or f[0] != second or f[1] is not w:
            f = self._second = (second, w, _resets_fmt(w, second))
        if self.shards != 1:
            return self._shard_headers(w, counts, f[2])
        lims = w[6]
        if len(lims) == 2:  # the usual plan: a rate and a quota, written out
            (m0, n0, _, _), (m1, n1, _, _) = lims
            l0, l1 = m0 - counts[n0], m1 - counts[n1]
            left: tuple[int, ...] = (l0 if l0 > 0 else 0, l1 if l1 > 0 else 0)
        else:
            left = tuple([max(0, most - counts[name]) for most, name, _, _ in lims])
        return {"RateLimit-Policy": w[4], "RateLimit": f[2] % left}

    def _shard_headers(self, w: Window, counts: Mapping[str, int], fmt: str) -> dict[str, str]:
        """:meth:`headers` of a sharded plan: the plan's limits, ``remaining`` estimated
        as the shard's room times N (also for a refused hit: a count may be missing)."""
        n = self.shards
        left = tuple([max(0, min(whole, (most - counts.get(name, 0)) * n))
                      for most, name, _, whole in w[6]])
        return {"RateLimit-Policy": w[4], "RateLimit": fmt % left}

    def charge(
        self, hit: Callable[..., HitResult], bucket: str, now: float
    ) -> dict[str, str] | RateDecision:
        """One fixed-window decision: ``hit(bucket, slots, (), cost)`` (the store's), then
        the RateLimit headers when admitted, else the :func:`decide` of the denial."""
        w = self.window(now)
        return self.answer(w, hit(bucket, w[2], (), self.cost), now)

    def answer(self, w: Window, result: HitResult, now: float) -> dict[str, str] | RateDecision:
        """Read the store's answer to a hit of window ``w``'s slots (other slots and
        guards may ride along): the RateLimit headers when admitted, else the
        :func:`decide` of the denial."""
        if result.admitted:
            return self.headers(w, result.counts, now)
        return self.denied(w, result, now)

    def denied(self, w: Window, result: HitResult, now: float) -> RateDecision:
        """:meth:`answer` for a refused ``result``."""
        d = decide(CounterPlan(w[2], (), w[3], self.cost, now, _NO_KNOWN), result)
        if self.shards > 1:  # the plan's limits in the headers, not a shard's
            d = dataclasses.replace(d, headers=self.headers(w, result.counts, now))
        return d

    def read(self, cp: CounterPlan, result: HitResult) -> RateDecision:
        """:func:`decide` for a fixed-window ``cp`` from :meth:`counters`."""
        d = decide(cp, result)
        if not d.admitted:
            return d
        return RateDecision(True, d.states, 0, None, False, ratelimit_headers(d.states))


def shard_bucket(bucket: str, shard: int) -> str:
    """Shard 0 is the bucket itself: a plan that goes from 1 to N shards keeps counting."""
    return bucket if shard == 0 else f"{bucket}#S{shard}"


def _policy_of(cp: CounterPlan) -> str:
    return ", ".join(
        _item(p.limit.name, f"q={p.limit.max};w={int(p.end - p.start)}") for p in cp.parts
    )


def _fmt_of(cp: CounterPlan) -> str:
    return ", ".join(_item(p.limit.name, "r=%d;t=%d") for p in cp.parts)


def _resets_fmt(w: Window, second: int) -> str:
    """Window ``w``'s RateLimit format with each reset at whole second ``second`` written in
    (``ceil(end - now)`` for any ``now`` in that second, windows ending on whole seconds;
    at least 1): only the remainders are left to fill in."""
    return ", ".join(
        _item(p.limit.name, f"r=%d;t={max(1, math.ceil(p.end) - second)}") for p in w[3]
    )


@functools.lru_cache(maxsize=1024)
def schedule_of(plan: Plan) -> Schedule:
    """The plan's :class:`Schedule` (one per distinct plan; callers keep it to avoid
    hashing the plan on every request)."""
    return Schedule(limits_of(plan), plan.algorithm, plan.request_cost, plan.counter_shards)
