"""Structured logs and EMF metrics for the gateway functions, without Powertools.

Powertools' Logger, Metrics and event data classes cost ~60 ms of cold start (issue 11);
the router and the authorizer need a few lines of each. These write the SAME fields
Powertools writes, so log queries, metric filters and dashboards do not change:

- :class:`JsonLogger`: one JSON object per line, ``level``, ``location``, ``message``,
  ``timestamp`` (``2026-01-01 00:00:10,000+0000``), ``service``, ``cold_start``,
  ``function_name``, ``function_memory_size``, ``function_arn``, ``function_request_id``,
  ``correlation_id``, ``xray_trace_id`` (when present); ``exception`` and
  ``exception_name`` on :meth:`JsonLogger.exception`. The level comes from
  ``POWERTOOLS_LOG_LEVEL`` (or ``LOG_LEVEL``), default INFO.
- :class:`EmfMetrics`: the :class:`shared.ports.Metrics` port as one CloudWatch Embedded
  Metric Format line per invocation (namespace, ``service`` dimension, a value or a list
  of values per metric), exactly as Powertools Metrics prints it; nothing when no metric
  was recorded; nothing at all when ``POWERTOOLS_METRICS_DISABLED`` is true.

Management and metering keep Powertools (their cold start is not on the request path).
"""

from __future__ import annotations

import functools
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from typing import IO, Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def _timestamp(now: float) -> str:
    # Powertools' default format: "%Y-%m-%d %H:%M:%S,mmm+0000" (UTC)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f",{int(now % 1 * 1000):03d}+0000"


class JsonLogger:
    def __init__(
        self,
        service: str,
        *,
        stream: IO[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``env``: the process environment (``runtime.platform_env()``), read for the
        log level and, on every line, the X-Ray trace id Lambda sets per invocation."""
        env = {} if env is None else env
        self._env = env
        self.service = service
        self._stream = stream
        level = env.get("POWERTOOLS_LOG_LEVEL") or env.get("LOG_LEVEL") or "INFO"
        self.level = _LEVELS.get(level.upper(), 20)
        self._context: dict[str, Any] = {}
        self._cold = True

    # --- context ------------------------------------------------------------------------

    def inject_lambda_context(self, clear_state: bool = True) -> Callable[[F], F]:
        """Decorator: the Lambda context's fields (and ``cold_start``) on every line the
        invocation writes; ``clear_state`` drops the previous invocation's keys."""

        def wrap(handler: F) -> F:
            @functools.wraps(handler)
            def run(event: Any, context: Any, *a: Any, **kw: Any) -> Any:
                if clear_state:
                    self._context = {}
                self._context.update(
                    cold_start=self._cold,
                    function_name=getattr(context, "function_name", None),
                    function_memory_size=getattr(context, "memory_limit_in_mb", None),
                    function_arn=getattr(context, "invoked_function_arn", None),
                    function_request_id=getattr(context, "aws_request_id", None),
                )
                self._cold = False
                return handler(event, context, *a, **kw)

            return cast(F, run)

        return wrap

    def set_correlation_id(self, value: str | None) -> None:
        self._context["correlation_id"] = value

    def append_keys(self, **keys: Any) -> None:
        self._context.update(keys)

    # --- writing ------------------------------------------------------------------------

    def _write(self, level: str, message: object, extra: Mapping[str, Any] | None) -> None:
        try:
            frame = sys._getframe(2)
            doc: dict[str, Any] = {
                "level": level,
                "location": f"{frame.f_code.co_name}:{frame.f_lineno}",
                "message": message if isinstance(message, str | dict | list) else str(message),
                "timestamp": _timestamp(time.time()),
                "service": self.service,
            }
            doc.update(self._context)
            trace = self._env.get("_X_AMZN_TRACE_ID", "")
            if trace:
                doc["xray_trace_id"] = trace.split(";", 1)[0].removeprefix("Root=")
            if extra:
                doc.update(extra)
            stream = self._stream or sys.stdout  # looked up late: test runners swap stdout
            stream.write(json.dumps(doc, default=str, separators=(",", ":")) + "\n")
        except Exception:  # noqa: S110 - logging never fails a request
            pass

    def debug(self, message: object, **extra: Any) -> None:
        if self.level <= 10:
            self._write("DEBUG", message, extra)

    def info(self, message: object, **extra: Any) -> None:
        if self.level <= 20:
            self._write("INFO", message, extra)

    def warning(self, message: object, **extra: Any) -> None:
        if self.level <= 30:
            self._write("WARNING", message, extra)

    def error(self, message: object, **extra: Any) -> None:
        if self.level <= 40:
            self._write("ERROR", message, extra)

    def exception(self, message: object, **extra: Any) -> None:
        """An ERROR line with the current exception (call from an ``except`` block)."""
        kind, value, _ = sys.exc_info()
        if kind is not None:
            extra = {
                **extra,
                "exception": "".join(traceback.format_exception(value)).rstrip(),
                "exception_name": kind.__name__,
            }
        self._write("ERROR", message, extra)


#: The gateway functions write one EMF line per this many invocations (or per minute).
GATEWAY_EMF_EVERY = 100


class EmfMetrics:
    """Counts and timings buffered, written as one EMF line per ``every`` invocations or
    ``max_age`` seconds, whichever comes first (``end_invocation``).

    ``every=1`` writes a line per invocation. The gateway functions batch (see
    docs/aws.md, "Metrics"): one line per 100 invocations costs a hundredth of the log
    ingestion; the price is that an instance reclaimed while idle loses its last partial
    batch — the metrics are for operators, exact counts come from metering.
    """

    def __init__(
        self,
        service: str,
        namespace: str = "Tollway",
        *,
        stream: IO[str] | None = None,
        env: Mapping[str, str] | None = None,
        every: int = 1,
        max_age: float = 60.0,
    ) -> None:
        env = {} if env is None else env
        self.every, self.max_age = max(1, min(every, 100)), max_age  # EMF: 100 values a metric
        self._invocations = 0
        self._since = time.monotonic()
        self.service, self.namespace = service, namespace
        self._stream = stream
        self._disabled = env.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true")
        self._values: dict[str, list[float]] = {}
        self._units: dict[str, str] = {}

    def count(self, name: str, value: float = 1.0) -> None:
        self._add(name, "Count", value)

    def timing(self, name: str, milliseconds: float) -> None:
        self._add(name, "Milliseconds", milliseconds)

    def _add(self, name: str, unit: str, value: float) -> None:
        values = self._values.get(name)
        if values is None:
            if len(self._values) >= 100:  # EMF's limit per document
                self.flush()
            self._values[name] = values = []
            self._units[name] = unit
        values.append(float(value))

    def end_invocation(self) -> None:
        """Called once per invocation: writes the line when a batch is due."""
        self._invocations += 1
        if self._invocations >= self.every or time.monotonic() - self._since >= self.max_age:
            self.flush()

    def flush(self) -> None:
        self._invocations, self._since = 0, time.monotonic()
        if not self._values:
            return
        values, units = self._values, self._units
        self._values, self._units = {}, {}
        if self._disabled:
            return
        try:
            doc: dict[str, Any] = {
                "_aws": {
                    "Timestamp": int(time.time() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [["service"]],
                            "Metrics": [{"Name": n, "Unit": units[n]} for n in values],
                        }
                    ],
                },
                "service": self.service,
            }
            for name, vs in values.items():
                doc[name] = vs  # a list even of one, as Powertools writes it
            stream = self._stream or sys.stdout
            stream.write(json.dumps(doc, separators=(",", ":")) + "\n")
        except Exception:  # noqa: S110 - metrics never fail a request
            pass
