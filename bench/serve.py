"""Processes for the throughput benchmark: ``python -m bench.serve upstream PORT`` or
``python -m bench.serve gateway PORT UPSTREAM_URL KEYFILE`` (memory store, a plan with no
practical limit, metering queued as in the local stack). Each runs until killed."""

from __future__ import annotations

import sys

import uvicorn

from functions.local.demo_upstream import demo_upstream


def _gateway(upstream_url: str, keyfile: str) -> object:
    from functions.local.gateway_asgi import GatewayApp
    from shared.adapters.memory import MemoryStore
    from shared.core.clock import SystemClock
    from shared.core.models import Api, Lifecycle, Plan, Route, Upstream
    from shared.management import records
    from shared.settings import Settings
    from shared.wiring import buffered_usage, build_gateway

    clock = SystemClock()
    store = MemoryStore(clock)
    plan = Plan("bench", "Bench", apis=("demo",), rate_per_second=10**9, quota_per_day=10**12)
    api = Api(
        "demo-v2",
        "demo",
        "v2",
        "/demo/v2",
        (Upstream(upstream_url),),
        (Route("*", "/*"),),
        Lifecycle.PUBLISHED,
    )
    from functions.local.seed import DEMO_CONSUMER, issue_demo_key
    from shared.core.models import Consumer, Subscription

    records.save_unaudited(
        store,
        [
            records.put_plan_write(plan),
            records.put_api_write(api),
            records.put_consumer_write(Consumer(DEMO_CONSUMER, "bench")),
        ],
    )
    sub = Subscription("sub_b", DEMO_CONSUMER, "bench")
    records.save_unaudited(store, records.subscription_writes(sub))
    key = issue_demo_key(store, "tw", clock.now())
    with open(keyfile, "w") as f:
        f.write(key)
    gw = build_gateway(
        Settings(store="memory", cache_ttl=60), store=store, clock=clock,
        usage=buffered_usage(store),
    )
    return GatewayApp(gw)


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    app = demo_upstream if kind == "upstream" else _gateway(sys.argv[3], sys.argv[4])
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="error", access_log=False, lifespan="off"
    )


if __name__ == "__main__":
    main()
