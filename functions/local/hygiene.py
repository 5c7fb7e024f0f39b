"""What the local stack's servers add around the apps they serve: the portal's security
headers and quiet 404s, and a request body limit for the management API.

On the clouds the platform does these (CloudFront/Static Web Apps response headers, API
Gateway and Functions body limits); locally, uvicorn serves the apps bare.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MANAGEMENT_MAX_BODY = 1024 * 1024  # 1 MiB: the largest body (an OpenAPI document) is 512 KiB


def portal_headers(connect_to: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    """The portal page's meta CSP, narrowed to the two APIs it calls, plus what a meta tag
    cannot say: no framing (clickjacking), no MIME sniffing, no referrer."""
    connect = " ".join(("'self'", *connect_to))
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    ]


async def _plain(send: Send, status: int, text: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(text)).encode()), *extra]})
    await send({"type": "http.response.body", "body": text})


def secure_portal(static: App, headers: list[tuple[bytes, bytes]]) -> App:
    """Every portal response carries ``headers``; a missing file is a plain 404 (Starlette's
    StaticFiles raises for one, which a bare ASGI server turns into a 500 and a traceback)."""
    from starlette.exceptions import HTTPException

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await static(scope, receive, send)
            return
        started = False

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                names = {k for k, _ in headers}
                message["headers"] = [
                    *[(k, v) for k, v in message.get("headers", []) if k not in names], *headers]
            await send(message)

        try:
            await static(scope, receive, with_headers)
        except HTTPException as exc:
            if started:
                raise
            status = exc.status_code
            text = b"Not found.\n" if status == 404 else f"{exc.detail}\n".encode()
            extra = [(k.lower().encode(), v.encode()) for k, v in (exc.headers or {}).items()]
            await _plain(send, status, text, [*extra, *headers])

    return app


def body_limit(app: App, max_bytes: int = MANAGEMENT_MAX_BODY) -> App:
    """A 413 problem document for a request body over ``max_bytes``: at once when
    Content-Length says so, else as soon as the streamed body passes the limit."""
    doc = json.dumps({
        "type": "https://tollway.dev/problems/content-too-large",
        "title": "Content Too Large", "status": 413,
        "detail": f"The request body is larger than {max_bytes} bytes.",
    }).encode() + b"\n"

    async def too_large(send: Send) -> None:
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(doc)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": doc})

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = max_bytes + 1
                if declared > max_bytes:
                    await too_large(send)
                    return
        # Read the body here (at most max_bytes), then hand it to the app in one message:
        # failing inside the app's receive would surface as a 500 from its error handler.
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > max_bytes:
                await too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await app(scope, replay, send)

    return limited
