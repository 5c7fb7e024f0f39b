"""The :class:`shared.ports.Metrics` port as one structured log line per invocation.

The same names as on AWS (``Requests``, ``Throttles``, ``Denials``, ``FailOpen`` counts and
``UpstreamLatency`` in milliseconds; the worker adds its own). Values are buffered for the
invocation and written by :meth:`LogMetrics.flush` as ONE JSON object on the
``tollway.metrics`` logger::

    {"kind":"metrics","service":"gateway","request_id":"…","Requests":1,"UpstreamLatency":12.4}

The Functions host ships what the Python ``logging`` module writes to Application Insights
(the ``traces`` table), so no telemetry SDK is imported here: opencensus/OpenTelemetry would
cost hundreds of milliseconds of cold start on the gateway's path. Query with
``traces | where message startswith '{"kind":"metrics"' | extend m = parse_json(message)``
(under sampling, multiply by ``itemCount``; docs/azure.md).

Sync functions of one instance run concurrently on the worker's thread pool, and one
invocation runs start to end on one thread, so the buffer is per thread.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

log = logging.getLogger("tollway.metrics")


class LogMetrics:
    def __init__(self, service: str, logger: logging.Logger | None = None) -> None:
        self.service = service
        self._log = logger or log
        self._local = threading.local()

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] | None = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = {}
        return state

    def begin(self, request_id: str = "") -> None:
        """Start an invocation: forget anything left by an earlier one on this thread."""
        self._local.state = {}
        self._local.request_id = request_id

    def set_request_id(self, request_id: str) -> None:
        self._local.request_id = request_id

    def count(self, name: str, value: float = 1.0) -> None:
        try:
            state = self._state()
            state[name] = state.get(name, 0) + value
        except Exception:  # noqa: S110 - the port's contract: metrics never fail a request
            pass

    def timing(self, name: str, milliseconds: float) -> None:
        try:
            state = self._state()
            state[name] = round(state.get(name, 0.0) + milliseconds, 3)
        except Exception:  # noqa: S110
            pass

    def snapshot(self) -> dict[str, Any]:
        return dict(self._state())

    def flush(self) -> None:
        """Write this invocation's metrics as one line (nothing when there are none)."""
        try:
            state = self._state()
            if not state:
                return
            doc: dict[str, Any] = {"kind": "metrics", "service": self.service}
            rid = getattr(self._local, "request_id", "")
            if rid:
                doc["request_id"] = rid
            doc.update({k: int(v) if float(v).is_integer() else v for k, v in state.items()})
            self._log.info(json.dumps(doc, separators=(",", ":")))
        except Exception:
            log.warning("metrics flush failed", exc_info=True)
        finally:
            self._local.state = {}
