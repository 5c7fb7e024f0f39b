"""The metering function: CloudWatch Logs subscription batches -> idempotent aggregates."""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError

from shared.metering.aggregate import read_usage
from shared.ports import StoreUnavailable
from tests.functional.aws.conftest import awslogs, event, usage_lines


@pytest.fixture
def meter(handlers, ctx):
    return lambda ev: handlers["metering"].handler(ev, ctx)


def test_recorded_once_even_when_the_batch_is_redelivered(world, meter):
    first = meter(event("cloudwatch_logs_usage"))
    # The filter delivers only lines holding the term: a JSON log line quoting it is one.
    assert first == {"recorded": 2, "duplicates": 0, "skipped": 1}
    again = meter(event("cloudwatch_logs_usage"))
    assert again == {"recorded": 0, "duplicates": 1, "skipped": 1}  # one group of two
    (agg,) = read_usage(world.store, "con_a")
    assert (agg["requests"], agg["s2xx"], agg["s4xx"], agg["cost"]) == (2, 1, 1, 1)
    assert agg["api_id"] == "demo-v2" and agg["hour"] == "2026-01-01T00"


def test_control_message_is_acknowledged_without_work(world, meter):
    assert meter(event("cloudwatch_logs_control")) == {"recorded": 0, "duplicates": 0, "skipped": 0}
    assert world.dynamodb_calls() == 0


def test_router_lines_round_trip_through_metering(world, handlers, ctx, meter, capsys):
    capsys.readouterr()
    for _ in range(4):
        handlers["router"].handler(world.proxy(key=world.keys["a"]), ctx)
    lines = usage_lines(capsys.readouterr().out)
    assert len(lines) == 4
    assert meter(awslogs(lines))["recorded"] == 4
    (agg,) = read_usage(world.store, "con_a")
    assert (agg["requests"], agg["s2xx"], agg["s4xx"], agg["cost"]) == (4, 3, 1, 3)


def test_store_failure_raises_so_lambda_retries_and_the_retry_does_not_double_count(world, meter):
    batch = event("cloudwatch_logs_usage")

    def fail_write(**kw):  # DynamoDB goes away while the group is being written
        raise EndpointConnectionError(endpoint_url="https://dynamodb.test")

    world.client.meta.events.register("before-call.dynamodb.TransactWriteItems", fail_write)
    with pytest.raises(StoreUnavailable):
        meter(batch)
    world.client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", fail_write)
    assert meter(batch) == {"recorded": 2, "duplicates": 0, "skipped": 1}
    assert meter(batch) == {"recorded": 0, "duplicates": 1, "skipped": 1}
    (agg,) = read_usage(world.store, "con_a")
    assert agg["requests"] == 2
