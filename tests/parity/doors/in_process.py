"""Door 1: the service in process. The caller builds the GatewayRequest itself (header
bytes read as Latin-1, names lower-cased, as an HTTP server hands them over) and calls
``Gateway.handle``. Store: memory, the in-process default."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shared.adapters.memory import MemoryStore
from shared.core.request import GatewayRequest
from shared.wiring import build_gateway
from tests.parity.spec import Observed, Wire
from tests.parity.world import FaultyStore, World
from tests.support.fakes import ListSink

NAME = "in-process"
STORE = "memory"


@contextmanager
def make(world: World) -> Iterator[Callable[[Wire], Observed]]:
    store = MemoryStore(world.clock)
    world.seed(store)
    gateway = build_gateway(
        world.settings,
        store=FaultyStore(store, world),
        clock=world.clock,
        upstream=world.upstream,
        usage=ListSink(),
    )

    def send(wire: Wire) -> Observed:
        req = GatewayRequest(
            method=wire.method,
            path=wire.path,
            query=wire.query,
            headers=tuple((k.lower(), v.decode("latin-1")) for k, v in wire.headers),
            body=wire.body,
            source_ip=world.client_ip,
        )
        resp = gateway.handle(req)
        headers = tuple((k.lower(), v) for k, v in resp.headers.items())
        return Observed(resp.status, headers, resp.body)

    yield send
