"""The gateway functions' own logger and EMF writer write what Powertools writes (issue 11:
Powertools is off the gateway's cold path, the fields stay)."""

from __future__ import annotations

import io
import json

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from shared.clouds.aws.telemetry import EmfMetrics, JsonLogger


class Ctx:
    function_name = "f"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    aws_request_id = "rid"


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(x) for x in buf.getvalue().splitlines() if x.startswith("{")]


def test_log_lines_carry_the_powertools_fields():
    ours_buf = io.StringIO()
    ours = JsonLogger("tollway-router", stream=ours_buf, env={"_X_AMZN_TRACE_ID": "Root=1-a-b"})
    # Its own name and stream: a Powertools Logger of the same name built by another test
    # in this process would otherwise be reused, with that test's handlers.
    theirs_buf = io.StringIO()
    theirs = Logger(service="tollway-telemetry-test", stream=theirs_buf)

    def handler(log):
        @log.inject_lambda_context(clear_state=True)
        def run(event, context):
            log.set_correlation_id("cid")
            log.info("hello")
            try:
                raise ZeroDivisionError("x")
            except ZeroDivisionError:
                log.exception("boom")

        return run

    handler(ours)({}, Ctx())
    handler(theirs)({}, Ctx())
    expected = _lines(theirs_buf)
    for e in expected:
        e["service"] = "tollway-router"
    got = _lines(ours_buf)
    for e, g in zip(expected, got, strict=True):
        assert set(e) - {"stack_trace"} <= set(g) | {"xray_trace_id"}
        for k in (
            "level",
            "message",
            "service",
            "function_name",
            "function_memory_size",
            "function_arn",
            "function_request_id",
            "correlation_id",
        ):
            assert g[k] == e[k], k
        assert len(g["timestamp"]) == len(e["timestamp"])
    # cold_start is per process in Powertools (another test may have run one before this),
    # per logger here, which is per process in a Lambda: the first invocation is the cold one
    assert all(g["cold_start"] is True for g in got)
    handler(ours)({}, Ctx())
    assert _lines(ours_buf)[-1]["cold_start"] is False
    assert got[0]["xray_trace_id"] == "1-a-b"
    assert got[1]["exception_name"] == "ZeroDivisionError"


def test_emf_line_is_the_powertools_line(capsys):
    buf = io.StringIO()
    ours = EmfMetrics("router", stream=buf)
    theirs = Metrics(namespace="Tollway", service="router")
    for m in (("Requests", 1), ("Requests", 1), ("UpstreamLatency", 2.5)):
        if m[0] == "Requests":
            ours.count(m[0], m[1])
            theirs.add_metric(name=m[0], unit=MetricUnit.Count, value=m[1])
        else:
            ours.timing(m[0], m[1])
            theirs.add_metric(name=m[0], unit=MetricUnit.Milliseconds, value=m[1])
    ours.flush()
    theirs.flush_metrics()
    (expected,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    (got,) = _lines(buf)
    for doc in (expected, got):
        doc["_aws"].pop("Timestamp")
    assert got == expected
    ours.flush()
    assert len(_lines(buf)) == 1  # nothing recorded since: no line


def test_metrics_disabled_writes_nothing():
    buf = io.StringIO()
    m = EmfMetrics("router", stream=buf, env={"POWERTOOLS_METRICS_DISABLED": "true"})
    m.count("Requests")
    m.flush()
    assert buf.getvalue() == ""


def test_gateway_metrics_batch_invocations_into_one_emf_line():
    buf = io.StringIO()
    m = EmfMetrics("router", stream=buf, every=100, max_age=3600)
    for i in range(250):
        m.count("Requests")
        m.timing("UpstreamLatency", float(i))
        m.end_invocation()
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert len(lines) == 2  # 100 + 100 written; 50 still buffered
    assert [len(d["Requests"]) for d in lines] == [100, 100]
    assert lines[1]["UpstreamLatency"][0] == 100.0
    m.flush()
    assert sum(len(json.loads(x)["Requests"]) for x in buf.getvalue().splitlines()) == 250


def test_a_quiet_instance_still_writes_its_batch_after_max_age(monkeypatch):
    buf = io.StringIO()
    now = [1000.0]
    monkeypatch.setattr("shared.clouds.aws.telemetry.time.monotonic", lambda: now[0])
    m = EmfMetrics("router", stream=buf, every=100, max_age=60)
    m.count("Requests")
    m.end_invocation()
    assert buf.getvalue() == ""
    now[0] += 61
    m.count("Requests")
    m.end_invocation()
    assert len(json.loads(buf.getvalue())["Requests"]) == 2
