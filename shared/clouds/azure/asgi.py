"""ASGI glue for the management app on Azure Functions (``AsgiFunctionApp``).

The Functions ASGI adapter leaves ``scope["client"]`` as None, so every caller would look
like the same client ("unknown") to the sign-up and login throttles: one attacker could
throttle everybody. :class:`ClientFromFrontEnd` sets it from the front end's last
``X-Forwarded-For`` hop (the same rule as the gateway, ``events.strip_port``), and takes
that hop off the header.
"""

from __future__ import annotations

from typing import Any

from shared.clouds.azure.events import client_ip


class ClientFromFrontEnd:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and not scope.get("client"):
            pairs = [
                (k.decode("latin-1").lower(), v.decode("latin-1"))
                for k, v in scope.get("headers") or []
            ]
            ip = client_ip(pairs)
            if ip:
                scope = {
                    **scope,
                    "client": (ip, 0),
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs],
                }
        await self.app(scope, receive, send)
