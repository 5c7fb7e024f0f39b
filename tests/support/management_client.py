"""A synchronous in-process client for the management app (tests, scripts, the e2e tour).

``httpx.Client`` over ``httpx.ASGITransport``, driven from a blocking anyio portal, so no
server, socket or extra package (Starlette's TestClient now wants ``httpx2``) is needed.
Application exceptions propagate to the caller (unless ``raise_app_exceptions=False``), so
a bug fails the test that caused it.

    with management_client(app) as client:
        client.get("/healthz")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from starlette.types import ASGIApp


class _SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, portal: BlockingPortal, client: tuple[str, int],
                 raise_app_exceptions: bool) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client,
                                          raise_app_exceptions=raise_app_exceptions)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = await self._inner.handle_async_request(request)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=body, request=request)


@contextmanager
def management_client(
    app: ASGIApp, *, base_url: str = "http://testserver",
    client_address: tuple[str, int] = ("203.0.113.7", 50000),
    event_hooks: dict[str, list[Any]] | None = None, raise_app_exceptions: bool = True,
) -> Iterator[httpx.Client]:
    """``raise_app_exceptions=False`` shows what a caller would get (a 500 problem)."""
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        transport = _SyncASGITransport(app, portal, client_address, raise_app_exceptions)
        client = httpx.Client(transport=transport, base_url=base_url,
                              event_hooks=event_hooks or {})
        stack.enter_context(client)
        yield client
