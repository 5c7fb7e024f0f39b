"""Usage to OpenMeter: ``POST {base}/api/v1/events`` with a CloudEvents batch.

Follows OpenMeter's published API (api/openapi.yaml and api/openapi.cloud.yaml in
github.com/openmeterio/openmeter, operation ``ingestEvents``; the handler
openmeter/ingest/httpdriver/ingest.go): the body is a JSON array of CloudEvents with
``Content-Type: application/cloudevents-batch+json`` (matched exactly, so no charset
parameter), ``Authorization: Bearer <token>`` on OpenMeter Cloud (self-hosted takes
none), success is ``204 No Content``, errors are ``application/problem+json``.
OpenMeter deduplicates by ``source`` + ``id`` (openmeter/dedupe), so resending a batch is
harmless: the events of a retry are byte for byte those of the first attempt.

Retries: on 429, 5xx and when no response came (refused, reset, timeout), up to
``attempts`` in all, waiting ``Retry-After`` when the target names a wait (up to
``max_wait``; a longer one ends this run: the next one resends) or else a jittered
exponential backoff ("full jitter"). Other 4xx are final: :class:`ExportRefused`.
urllib3, as ``http_upstream.py``: botocore already loads it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError

from shared.adapters.attempts import full_jitter
from shared.core.usage_export import MAX_BATCH, ExportRefused, ExportUnavailable

CONTENT_TYPE = "application/cloudevents-batch+json"
EVENTS_PATH = "/api/v1/events"


def events_url(base: str) -> str:
    """``https://openmeter.cloud`` -> ``https://openmeter.cloud/api/v1/events`` (a URL that
    already ends with the path is kept)."""
    if not base.startswith(("https://", "http://")):
        raise ValueError(f"export URL {base!r} is not an http(s) URL")
    base = base.rstrip("/")
    return base if base.endswith(EVENTS_PATH) else base + EVENTS_PATH


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def _reason(resp: urllib3.BaseHTTPResponse) -> str:
    """The problem document's detail (or title), else the start of the body."""
    text = resp.data[:2000].decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()[:300]
    if isinstance(doc, dict):
        return str(doc.get("detail") or doc.get("title") or doc)[:300]
    return str(doc)[:300]


class OpenMeterExporter:
    name = "openmeter"

    def __init__(self, url: str, token: str = "", *, pool: urllib3.PoolManager | None = None,
                 connect_timeout: float = 3.0, read_timeout: float = 10.0, attempts: int = 5,
                 backoff: float = 0.5, max_backoff: float = 20.0, max_wait: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        """``url``: OpenMeter's base URL (``https://openmeter.cloud``) or the full events URL;
        ``token``: an API token (empty for a self-hosted OpenMeter without auth).
        ``sleep``/``jitter``: injectable so tests see the waits without waiting."""
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.url, self._token = events_url(url), token
        self._pool = pool or urllib3.PoolManager(num_pools=2, maxsize=2)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._attempts, self._backoff, self._max_backoff = attempts, backoff, max_backoff
        self._max_wait, self._sleep, self._jitter = max_wait, sleep, jitter

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": CONTENT_TYPE,
                   "Accept": "application/json, application/problem+json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _backoff_for(self, attempt: int) -> float:
        return full_jitter(attempt, self._backoff, self._max_backoff, self._jitter)

    def send(self, events: Sequence[Mapping[str, Any]]) -> None:
        if not events:
            return
        if len(events) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} events per batch")
        body = json.dumps(list(events), separators=(",", ":")).encode()
        headers = self._headers()
        failure = "no attempt made"
        for attempt in range(self._attempts):
            wait: float | None = None
            try:
                resp = self._pool.request("POST", self.url, body=body, headers=headers,
                                          timeout=self._timeout, retries=False, redirect=False)
            except (HTTPError, OSError) as exc:  # refused, reset, dropped, timed out, TLS
                failure = f"no response from {self.url} ({type(exc).__name__})"
            else:
                if 200 <= resp.status < 300:
                    return
                if resp.status != 429 and resp.status < 500:
                    raise ExportRefused(f"{self.url} refused the batch with {resp.status}: "
                                        f"{_reason(resp)}", resp.status)
                failure = f"{self.url} answered {resp.status}: {_reason(resp)}"
                wait = retry_after(resp.headers.get("Retry-After"), time.time())
            if attempt + 1 == self._attempts:
                break
            if wait is not None and wait > self._max_wait:
                raise ExportUnavailable(f"{failure}; asked to retry after {wait:.0f} s, "
                                        "later than this run waits")
            self._sleep(wait if wait is not None else self._backoff_for(attempt))
        raise ExportUnavailable(f"{failure} (after {self._attempts} attempts)")

    def close(self) -> None:
        self._pool.clear()
