"""Client-side CPU of one gateway decision including its DynamoDB request (real HTTP to a
DynamoDB-compatible server on loopback), next to the same decision over the memory store."""

from __future__ import annotations

import time
import uuid

from bench.common import cpu_per_call, row
from shared.adapters.dynamodb import DynamoStore, create_table, make_client
from shared.core.clock import SystemClock
from shared.core.models import Plan
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory
from shared.gateway.service import Gateway
from shared.gateway.throttle import Limiter
from shared.management import records
from tests.contract.backends import dynamodb_server
from tests.functional.conftest import make_world


def run() -> list[str]:
    world = make_world(ttl=3600)
    big = Plan("free", "Free", apis=("demo",), rate_per_minute=10**12, quota_per_day=10**12)
    records.save_unaudited(world.store, [records.put_plan_write(big)])
    client = make_client(endpoint_url=dynamodb_server.endpoint(), region_name="us-east-1")
    table = f"bench-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    clock = SystemClock()
    store = DynamoStore(table, client, clock)
    try:
        # Copy the world's records into DynamoDB.
        for pk in ("PLAN", "API", "CONSUMER", "CONSUMER#con_a"):
            for item in world.store.query(pk, limit=100):
                store.transact([records.Put(item)])
        for item in world.store._items.values():  # the key-by-hash item
            if item.pk.startswith("KEYHASH#"):
                store.transact([records.Put(item)])
        gw = Gateway(Directory(store, clock, 3600), Limiter(store, clock), clock)
        req = GatewayRequest(
            "GET",
            "/demo/v2/echo/hi",
            "",
            (("x-api-key", world.keys["a"]), ("x-request-id", "bench-ddb-1")),
        )
        assert gw.decide(req).outcome.value == "ok"
        calls = []
        client.meta.events.register("before-call.dynamodb.*", lambda **kw: calls.append(1))
        n = 300
        start = time.perf_counter()
        ddb_cpu = cpu_per_call(lambda: gw.decide(req), n, rounds=3)
        wall = (time.perf_counter() - start) / (n * 3)
        per_request = len(calls) / (n * 3)
        mem_gw = world.gateway
        mreq = GatewayRequest("GET", "/demo/v2/echo/hi", "", (("x-api-key", world.keys["a"]),))
        mem_cpu = cpu_per_call(lambda: mem_gw.decide(mreq), 5000, rounds=3)
    finally:
        client.delete_table(TableName=table)
    return [
        "DynamoDB path (moto server on loopback, real HTTP)",
        row("decide() client CPU incl. the DynamoDB UpdateItem", f"{ddb_cpu * 1e6:.0f} µs"),
        row("decide() CPU over the memory store", f"{mem_cpu * 1e6:.0f} µs"),
        row(
            "DynamoDB share of client CPU (botocore)",
            f"{(ddb_cpu - mem_cpu) * 1e6:.0f} µs",
            f"{ddb_cpu / mem_cpu:.1f}x memory",
        ),
        row("DynamoDB requests per gateway decision", f"{per_request:.2f}"),
        row("wall time per decision (emulator, loopback)", f"{wall * 1e3:.2f} ms"),
    ]
