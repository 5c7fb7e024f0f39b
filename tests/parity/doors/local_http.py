"""Door 2: the local stack's HTTP server. ``GatewayApp`` under uvicorn, configured as
``tollway local`` configures it (``functions.local.stack.server_config``: no Server
header, the app's own Date, no proxy headers believed), on a free loopback port, started
once per session; each scenario swaps in a fresh gateway over a fresh SQLite file (the
local stack's default store) with ``BufferedSink`` metering, as the stack wires it.

The client is a raw socket: the request line and header bytes go out exactly as the
scenario wrote them (no client library normalising paths, adding Accept or User-Agent),
plus the ``Host`` and ``Content-Length`` framing HTTP/1.1 needs. The response is parsed
by ``http.client``, one pair per header line.
"""

from __future__ import annotations

import http.client
import itertools
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from functions.local.gateway_asgi import GatewayApp
from functions.local.stack import Options, server_config
from shared.adapters.memory import MemoryStore
from shared.adapters.sqlite import SqliteStore
from shared.wiring import buffered_usage, build_gateway
from tests.parity.spec import Observed, Wire
from tests.parity.world import FaultyStore, World
from tests.servers import free_port, wait_for_port

NAME = "local-http"
STORE = "sqlite"

_state: dict[str, Any] = {}
_seq = itertools.count()


@contextmanager
def session() -> Iterator[None]:
    """One uvicorn server (and one temporary directory for the SQLite files)."""
    placeholder = World()
    # inline: handle() on the event loop, as the stack runs it over SQLite (the in-process
    # fake upstream answers at once, so it may run on the loop).
    app = GatewayApp(build_gateway(placeholder.settings, store=MemoryStore(placeholder.clock),
                                   clock=placeholder.clock, upstream=placeholder.upstream),
                     inline=True)
    port = free_port()
    config = server_config(Options(gateway_port=port), "gateway", port, app)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="parity-local-http", daemon=True)
    with tempfile.TemporaryDirectory(prefix="tollway-parity-") as tmp:
        thread.start()
        try:
            wait_for_port(port)
            _state.update(app=app, port=port, dir=Path(tmp))
            yield
        finally:
            _state.clear()
            server.should_exit = True
            thread.join(timeout=10)


@contextmanager
def make(world: World) -> Iterator[Callable[[Wire], Observed]]:
    if not _state:
        raise RuntimeError("local-http: enter doors.local_http.session() first")
    store = SqliteStore(str(_state["dir"] / f"parity-{next(_seq)}.db"), world.clock)
    sink = buffered_usage(store)
    try:
        world.seed(store)
        app: GatewayApp = _state["app"]
        app.gateway = build_gateway(
            world.settings,
            store=FaultyStore(store, world),
            clock=world.clock,
            upstream=world.upstream,
            usage=sink,
        )
        yield lambda wire: _exchange(_state["port"], wire)
    finally:
        sink.close()
        store.close()


def _exchange(port: int, wire: Wire) -> Observed:
    target = wire.path + (f"?{wire.query}" if wire.query else "")
    lines = [
        f"{wire.method} {target} HTTP/1.1".encode("latin-1"),
        f"Host: 127.0.0.1:{port}".encode(),
    ]
    lines += [name.encode("latin-1") + b": " + value for name, value in wire.headers]
    if wire.body or wire.method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(wire.body)}".encode())
    data = b"\r\n".join(lines) + b"\r\n\r\n" + wire.body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method=wire.method)
        try:
            resp.begin()
            body = resp.read()
            headers = tuple((k.lower(), v) for k, v in resp.getheaders())
            return Observed(resp.status, headers, body)
        finally:
            resp.close()
