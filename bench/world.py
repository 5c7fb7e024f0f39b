"""The benchmarks' own small world (bench never imports from ``tests/``): a store seeded
with one published API, one consumer subscribed to a plan with no practical limit, and
one API key; a gateway over it with an in-process upstream and a usage sink of choice."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared.core import keys as keymod
from shared.core.clock import Clock, SystemClock
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
from shared.ports import Store, UpstreamRequest, UpstreamResponse, UsageSink

#: Generous enough that a benchmark never reaches it (a fixed-window plan, as most are).
BIG = Plan("bench", "Bench", apis=("demo",), rate_per_minute=10**12, quota_per_day=10**12)
PATH = "/demo/v2/echo/hi"


class EchoUpstream:
    """In-process upstream: the forward costs our header work, not a socket."""

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        body = json.dumps({"url": request.url}).encode()
        return UpstreamResponse(200, (("content-type", "application/json"),), body)


class ListSink:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def emit(self, event: Any) -> None:
        self.events.append(event)


def seed(
    store: Store, clock: Clock, plan: Plan = BIG, upstream: str = "http://upstream.test"
) -> str:
    """Seed ``store``; return the plaintext API key."""
    api = Api(
        "demo-v2",
        "demo",
        "v2",
        "/demo/v2",
        (Upstream(upstream),),
        (Route("GET", "/echo/*"), Route("POST", "/echo/*")),
        Lifecycle.PUBLISHED,
    )
    records.save_unaudited(
        store,
        [
            records.put_plan_write(plan),
            records.put_api_write(api),
            records.put_consumer_write(Consumer("con_bench", "Bench")),
        ],
    )
    records.save_unaudited(
        store, records.subscription_writes(Subscription("sub_bench", "con_bench", plan.id))
    )
    issued = keymod.generate("tw")
    rec = KeyRecord("key_bench", "con_bench", issued.key_hash, issued.hint, created_at=clock.now())
    records.save_unaudited(store, records.key_writes(rec, new=True))
    return issued.plaintext


@dataclass
class World:
    store: Store
    clock: Clock
    gateway: Gateway
    key: str
    usage: Any = field(default=None)

    def request(self, rid: str = "bench-request-1") -> GatewayRequest:
        return GatewayRequest("GET", PATH, "", (("x-api-key", self.key), ("x-request-id", rid)))


def make_world(
    store: Store | None = None,
    *,
    ttl: float = 3600,
    usage: UsageSink | None = None,
    clock: Clock | None = None,
    plan: Plan = BIG,
) -> World:
    from shared.adapters.memory import MemoryStore

    clock = clock or SystemClock()
    store = store if store is not None else MemoryStore(clock)
    key = seed(store, clock, plan)
    usage = usage if usage is not None else ListSink()
    gw = Gateway(
        Directory(store, clock, ttl),
        Limiter(store, clock),
        clock,
        upstream=EchoUpstream(),
        usage=usage,
    )
    return World(store, clock, gw, key, usage)
