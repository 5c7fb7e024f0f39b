"""A tiny httpbin-like upstream for the local stack and tests: it echoes what it got.

``/status/<code>`` answers that status; everything else answers 200 with a JSON echo of
method, path, query, headers and body. No framework, so it is fast enough to benchmark
the gateway against.
"""

from __future__ import annotations

import json
from typing import Any


async def demo_upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        if scope["type"] == "lifespan":
            while True:
                m = await receive()
                await send({"type": m["type"] + ".complete"})
                if m["type"] == "lifespan.shutdown":
                    return
        return
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    path: str = scope["path"]
    status = 200
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "status" and parts[-1].isdigit():
        status = min(max(int(parts[-1]), 200), 599)
    payload = {
        "method": scope["method"],
        "path": path,
        "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),  # as sent, still encoded
        "query": scope.get("query_string", b"").decode("latin-1"),
        "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        "body": body.decode("utf-8", "replace"),
    }
    out = json.dumps(payload).encode() + b"\n"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(out)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": out})
