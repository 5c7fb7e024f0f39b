"""On DynamoDB (moto): the router's usage lines, through the metering function, count
requests per key and a latency sketch on the hourly aggregate, once per delivered batch,
in the same one transaction per group as before."""

from __future__ import annotations

from datetime import date

import pytest

from shared.management import usage
from shared.metering.aggregate import key_field, read_usage
from tests.functional.aws.conftest import T0, awslogs, usage_lines

HOUR = T0 - T0 % 3600  # the start of the hour of the calls


@pytest.fixture
def meter(handlers, ctx):
    return lambda ev: handlers["metering"].handler(ev, ctx)


def test_per_key_counts_and_sketch_once_through_the_metering_function(
        world, handlers, ctx, meter, capsys):
    world.add_key("con_a", "b")
    capsys.readouterr()
    for name, n in (("a", 3), ("b", 1)):
        for _ in range(n):
            handlers["router"].handler(world.proxy(key=world.keys[name]), ctx)
    lines = usage_lines(capsys.readouterr().out)
    assert len(lines) == 4

    assert meter(awslogs(lines))["recorded"] == 4
    assert meter(awslogs(lines))["duplicates"] == 1  # redelivered: nothing added

    # No item besides the group's aggregate and its marker: nothing extra is written.
    assert sorted(i.sk[:2] for i in world.store.query("USAGE#con_a")) == ["D#", "H#"]
    (agg,) = read_usage(world.store, "con_a")
    assert (agg[key_field("key_a")], agg[key_field("key_b")]) == (3, 1)
    assert sum(v for f, v in agg.items() if f[0] == "l" and f[1:].isdigit()) == 4
    assert usage.last_used(world.store, "con_a", date(2026, 1, 1)) == {
        "key_a": HOUR, "key_b": HOUR}
