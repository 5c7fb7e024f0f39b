"""Usage events as log lines: the request path's only metering cost is one line on stdout.

The router (and a denying authorizer) write ``TOLLWAY_USAGE {json}`` — one line per
metered request. A CloudWatch Logs subscription filter on those log groups delivers the
lines (gzip + base64 in ``awslogs.data``) to the metering function, which parses them back
with :func:`parse` and aggregates them idempotently by request id.

:func:`parse` only accepts a message that *starts* with the prefix: our own structured
logs are JSON objects (they start with ``{``), so user input echoed inside one can never
be taken for a usage event.
"""

from __future__ import annotations

import json
import math
import sys
from typing import IO, Any

from shared.core.models import UsageEvent, to_dict

PREFIX = "TOLLWAY_USAGE "

_STR_FIELDS = ("request_id", "consumer_id", "key_id", "api_id", "route", "method")
_INT_FIELDS = ("status", "bytes_in", "bytes_out", "cost")
_NUM_FIELDS = ("timestamp", "latency_ms")


class LogLineSink:
    """A :class:`shared.ports.UsageSink` that writes one line per event. Never raises."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream

    def emit(self, event: UsageEvent) -> None:
        try:
            line = PREFIX + json.dumps(to_dict(event), separators=(",", ":")) + "\n"
            stream = self._stream or sys.stdout  # looked up late: test runners swap stdout
            stream.write(line)
            stream.flush()
        except Exception:  # noqa: S110 - metering must never break the request it meters
            pass


def parse(message: str) -> UsageEvent | None:
    """The event in one log message, or None when the message is not a well-formed usage
    line (other log output, truncation, tampering)."""
    if not message.startswith(PREFIX):
        return None
    try:
        doc: Any = json.loads(message[len(PREFIX) :])
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    fields: dict[str, Any] = {}
    for name in _STR_FIELDS:
        value = doc.get(name)
        if not isinstance(value, str):
            return None
        fields[name] = value
    for name in _INT_FIELDS:
        value = doc.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return None
        fields[name] = value
    for name in _NUM_FIELDS:
        value = doc.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if not math.isfinite(value) or value < 0:
            return None
        fields[name] = float(value)
    if not fields["request_id"] or not fields["consumer_id"]:
        return None
    return UsageEvent(**fields)
