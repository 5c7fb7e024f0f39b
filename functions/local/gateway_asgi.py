"""The local front door: a bare ASGI app (no framework) that turns HTTP into a
GatewayRequest, runs ``Gateway.handle`` and writes the GatewayResponse.

``inline`` (the local stack with a store local to the process: SQLite, memory): ``handle``
runs on the event loop's thread in a greenlet (``run_bridged``); a warm decision is tens
of microseconds and the upstream exchange, through ``LoopUpstream``, is awaited on the
loop, so no thread hop per request (issue 11). With a store across the network (DynamoDB,
Azure Tables) every decision waits for I/O, so ``inline=False`` runs ``handle`` in a
worker thread, as before. Unset, it is inline exactly when the gateway's upstream is a
``LoopUpstream`` (a blocking upstream client must not run on the loop). Either way it is
the same ``handle``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import Any

import anyio.to_thread

from shared.adapters.loop_upstream import LoopUpstream, run_bridged
from shared.core.outcomes import Outcome
from shared.core.request import GatewayRequest, GatewayResponse, request_id
from shared.gateway import cors
from shared.gateway.service import Gateway, Verdict

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _latin1(raw: bytes) -> str:
    return raw.decode("latin-1")


class GatewayApp:
    """Translation only: CORS, limits and everything else happen in ``Gateway.handle``."""

    def __init__(self, gateway: Gateway, *, inline: bool | None = None) -> None:
        self.gateway = gateway
        self.inline = inline
        # Enough threads that a slow upstream does not starve the rest.
        self._limiter = anyio.CapacityLimiter(64)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body, too_large = await self._read_body(receive)
        client = scope.get("client") or ("", 0)
        req = GatewayRequest(
            method=scope["method"],
            path=_latin1(scope.get("raw_path") or scope["path"].encode()).split("?", 1)[0],
            query=_latin1(scope.get("query_string", b"")),
            headers=tuple([(k.decode("latin-1").lower(), v.decode("latin-1"))
                           for k, v in scope["headers"]]),
            body=body,
            source_ip=client[0] or "",
        )
        if too_large:
            resp = Gateway.render(Verdict(Outcome.BODY_TOO_LARGE, request_id(req)))
            cors.decorate(req, resp, self.gateway.cors_origins)  # as Gateway.handle does
        elif self.inline or (
            self.inline is None and isinstance(self.gateway.upstream, LoopUpstream)
        ):
            resp = await run_bridged(self.gateway.handle, req)
        else:
            resp = await anyio.to_thread.run_sync(self.gateway.handle, req, limiter=self._limiter)
        await self._send(send, resp)

    def close(self) -> None:
        """Close the upstream client's idle connections (the stack calls it on its loop
        when the servers stop)."""
        close = getattr(self.gateway.upstream, "close", None)
        if close is not None:
            close()

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size, limit = 0, self.gateway.max_body
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", True  # stop buffering; answer 413
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False

    @staticmethod
    async def _send(send: Send, resp: GatewayResponse) -> None:
        headers = []
        dated = False
        for k, v in resp.headers.items():
            name = k.lower()
            if name == "date":
                dated = True
            headers.append((name.encode("latin-1"), v.encode("latin-1")))
        if not dated:  # the upstream's Date passes through; a denial gets one here
            headers.append((b"date", formatdate(usegmt=True).encode()))
        headers.append((b"content-length", str(len(resp.body)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        await send({"type": "http.response.body", "body": resp.body})
