"""The cost model reads the template and the real log output, not numbers typed in."""

from __future__ import annotations

import argparse

from bench import cost


def args(**kw):
    base = {"authorizer": False, "upstream_ms": 50.0, "router_cpu_ms": 4.0, "kb_out": 1.0}
    return argparse.Namespace(**{**base, **kw})


def test_every_line_is_priced_and_follows_the_template():
    rows, facts = cost.lines(args())
    items = {r[0] for r in rows}
    for needed in ("API Gateway HTTP API", "router duration", "DynamoDB rate-limit charge",
                   "metering DynamoDB", "metering Lambda", "CloudWatch Logs: usage line"):
        assert needed in items
    router = facts["router"]
    assert router == cost.function(cost.template(), "RouterFunction")
    duration = dict((r[0], r[2]) for r in rows)["router duration"]
    assert duration > 0 and str(router.memory_mb) in dict((r[0], r[1]) for r in rows)[
        "router duration"]
    # Metering is aggregated: cents per million, not the $2.50 of one transaction a line.
    metering = sum(r[2] for r in rows if r[0].startswith("metering"))
    assert metering <= 0.25


def test_the_usage_line_size_is_measured_from_the_sink():
    assert 200 < cost.usage_line_bytes() < 500
    assert 0 < cost.emf_line_bytes() < 100  # one line per 100 invocations, per invocation


def test_the_authorizer_adds_its_invocation():
    off = sum(r[2] for r in cost.lines(args())[0])
    on = sum(r[2] for r in cost.lines(args(authorizer=True))[0])
    assert on > off + cost.LAMBDA_REQUEST_PER_M * 0.99


def test_the_access_log_follows_the_template_parameter():
    doc = cost.template()
    assert doc["Parameters"]["AccessLogs"]["Default"] == "off"
    rows, facts = cost.lines(args())
    assert facts["access_logs"] == "off"
    assert dict((r[0], r[2]) for r in rows)["CloudWatch Logs: access log"] == 0
    on = dict((r[0], r[2]) for r in cost.lines(args(access_logs="on"))[0])
    assert on["CloudWatch Logs: access log"] == (
        (cost.access_log_bytes(doc) + cost.LOG_EVENT_OVERHEAD) * 1e6 / cost.GB
        * cost.LOGS_INGEST_PER_GB)
