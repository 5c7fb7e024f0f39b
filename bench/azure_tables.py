"""The per-bucket throughput ceiling of Azure Table Storage rate limiting, on Azurite.

All hits go to ONE bucket (one subscription) whose limit is never reached, from 1, 8 and 64
concurrent writers. Each writer is its own ``AzureTableStore`` (own ETag cache, own
connection), like separate function instances. Reported: admitted hits/s, ETag conflicts
(412) per admitted hit, hits that ran out of retries (``StoreUnavailable``), and latency.
Azurite, the writers and this process share the machine's cores: the figures are for
orientation and for the shape of the curve, not for Azure itself.

Run alone: ``.venv/bin/python -m bench.azure_tables [seconds per point]`` (needs
``make azurite``).
"""

from __future__ import annotations

import atexit
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

from bench.common import ROOT
from shared.adapters import azure_tables
from shared.adapters.azure_tables import AzureTableStore
from shared.core.clock import SystemClock
from shared.core.ratelimit import Slot
from shared.ports import StoreUnavailable

AZURITE = ROOT / "node_modules" / ".bin" / "azurite-table"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
WRITERS = (1, 8, 64)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_azurite() -> str:
    """Azurite on a free port, killed at exit; its connection string."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = ["--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck"]
    proc = subprocess.Popen(
        [str(AZURITE), *flags, "--tableHost", "127.0.0.1", "--tablePort", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(proc.kill)
    deadline = time.monotonic() + 30
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("Azurite did not start")
        time.sleep(0.05)
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={KEY};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def measure(conn: str, table: str, writers: int, seconds: float) -> dict[str, float]:
    clock = SystemClock()
    slot = Slot("m1", 10**12, clock.now() + 3600)  # never full: every hit is admitted
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    stores = [AzureTableStore(table, clock, connection_string=conn) for _ in range(writers)]
    for store in stores:
        store.hit(bucket, [slot], [], 1)  # warm: client built, ETag cached
    conflicts = [0] * writers
    admitted = [0] * writers
    gave_up = [0] * writers
    latencies: list[list[float]] = [[] for _ in range(writers)]
    start = threading.Barrier(writers + 1)
    stop = threading.Event()

    def writer(i: int) -> None:
        store = stores[i]
        real = store._write_counters

        def counted(*a: object, **kw: object) -> object:
            try:
                return real(*a, **kw)  # type: ignore[arg-type]
            except azure_tables._Conflict:
                conflicts[i] += 1
                raise

        store._write_counters = counted  # type: ignore[method-assign]
        start.wait()
        while not stop.is_set():
            t = time.perf_counter()
            try:
                admitted[i] += store.hit(bucket, [slot], [], 1).admitted
            except StoreUnavailable:
                gave_up[i] += 1
            latencies[i].append(time.perf_counter() - t)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    for store in stores:
        store.close()
    lat = sorted(x for per in latencies for x in per)
    return {
        "admitted_per_s": sum(admitted) / elapsed,
        "conflicts_per_admitted": sum(conflicts) / max(1, sum(admitted)),
        "gave_up": sum(gave_up),
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
    }


def run(seconds: float = 5.0) -> list[str]:
    if not AZURITE.exists():
        return ["Azure Tables ceiling: skipped (run `make azurite` to install Azurite)"]
    conn = start_azurite()
    table = "bench" + uuid.uuid4().hex[:8]
    AzureTableStore(table, SystemClock(), connection_string=conn).create_table_if_missing()
    lines = [
        "Azure Tables (Azurite), ONE bucket, limit never reached — per-bucket ceiling:",
        f"  {'writers':>7} {'backoff':>8} {'admitted/s':>11} {'412s/admit':>11} "
        f"{'gave up':>8} {'p50 ms':>7} {'p99 ms':>7}",
    ]
    backoff = azure_tables._BACKOFF
    for jitter in (True, False):
        azure_tables._BACKOFF = backoff if jitter else (0.0, 0.0)
        for writers in WRITERS:
            if not jitter and writers == 1:
                continue  # one writer never conflicts
            m = measure(conn, table, writers, seconds)
            lines.append(
                f"  {writers:>7} {'jitter' if jitter else 'none':>8} "
                f"{m['admitted_per_s']:>11.0f} {m['conflicts_per_admitted']:>11.2f} "
                f"{m['gave_up']:>8.0f} {m['p50_ms']:>7.1f} {m['p99_ms']:>7.1f}"
            )
    azure_tables._BACKOFF = backoff
    return lines


if __name__ == "__main__":
    for line in run(float(sys.argv[1]) if sys.argv[1:] else 5.0):
        print(line, flush=True)
