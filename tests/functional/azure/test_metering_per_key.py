"""On Azure Table Storage (Azurite): per-key counts and the latency sketch on the hourly
usage aggregate, once per delivered batch; "last used" and my percentiles read them."""

from __future__ import annotations

from datetime import date

import pytest

from shared.core.models import UsageEvent
from shared.management import usage
from shared.metering.aggregate import key_field, read_usage
from shared.metering.analytics import record_all
from tests.functional.azure.conftest import T0


def ev(rid: str, key: str, ms: float, ts: float = T0 + 10) -> UsageEvent:
    return UsageEvent(rid, ts, "con_a", key, "demo-v2", "/echo/*", "GET", 200, 1, 1, ms)


def test_per_key_counts_and_sketch_once_on_azure_tables(azure_world):
    store = azure_world.store
    batch = [ev(f"r{i}", "key_a-x", float(i + 1)) for i in range(40)]
    batch += [ev("rb", "key_b", 7.0, ts=T0 + 3700)]
    for _ in range(2):  # a redelivery adds nothing
        record_all(store, batch)

    first, second = read_usage(store, "con_a")
    assert first[key_field("key_a-x")] == 40 and key_field("key_b") not in first
    assert second[key_field("key_b")] == 1
    assert usage.last_used(store, "con_a", date(2026, 1, 1)) == {
        "key_a-x": T0 - T0 % 3600, "key_b": T0 - T0 % 3600 + 3600}
    _, total = usage.report(store, "con_a", usage.Period(date(2026, 1, 1), date(2026, 1, 1)),
                            hourly=False, api_id=None)
    assert total.requests == 41
    assert total.percentile(0.5) == pytest.approx(20, rel=0.05)
