"""The admission ledger: how many request units the gateway admitted per consumer, API
and month, counted in the same atomic ``Store.hit`` that enforces the limits.

Each admitted hit adds its cost to the slot ``L<month index>`` (a ceiling no one reaches,
so it never denies) and names last month's ledger as a guard that always holds (so the
store keeps it while the month is reconciled: a hit may discard counters it does not
name). No extra round trip: the ledger rides along the limits' one update. A plan without
limits makes no store call at all, so it keeps no ledger (reconciliation says so).

Reading the ledger is a hit with guards only: it changes nothing, and it names every
counter a live hit may hold at that moment (:func:`live_names`), so nothing is discarded.
"""

from __future__ import annotations

from shared.core.ratelimit import Guard, Slot, Unit

CEILING = 2**62
#: A ledger stays readable this long after its month ends (the next month's hits keep it).
KEEP_SECONDS = 62 * 86_400
_UNITS = (Unit.SECOND, Unit.MINUTE, Unit.DAY, Unit.MONTH)


def name(month_index: int) -> str:
    return f"L{month_index}"


def month_index(now: float) -> int:
    return Unit.MONTH.window(now)[0]


def month_bounds(now: float) -> tuple[float, float]:
    """``[start, end)`` of the month ``now`` falls in."""
    _, start, end = Unit.MONTH.window(now)
    return start, end


def slot(now: float) -> Slot:
    index, _, end = Unit.MONTH.window(now)
    return Slot(name(index), CEILING, end + KEEP_SECONDS)


def guard(now: float) -> Guard:
    return Guard(name(month_index(now) - 1), CEILING)


def live_names(now: float) -> tuple[str, ...]:
    """Every counter name a hit at ``now`` (give or take one window of clock skew) may hold:
    the limits' windows before, at and after ``now``, and this and last month's ledger."""
    names = []
    for unit in _UNITS:
        index = unit.window(now)[0]
        names += [f"{unit.code}{i}" for i in (index - 1, index, index + 1)]
    index = month_index(now)
    return (*names, name(index - 1), name(index))


def reading_guards(now: float) -> tuple[Guard, ...]:
    return tuple(Guard(n, CEILING) for n in live_names(now))
