"""Every JSON body the management API sends ends with a newline, as the gateway's problem
documents do (shared/core/outcomes.py): ``curl`` output then ends on its own line, and
tools that read line by line see a complete line.

An ASGI middleware, so FastAPI keeps its fast serialisation path: it holds back the
response start of a JSON or problem+json response until the body is known, appends
``\\n`` and corrects Content-Length. Streamed and non-JSON responses pass untouched.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_JSON = ("application/json", "application/problem+json")


class TrailingNewline:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None

        async def send_framed(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                media = MutableHeaders(scope=message).get("content-type", "").split(";")[0]
                if media.strip() in _JSON:
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                start, held = held, None
                body = message.get("body", b"")
                if not message.get("more_body") and body and not body.endswith(b"\n"):
                    body += b"\n"
                    headers = MutableHeaders(scope=start)
                    if "content-length" in headers:
                        headers["content-length"] = str(len(body))
                    message = {**message, "body": body}
                await send(start)
            await send(message)

        await self.app(scope, receive, send_framed)
