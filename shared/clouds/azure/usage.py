"""Usage events from the Azure gateway to the worker: one Storage Queue message per request.

The message text is the same ``TOLLWAY_USAGE {json}`` line the AWS router logs
(``shared/adapters/log_usage.py``), so one codec parses both; it is base64-encoded on the
wire because that is what the Functions queue trigger decodes by default.

Cost on the request path (docs/azure.md, "Usage transport"): ``send_message`` is one
synchronous HTTPS call made after the response has been decided, before the function
returns — about 2.5 ms against Azurite on this machine (≈ 390 sends/s, one client), a few
ms against the service in the same region. Bounded: 1 s connect/read timeouts and one
retry, so a failing queue costs at most ~2 s once; then the sink stops trying for
``pause`` seconds (a small circuit breaker) and writes the events as ``TOLLWAY_USAGE`` log
lines instead, which reach Application Insights and can be replayed into the queue
(the worker's aggregation is idempotent per request id). It never raises: every failure
is counted (``failures``, ``fallbacks``) and logged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from shared.adapters.log_usage import PREFIX, LogLineSink
from shared.core.models import UsageEvent, to_dict
from shared.settings import Settings

log = logging.getLogger("tollway.usage")

TIMEOUT = 1.0
RETRIES = 1
PAUSE = 5.0


def encode(event: UsageEvent) -> str:
    """The message text (before base64): what ``log_usage.parse`` reads back."""
    return PREFIX + json.dumps(to_dict(event), separators=(",", ":"))


class QueueUsageSink:
    """A :class:`shared.ports.UsageSink` over ``azure-storage-queue``. Never raises."""

    def __init__(
        self,
        queue_name: str,
        *,
        connection_string: str = "",
        endpoint: str = "",
        credential: Any = None,
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
        pause: float = PAUSE,
        fallback: Any = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not connection_string and not endpoint:
            raise ValueError("QueueUsageSink needs a connection_string or an endpoint")
        self.queue_name = queue_name
        self._target = (connection_string, endpoint, credential)
        self._retries = retries
        self._kw = {"connection_timeout": timeout, "read_timeout": timeout}
        self._pause = pause
        self._fallback = fallback or LogLineSink()
        self._monotonic = monotonic
        self._paused_until = 0.0
        self._client: Any = None
        self._lock = threading.Lock()
        self.sent = 0
        self.failures = 0  # sends that failed (each also went to the fallback)
        self.fallbacks = 0  # events written to the fallback, failed or skipped while paused

    def _queue(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def _build(self) -> Any:
        # Imported on first use: a gateway whose requests are all unauthenticated never
        # pays for it, and the import is not on the cold path of the function's module.
        from azure.storage.queue import LinearRetry, QueueClient, TextBase64EncodePolicy

        connection_string, endpoint, credential = self._target
        # The storage SDKs' default retry waits 15 s (± 3) before its first retry: found by
        # the dead-endpoint test (20 s per send). A request path retries once, 50-100 ms on.
        retry = LinearRetry(
            backoff=0.075,  # type: ignore[arg-type]  # seconds: the SDK sleeps a float
            random_jitter_range=0.025,  # type: ignore[arg-type]
            retry_total=self._retries,
        )
        kw: dict[str, Any] = {
            **self._kw,
            "retry_policy": retry,
            "message_encode_policy": TextBase64EncodePolicy(),
        }
        if connection_string:
            return QueueClient.from_connection_string(connection_string, self.queue_name, **kw)
        return QueueClient(endpoint, self.queue_name, credential=credential, **kw)

    def emit(self, event: UsageEvent) -> None:
        try:
            text = encode(event)
        except Exception:
            log.warning("usage event could not be encoded", exc_info=True)
            return
        if self._monotonic() < self._paused_until:
            self._to_fallback(event)
            return
        try:
            self._queue().send_message(text)
            self.sent += 1
        except Exception as exc:
            self.failures += 1
            self._paused_until = self._monotonic() + self._pause
            log.warning(
                "usage queue send failed (%s); events go to the log for %.0f s",
                type(exc).__name__,
                self._pause,
            )
            self._to_fallback(event)

    def _to_fallback(self, event: UsageEvent) -> None:
        self.fallbacks += 1
        with contextlib.suppress(Exception):  # the port's contract: never raise
            self._fallback.emit(event)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


def from_settings(settings: Settings) -> Any:
    """The gateway's sink: the queue named by ``TOLLWAY_USAGE_QUEUE``, reached with the
    connection string when there is one (Azurite, keys), else with managed identity at
    ``TOLLWAY_AZURE_QUEUE_ENDPOINT``. With neither, usage goes to log lines only (and a
    warning says so at cold start): nothing aggregates them on Azure."""
    conn = settings.azure_connection_string.lower()
    # An emulator's string names each service's endpoint; an account's names none (the
    # SDK derives them): either way it must not name a table endpoint without a queue one.
    if conn and ("queueendpoint=" in conn or "tableendpoint=" not in conn):
        return QueueUsageSink(
            settings.usage_queue, connection_string=settings.azure_connection_string
        )
    if settings.azure_queue_endpoint:
        from azure.identity import DefaultAzureCredential

        return QueueUsageSink(
            settings.usage_queue,
            endpoint=settings.azure_queue_endpoint,
            credential=DefaultAzureCredential(),
        )
    log.warning(
        "no usage queue configured (TOLLWAY_AZURE_QUEUE_ENDPOINT, or a connection string "
        "with a QueueEndpoint): usage events are only logged"
    )
    return LogLineSink()
