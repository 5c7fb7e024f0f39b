"""Forward to upstreams over HTTP with urllib3: pooled keep-alive connections, per-request
timeouts, retries only for idempotent methods and only when no response was received.
With a ``deadline`` every attempt's timeout is cut to the time left, and no attempt starts
once it has passed: the total never exceeds the caller's budget.

urllib3 rather than httpx on the request path: botocore already loads it, so on Lambda the
gateway's HTTP client costs nothing at cold start.
"""

from __future__ import annotations

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from shared.adapters.attempts import attempt_timeout, attempts_of
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse, UpstreamTimeout


class HttpUpstream:
    def __init__(self, pool: urllib3.PoolManager | None = None) -> None:
        self._pool = pool or urllib3.PoolManager(num_pools=50, maxsize=64, block=False)

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        attempts = attempts_of(request)
        for attempt in range(attempts):
            timeout = attempt_timeout(request)
            try:
                resp = self._pool.request(
                    request.method,
                    request.url,
                    headers=urllib3.HTTPHeaderDict(request.headers),
                    body=request.body or None,
                    timeout=urllib3.Timeout(total=timeout),
                    retries=False,
                    redirect=False,
                    preload_content=True,
                    decode_content=False,  # pass compressed bodies through untouched
                )
                return UpstreamResponse(resp.status, tuple(resp.headers.items()), resp.data)
            except NewConnectionError as exc:  # subclasses urllib3's timeout: refused first
                if attempt + 1 == attempts:
                    raise UpstreamFailure(str(exc)) from exc
            except (Urllib3Timeout, TimeoutError) as exc:
                if attempt + 1 == attempts:
                    raise UpstreamTimeout(str(exc)) from exc
            except (HTTPError, OSError) as exc:  # refused, reset, DNS, TLS
                if attempt + 1 == attempts:
                    raise UpstreamFailure(str(exc)) from exc
        raise UpstreamFailure("no attempt made")

    def close(self) -> None:
        self._pool.clear()
