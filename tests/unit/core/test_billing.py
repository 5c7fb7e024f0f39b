"""Invoice arithmetic against an oracle written here, independently: exact fractions,
one unit at a time, one second at a time."""

from fractions import Fraction
from math import floor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core import billing as b

JAN = b.month_bounds("2026-01")
JAN_SECONDS = JAN[1] - JAN[0]  # 31 days


# --- the oracle -----------------------------------------------------------------------------


def oracle_round(x: Fraction) -> int:
    return floor(x + Fraction(1, 2))


def oracle_unit_price(n: int, tiers: list[b.Tier]) -> Fraction:
    """The price of the n-th overage unit (1-based): the first tier whose bound holds it."""
    if not tiers:
        return Fraction(0)
    for tier in tiers:
        if tier.up_to is None or n <= tier.up_to:
            return Fraction(tier.cents_per_1000, 1000)
    return Fraction(tiers[-1].cents_per_1000, 1000)  # past the last bound: its price


def oracle_charge(price: b.Price, seconds: int, units: int, period: int) -> tuple[int, int]:
    share = Fraction(seconds, period)
    fee = oracle_round(price.monthly_fee_cents * share)
    allowance = -floor(-(price.included_requests * share))
    over = max(0, units - allowance)
    overage = sum((oracle_unit_price(n, list(price.tiers)) for n in range(1, over + 1)),
                  Fraction(0))
    return fee, oracle_round(overage)


@st.composite
def prices(draw: st.DrawFn) -> b.Price:
    bounds = sorted(set(draw(st.lists(st.integers(1, 3000), max_size=3))))
    last_open = draw(st.booleans())
    ups: list[int | None] = [*bounds, None] if last_open or not bounds else list(bounds)
    tiers = tuple(b.Tier(u, draw(st.integers(0, 5000))) for u in ups)
    if draw(st.booleans()):
        tiers = ()
    return b.Price(draw(st.integers(0, 10**7)), draw(st.integers(0, 5000)), tiers)


# --- properties -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(price=prices(), units=st.integers(0, 6000), data=st.data())
def test_charge_matches_the_oracle(price, units, data):
    period = data.draw(st.sampled_from([JAN_SECONDS, 28 * 86_400, 1, 7]))
    seconds = data.draw(st.integers(0, period))
    got = b.charge(price, seconds, units, period)
    assert (got.fee_cents, got.overage_cents) == oracle_charge(price, seconds, units, period)
    assert got.total_cents >= 0


@given(fee=st.integers(0, 10**8), cut=st.integers(0, JAN_SECONDS))
def test_a_split_period_costs_the_whole_within_one_cent(fee, cut):
    parts = b.prorate_fee(fee, cut, JAN_SECONDS) + b.prorate_fee(fee, JAN_SECONDS - cut,
                                                                 JAN_SECONDS)
    assert abs(parts - fee) <= 1


@given(price=prices(), seconds=st.integers(0, JAN_SECONDS), units=st.integers(0, 5000))
def test_more_usage_never_costs_less(price, seconds, units):
    assert (b.charge(price, seconds, units + 1, JAN_SECONDS).total_cents
            >= b.charge(price, seconds, units, JAN_SECONDS).total_cents)


def oracle_seconds(events: list[b.PlanEvent], start: int, end: int) -> dict[tuple[str, str], int]:
    """One second at a time: the latest event at or before it (ties: the later in the list)."""
    out: dict[tuple[str, str], int] = {}
    for t in range(start, end):
        for sub in {e.subscription_id for e in events}:
            state = None
            for e in events:
                mine = e.subscription_id == sub and int(e.at) <= t
                if mine and (state is None or int(e.at) >= int(state.at)):
                    state = e
            if state is not None and state.active:
                key = (sub, state.plan_id)
                out[key] = out.get(key, 0) + 1
    return out


events_st = st.lists(st.builds(
    b.PlanEvent, at=st.floats(-20, 80, allow_nan=False), subscription_id=st.sampled_from("ab"),
    plan_id=st.sampled_from(["p", "q"]), active=st.booleans()), max_size=6)


@settings(max_examples=200, deadline=None)
@given(events=events_st)
def test_segments_match_a_second_by_second_walk(events):
    segs = b.segments(events, 0, 60)
    got: dict[tuple[str, str], int] = {}
    for s in segs:
        assert 0 <= s.start < s.end <= 60
        got[(s.subscription_id, s.plan_id)] = got.get((s.subscription_id, s.plan_id), 0) + s.seconds
    assert got == oracle_seconds(events, 0, 60)


# --- edges ----------------------------------------------------------------------------------

START, END = JAN


@pytest.mark.parametrize(("change_at", "old_seconds", "new_seconds"), [
    (START, 0, JAN_SECONDS),            # first second of the month: all on the new plan
    (START + 0.999, 0, JAN_SECONDS),    # within the first second: truncated to it
    (END - 1, JAN_SECONDS - 1, 1),      # last second: one second on the new plan
    (END - 0.001, JAN_SECONDS - 1, 1),
    (END, JAN_SECONDS, 0),              # the next month's first second: not this month
])
def test_plan_change_at_the_edges_of_a_month(change_at, old_seconds, new_seconds):
    events = [b.PlanEvent(START - 86_400, "s", "old", True),
              b.PlanEvent(change_at, "s", "new", True)]
    secs = {s.plan_id: s.seconds for s in b.segments(events, START, END)}
    assert secs.get("old", 0) == old_seconds and secs.get("new", 0) == new_seconds
    # A 10.00 fee: one second of it rounds to nothing, the rest to the whole fee.
    assert b.prorate_fee(1000, new_seconds, JAN_SECONDS) == (1000 if new_seconds == JAN_SECONDS
                                                               else 0)


def test_graduated_tiers_and_rounding_once_per_line():
    price = b.Price(0, 1000, (b.Tier(1000, 50), b.Tier(None, 20)))
    # 2,500 units: 1,000 included, 1,000 at 0.05 c, 500 at 0.02 c = 50 + 10 cents
    assert b.charge(price, JAN_SECONDS, 2500, JAN_SECONDS).overage_cents == 60
    # 1,001 units: one unit at 0.05 c -> 0.05 rounds to 0; 1,010 units: 0.5 c rounds up to 1
    assert b.charge(price, JAN_SECONDS, 1001, JAN_SECONDS).overage_cents == 0
    assert b.charge(price, JAN_SECONDS, 1010, JAN_SECONDS).overage_cents == 1


def test_allowance_is_prorated_in_the_developers_favour():
    assert b.prorate_allowance(1000, 1, JAN_SECONDS) == 1
    assert b.prorate_allowance(1000, JAN_SECONDS // 2, JAN_SECONDS) == 500


@pytest.mark.parametrize("bad", [
    (b.Tier(None, 1), b.Tier(10, 1)), (b.Tier(10, 1), b.Tier(10, 2)), (b.Tier(0, 1),),
    (b.Tier(5, -1),),
])
def test_prices_refuse_malformed_tiers(bad):
    with pytest.raises(ValueError):
        b.Price(0, 0, bad)


@pytest.mark.parametrize("text", ["2026-1", "2026-13", "26-01", "2026/01", "1969-12"])
def test_periods_are_written_yyyy_mm(text):
    with pytest.raises(ValueError):
        b.parse_month(text)


def test_month_bounds_cover_leap_february_and_december():
    feb = b.month_bounds("2028-02")
    assert feb[1] - feb[0] == 29 * 86_400 and b.next_month("2026-12") == "2027-01"
