"""The :class:`shared.ports.Metrics` port over Powertools Metrics (CloudWatch EMF).

Metrics are buffered in memory and written as one EMF log line when the handler calls
:meth:`PowertoolsMetrics.flush` at the end of an invocation — no API call, no latency on
the request path. Names the gateway emits: ``Requests``, ``Throttles``, ``Denials``,
``FailOpen`` (count) and ``UpstreamLatency`` (milliseconds).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools.metrics import Metrics, MetricUnit

NAMESPACE = "Tollway"

log = logging.getLogger("tollway.metrics")


class PowertoolsMetrics:
    def __init__(self, service: str, namespace: str = NAMESPACE) -> None:
        self._metrics = Metrics(namespace=namespace, service=service)

    def count(self, name: str, value: float = 1.0) -> None:
        self._add(name, MetricUnit.Count, value)

    def timing(self, name: str, milliseconds: float) -> None:
        self._add(name, MetricUnit.Milliseconds, milliseconds)

    def _add(self, name: str, unit: MetricUnit, value: float) -> None:
        try:
            self._metrics.add_metric(name=name, unit=unit, value=value)
        except Exception:  # the port's contract: metrics never fail a request
            log.warning("metric %s dropped", name, exc_info=True)

    def flush(self) -> None:
        """Write what was recorded since the last flush as one EMF line. Nothing when empty
        (Powertools would otherwise warn "No application metrics to publish")."""
        try:
            if self._metrics.metric_set:
                self._metrics.flush_metrics()
        except Exception:
            log.warning("metrics flush failed", exc_info=True)
        finally:
            # flush_metrics keeps the set when POWERTOOLS_METRICS_DISABLED: do not let it grow.
            self._metrics.clear_metrics()
