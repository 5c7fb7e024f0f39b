"""The same warm key-path decision over each store: memory, SQLite (a WAL file, as
``make run``) and DynamoDB (moto in another process, real HTTP, through the store's own
client as deployed: the client CPU includes the UpdateItem's signing, request and
parsing). Rounds alternate the stores."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from functools import partial

from bench.common import cpu_per_call, row
from bench.counting import CountingStore
from bench.world import make_world

ROUNDS = 5


def run() -> list[str]:
    from bench import emulator
    from shared.adapters.dynamodb import DynamoStore, create_table, make_client
    from shared.adapters.dynamodb_http import DynamoHttpClient
    from shared.adapters.memory import MemoryStore
    from shared.adapters.sqlite import SqliteStore
    from shared.core.clock import SystemClock

    clock = SystemClock()
    tmp = tempfile.mkdtemp(prefix="tollway-bench-")
    client = make_client(endpoint_url=emulator.endpoint(), region_name="us-east-1", read_timeout=30)
    table = f"bench-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    stores = {
        "memory": CountingStore(MemoryStore(clock)),
        "SQLite": CountingStore(SqliteStore(os.path.join(tmp, "bench.db"), clock)),
        "DynamoDB": CountingStore(
            DynamoStore(
                table,
                DynamoHttpClient(
                    endpoint_url=emulator.endpoint(), region_name="us-east-1", read_timeout=30
                ),
                clock,
            )
        ),
    }
    n = {"memory": 5000, "SQLite": 1000, "DynamoDB": 100}
    try:
        worlds = {name: make_world(s, clock=clock) for name, s in stores.items()}
        for w in worlds.values():
            w.gateway.decide(w.request())
        cpu: dict[str, list[float]] = {k: [] for k in worlds}
        wall: dict[str, list[float]] = {k: [] for k in worlds}
        for s in stores.values():
            s.calls.clear()
        for i in range(ROUNDS):
            names = list(worlds) if i % 2 == 0 else list(reversed(worlds))
            for name in names:
                decide = worlds[name].gateway.decide
                req = worlds[name].request()
                start = time.perf_counter()
                cpu[name].append(cpu_per_call(partial(decide, req), n[name], rounds=1))
                wall[name].append((time.perf_counter() - start) / n[name])
        calls = {k: sum(s.calls.values()) / (n[k] * ROUNDS) for k, s in stores.items()}
    finally:
        client.delete_table(TableName=table)
        stores["SQLite"].close()
    mem = statistics.median(cpu["memory"])
    lines = [
        "The same warm decision on each store "
        f"(CPU per decide(), medians of {ROUNDS} alternating rounds)"
    ]
    for name in worlds:
        c = statistics.median(cpu[name])
        lines.append(
            row(
                f"decide() on {name}",
                f"{c * 1e6:.1f} µs",
                f"{c / mem:.1f}x memory; {calls[name]:.2f} store calls; "
                f"wall {statistics.median(wall[name]) * 1e3:.3f} ms",
            )
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
