"""Forward to upstreams over HTTP with urllib3: pooled keep-alive connections, per-request
timeouts, retries only for idempotent methods and only when no response was received.

urllib3 rather than httpx on the request path: botocore already loads it, so on Lambda the
gateway's HTTP client costs nothing at cold start.
"""

from __future__ import annotations

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse, UpstreamTimeout

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class HttpUpstream:
    def __init__(self, pool: urllib3.PoolManager | None = None) -> None:
        self._pool = pool or urllib3.PoolManager(num_pools=50, maxsize=64, block=False)

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        attempts = 1 + (request.retries if request.method in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                resp = self._pool.request(
                    request.method,
                    request.url,
                    headers=urllib3.HTTPHeaderDict(request.headers),
                    body=request.body or None,
                    timeout=urllib3.Timeout(total=request.timeout),
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
