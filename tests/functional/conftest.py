"""A small world for gateway tests: memory store, manual clock, fake upstream, seeded
catalog. Fakes over mocks: the fake upstream is a real implementation of the port."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from shared.adapters.memory import MemoryStore
from shared.core import keys as keymod
from shared.core.clock import ManualClock
from shared.core.models import (
    Api,
    Consumer,
    KeyRecord,
    Lifecycle,
    Plan,
    Route,
    Subscription,
    Upstream,
)
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory
from shared.gateway.service import Gateway
from shared.gateway.throttle import Limiter
from shared.management import records
from shared.ports import UpstreamRequest, UpstreamResponse, UpstreamTimeout
from tests.support.fakes import ListSink

T0 = 1_767_225_610.0


class FakeUpstream:
    def __init__(self) -> None:
        self.requests: list[UpstreamRequest] = []
        self.fail: Exception | None = None

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        self.requests.append(request)
        if self.fail is not None:
            raise self.fail
        body = json.dumps({"url": request.url}).encode()
        return UpstreamResponse(
            200, (("content-type", "application/json"), ("connection", "close")), body
        )


@dataclass
class World:
    store: MemoryStore
    clock: ManualClock
    upstream: FakeUpstream
    usage: ListSink
    gateway: Gateway
    keys: dict[str, str] = field(default_factory=dict)

    def request(self, path="/demo/v2/echo/hi", key=None, method="GET", headers=(), body=b""):
        h = list(headers)
        if key is not None:
            h.append(("x-api-key", key))
        return self.gateway.handle(GatewayRequest(method, path, "", tuple(h), body))

    def add_key(self, consumer_id: str, name: str, **kw) -> str:
        issued = keymod.generate("tw")
        rec = KeyRecord(f"key_{name}", consumer_id, issued.key_hash, issued.hint, **kw)
        records.save_unaudited(self.store, records.key_writes(rec, new=True))
        self.keys[name] = issued.plaintext
        return issued.plaintext


FREE = Plan("free", "Free", apis=("demo",), rate_per_minute=3)
OTHER = Plan("other", "Other", apis=("billing",), rate_per_minute=100)


def catalog(upstream_url: str = "http://upstream.test") -> list[Api]:
    """Retired v0, deprecated v1, published v2 of ``demo``; ``billing``; a draft."""
    routes = (Route("GET", "/echo/*"), Route("POST", "/echo/*"))
    ups = (Upstream(upstream_url),)
    return [
        Api("demo-v0", "demo", "v0", "/demo/v0", ups, routes, Lifecycle.RETIRED),
        Api(
            "demo-v1",
            "demo",
            "v1",
            "/demo/v1",
            ups,
            routes,
            Lifecycle.DEPRECATED,
            deprecated_at=T0 - 100,
            sunset_at=T0 + 86_400 * 30,
        ),
        Api("demo-v2", "demo", "v2", "/demo/v2", ups, routes, Lifecycle.PUBLISHED),
        Api("billing-v1", "billing", "v1", "/billing/v1", ups, routes, Lifecycle.PUBLISHED),
        Api("draft-v1", "draft", "v1", "/draft/v1", ups, routes, Lifecycle.DRAFT),
    ]


def make_world(ttl: float = 5.0) -> World:
    clock = ManualClock(T0)
    store = MemoryStore(clock)
    writes = [records.put_plan_write(FREE), records.put_plan_write(OTHER)]
    writes += [records.put_api_write(a) for a in catalog()]
    writes += [
        records.put_consumer_write(Consumer("con_a", "A")),
        records.put_subscription_write(Subscription("sub_a", "con_a", "free")),
    ]
    records.save_unaudited(store, writes)
    upstream, usage = FakeUpstream(), ListSink()
    gw = Gateway(
        Directory(store, clock, ttl),
        Limiter(store, clock),
        clock,
        upstream=upstream,
        usage=usage,
        max_body=1024,
    )
    world = World(store, clock, upstream, usage, gw)
    world.add_key("con_a", "a")
    return world


@pytest.fixture
def world() -> World:
    return make_world()


__all__ = ["T0", "FakeUpstream", "UpstreamTimeout", "World", "make_world"]
