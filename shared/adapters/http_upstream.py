"""Forward to upstreams over HTTP with httpx: pooled connections, per-request timeouts,
retries only for idempotent methods and only when no response was received."""

from __future__ import annotations

import httpx

from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse, UpstreamTimeout

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class HttpUpstream:
    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        attempts = 1 + (request.retries if request.method in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                resp = self._client.request(
                    request.method,
                    request.url,
                    headers=list(request.headers),
                    content=request.body or None,
                    timeout=request.timeout,
                )
                return UpstreamResponse(resp.status_code, tuple(resp.headers.items()), resp.content)
            except httpx.TimeoutException as exc:
                if attempt + 1 == attempts:
                    raise UpstreamTimeout(str(exc)) from exc
            except httpx.HTTPError as exc:
                if attempt + 1 == attempts:
                    raise UpstreamFailure(str(exc)) from exc
        raise UpstreamFailure("no attempt made")

    def close(self) -> None:
        self._client.close()
