"""Rebuild the CloudWatch Logs fixtures from what the stack really writes and delivers.

    .venv/bin/python -m tests.events.regenerate

Where each fixture comes from (see also tests/events/README.md):

- ``cloudwatch_logs_usage.json``: the subscription event the metering function receives
  from ``UsageFromRouter`` in template.yaml (Stage ``dev``): log group
  ``/tollway/dev/router`` (RouterLogGroup), filter ``tollway-dev-usage``, Lambda's log
  stream naming, and ONLY messages that match the filter pattern ``"TOLLWAY_USAGE"``
  (CloudWatch drops START/END/REPORT and EMF lines before delivery). The usage lines are
  written by the real :class:`LogLineSink`; the one other line is a Powertools JSON log
  record that quotes the prefix (it matches the filter, so it *is* delivered, and parse
  must refuse it). Shape: the documented decoded ``awslogs.data`` (messageType, owner,
  logGroup, logStream, subscriptionFilters, logEvents[id, timestamp, message]).
- ``cloudwatch_logs_control.json``: the documented CONTROL_MESSAGE health check.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

from shared.adapters.log_usage import LogLineSink
from shared.core.models import UsageEvent

HERE = Path(__file__).resolve().parent
STAGE = "dev"
T = 1767225610  # 2026-01-01T00:00:10Z, the fixtures' clock


def _encode(doc: dict) -> dict:
    raw = gzip.compress(json.dumps(doc, separators=(",", ":")).encode(), mtime=0)
    return {"awslogs": {"data": base64.b64encode(raw).decode()}}


def usage_lines() -> list[str]:
    out = io.StringIO()
    sink = LogLineSink(out)
    sink.emit(UsageEvent("KUs8BiEIIAMEVdw", float(T), "con_a", "key_a", "demo-v2", "/echo/*",
                         "GET", 200, 0, 512, 41.7, 1))
    sink.emit(UsageEvent("KUs8CjFJIAMEa-w", float(T), "con_a", "key_a", "demo-v2", "/echo/*",
                         "GET", 429, 0, 180, 3.2, 0))
    return out.getvalue().splitlines(keepends=True)


def usage_event() -> dict:
    ok, throttled = usage_lines()
    quoting = json.dumps({  # a Powertools record whose field quotes the prefix
        "level": "INFO", "location": "handler:52", "message": "path refused",
        "timestamp": "2026-01-01 00:00:10,165+0000", "service": f"tollway-{STAGE}-router",
        "path": 'TOLLWAY_USAGE {"request_id":"forged0001","consumer_id":"con_a"}',
        "correlation_id": "KUs8BiEIIAMEVdw",
    }) + "\n"
    messages = [(164, ok), (165, quoting), (1002, throttled)]
    return _encode({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": f"/tollway/{STAGE}/router",
        "logStream": "2026/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "subscriptionFilters": [f"tollway-{STAGE}-usage"],
        "logEvents": [
            {"id": f"3818828374657383920192837465738291019283746573829{i}",
             "timestamp": T * 1000 + ms, "message": m}
            for i, (ms, m) in enumerate(messages, start=2)
        ],
    })


def control_event() -> dict:
    return _encode({
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{
            "id": "", "timestamp": T * 1000 - 10_000,
            "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function.",
        }],
    })


def main() -> None:
    for name, doc in (("cloudwatch_logs_usage", usage_event()),
                      ("cloudwatch_logs_control", control_event())):
        (HERE / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
