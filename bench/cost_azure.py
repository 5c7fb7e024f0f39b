"""``make cost`` (Azure half): dollars per million gateway requests on Azure, line by line.

Computed from iac/azure/main.bicep's settings (the gateway's instance memory, always-ready
count and per-instance HTTP concurrency, the worker's instance memory), the list prices
below, byte counts measured from what the code writes (the metrics line from
``LogMetrics``, the usage queue message from ``usage.encode``) and stated assumptions for
the rest (durations): every assumption is a named constant here and is printed with the
table.

Only prices with a source found are used. Searched 2026-11-27 (stored copies of public pages;
azure.microsoft.com/pricing/details/* renders its prices client-side, the stored copy of the
Functions page shows "$-" in place of every price):

| item | price | region | source |
|---|---|---|---|
| Flex on-demand execution time | $0.000026 / GB-s, no free grant (1) | East US | [modal] |
| Flex on-demand executions | NO SOURCE FOUND: left out of the total | | |
| Flex always-ready baseline | NO SOURCE FOUND: left out of the total | | |
| Table Storage transactions | NO SOURCE FOUND: left out of the total | | |
| Queue Storage operations | NO SOURCE FOUND: left out of the total | | |
| Log Analytics ingestion (App Insights) | NO SOURCE FOUND: left out of the total | | |
| Bandwidth out to the internet | NO SOURCE FOUND: left out of the total | | |

[modal]: https://modal.com/blog/azure-function-pricing-guide (Kenny Ning, 22 May 2025:
"Flex Consumption plan pricing ... Execution Time: $0.000026 per GB-second", East US).

(1) The source names a monthly free grant, but its amount is cut off in the stored copy:
the grant is not subtracted (it is per subscription and per month, not per request).

Billing rules used, each from Microsoft's documentation:

- Flex on demand bills "the total amount of memory provisioned while each on demand instance
  is actively executing functions (in GB-seconds)" and "the total number of executions";
  always-ready instances add a baseline for "the total amount of memory provisioned across
  all of your always ready instances" and have no free grants
  (https://learn.microsoft.com/azure/azure-functions/functions-consumption-costs, Flex
  Consumption tab; MicrosoftDocs/azure-docs includes/functions-flex-consumption-billing-table.md,
  ms.date 11/05/2024).
- Log Analytics bills ingested volume in GB of 10^9 bytes, a record's size being the string
  representation of its stored columns
  (https://learn.microsoft.com/azure/azure-monitor/logs/cost-logs).
"""

from __future__ import annotations

import argparse
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BICEP = ROOT / "iac" / "azure" / "main.bicep"

# --- list prices (see the table above); None = no source found, left out of the total ----
FLEX_ON_DEMAND_GB_S = 0.000026
FLEX_EXECUTIONS_PER_M: float | None = None
FLEX_ALWAYS_READY_BASELINE_GB_S: float | None = None
TABLE_TRANSACTION_PER_M: float | None = None
QUEUE_OPERATION_PER_M: float | None = None
LOG_INGEST_PER_GB: float | None = None
EGRESS_PER_GB: float | None = None
LOG_GB = 10**9  # Log Analytics' GB
MONTH_SECONDS = 30 * 24 * 3600

# --- stated assumptions (not measured here; change them on the command line) ----------------
#: The gateway's own compute per request, ms: translation, key hash, cached lookups.
GATEWAY_CPU_MS = 4.0
#: One Table Storage round trip (the rate-limit conditional write), ms.
TABLE_RTT_MS = 5.0
#: The usage queue put, ms (docs/azure.md: "a few ms" in the same region).
QUEUE_PUT_MS = 3.0
#: The upstream's answer time, ms: the instance is active (and billed) while it waits.
UPSTREAM_MS = 50.0
#: Requests in flight together on one active gateway instance. Flex bills an instance's
#: active time, not each request's: 1 = no overlap (every request bills its whole
#: duration, the upper bound for steady traffic); up to gatewayHttpConcurrency.
OVERLAP = 1.0
#: The worker's time per usage message, ms (parse + one Table transaction).
WORKER_MS_PER_MESSAGE = 10.0
#: Key, consumer, subscription, plan and route-table reads per warm instance per cache TTL
#: window, and requests per instance per window (as bench/cost.py: 20 req/s, TTL 5 s).
CACHE_READS_PER_WINDOW = 5
REQUESTS_PER_WINDOW = 100.0
#: Metering per message (one request each): the aggregate read + one entity-group
#: transaction (aggregate increment + dedup marker), shared/metering/aggregate.py.
METERING_TABLE_OPS = 2
#: Queue operations per usage message: put (gateway), get and delete (worker).
QUEUE_OPS = 3


@dataclass(frozen=True)
class Settings:
    gateway_memory_mb: int
    gateway_always_ready: int
    gateway_http_concurrency: int
    worker_memory_mb: int


def _param(text: str, name: str) -> int:
    m = re.search(rf"^param {name} int = (\d+)", text, re.M)
    if m is None:
        raise ValueError(f"main.bicep: no int param {name}")
    return int(m.group(1))


def _module_memory(text: str, module: str) -> int:
    m = re.search(rf"^module {module} .*?^}}", text, re.M | re.S)
    if m is None:
        raise ValueError(f"main.bicep: no module {module}")
    mem = re.search(r"instanceMemoryMB: (\w+)", m.group(0))
    if mem is None:
        raise ValueError(f"main.bicep: module {module} sets no instanceMemoryMB")
    value = mem.group(1)
    return int(value) if value.isdigit() else _param(text, value)


def settings(bicep: Path = BICEP) -> Settings:
    text = bicep.read_text()
    return Settings(
        gateway_memory_mb=_module_memory(text, "gateway"),
        gateway_always_ready=_param(text, "gatewayAlwaysReady"),
        gateway_http_concurrency=_param(text, "gatewayHttpConcurrency"),
        worker_memory_mb=_module_memory(text, "worker"),
    )


def metrics_line_bytes(service: str = "gateway") -> int:
    """The gateway's metrics line for one request (Requests + UpstreamLatency, with the
    request id), measured from the real LogMetrics: the ``message`` column only."""
    from shared.clouds.azure.metrics import LogMetrics

    out = io.StringIO()
    logger = logging.getLogger(f"tollway.cost.{service}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        m = LogMetrics(service, logger)
        m.begin("0f8fad5b-d9cb-469f-a165-70867728950e")
        if service == "gateway":
            m.count("Requests")
            m.timing("UpstreamLatency", 52.345)
        else:
            m.count("UsageRecorded")
            m.count("UsageDuplicateGroups", 0)
        m.flush()
    finally:
        logger.removeHandler(handler)
    return len(out.getvalue().rstrip("\n").encode())


def usage_message_bytes() -> int:
    """The usage queue message for one request, measured from the real encoder, as sent
    (base64 of the ``TOLLWAY_USAGE {json}`` text)."""
    import base64

    from shared.clouds.azure.usage import encode
    from shared.core.models import UsageEvent

    text = encode(UsageEvent(
        "0f8fad5b-d9cb-469f-a165-70867728950e", 1_767_225_610.123456, "con_" + "x" * 22,
        "key_" + "y" * 22, "api_" + "z" * 22, "/orders/{id}", "GET", 200, 0, 1_234,
        61.234567, 1))
    return len(base64.b64encode(text.encode()))


Row = tuple[str, str, float | None]


def lines(args: argparse.Namespace, bicep: Path = BICEP) -> tuple[list[Row], dict[str, object]]:
    s = settings(bicep)
    out: list[Row] = []

    def add(item: str, basis: str, dollars: float | None) -> None:
        out.append((item, basis, dollars))

    def priced(quantity_per_m: float, price_per_m: float | None) -> float | None:
        return None if price_per_m is None else quantity_per_m * price_per_m

    gw_gb = s.gateway_memory_mb / 1024
    gw_ms = args.gateway_cpu_ms + TABLE_RTT_MS + QUEUE_PUT_MS + args.upstream_ms
    add("gateway executions", "1 per request", priced(1, FLEX_EXECUTIONS_PER_M))
    gw_gb_s = gw_gb * gw_ms / 1000 / args.overlap
    add("gateway execution time",
        f"{s.gateway_memory_mb} MB x {gw_ms:g} ms (stated: {args.gateway_cpu_ms:g} CPU + "
        f"{TABLE_RTT_MS:g} table + {QUEUE_PUT_MS:g} queue + {args.upstream_ms:g} upstream)"
        f" / overlap {args.overlap:g} = {gw_gb_s:.4f} GB-s",
        gw_gb_s * FLEX_ON_DEMAND_GB_S * 1e6)
    if s.gateway_always_ready:
        # A fixed monthly cost, shown per million requests at the stated monthly volume.
        baseline_gb_s = s.gateway_always_ready * gw_gb * MONTH_SECONDS
        per_m = (None if FLEX_ALWAYS_READY_BASELINE_GB_S is None else
                 baseline_gb_s * FLEX_ALWAYS_READY_BASELINE_GB_S / args.millions_per_month)
        add("gateway always-ready baseline",
            f"{s.gateway_always_ready} x {s.gateway_memory_mb} MB all month = "
            f"{baseline_gb_s:,.0f} GB-s / {args.millions_per_month:g} M requests", per_m)
    else:
        add("gateway always-ready baseline", "gatewayAlwaysReady = 0", 0.0)
    reads = CACHE_READS_PER_WINDOW / REQUESTS_PER_WINDOW
    add("Table: rate-limit conditional write", "1 transaction",
        priced(1, TABLE_TRANSACTION_PER_M))
    add("Table: cache refresh reads", f"{reads:.2f} transactions (5 reads / TTL window)",
        priced(reads, TABLE_TRANSACTION_PER_M))
    msg = usage_message_bytes()
    add("Queue: usage message", f"{QUEUE_OPS} operations (put, get, delete) of {msg} B "
        "(measured, base64)", priced(QUEUE_OPS, QUEUE_OPERATION_PER_M))
    add("worker executions", "1 per message", priced(1, FLEX_EXECUTIONS_PER_M))
    wk_gb_s = s.worker_memory_mb / 1024 * WORKER_MS_PER_MESSAGE / 1000
    add("worker execution time",
        f"{s.worker_memory_mb} MB x {WORKER_MS_PER_MESSAGE:g} ms (stated) = {wk_gb_s:.4f} GB-s",
        wk_gb_s * FLEX_ON_DEMAND_GB_S * 1e6)
    add("Table: metering", f"{METERING_TABLE_OPS} transactions (read + entity-group "
        "transaction) per message", priced(METERING_TABLE_OPS, TABLE_TRANSACTION_PER_M))
    gw_line = metrics_line_bytes("gateway")
    wk_line = metrics_line_bytes("worker")
    log_bytes = gw_line + wk_line
    add("Log Analytics: metrics lines",
        f"{gw_line} + {wk_line} B (measured, LogMetrics message column) = "
        f"{log_bytes * 1e6 / LOG_GB:.3f} GB", priced(log_bytes / LOG_GB, LOG_INGEST_PER_GB))
    add("Log Analytics: host request telemetry", "2 executions; size not measured here",
        None)
    facts: dict[str, object] = {"settings": s, "gateway_gb_s": gw_gb_s,
                                "worker_gb_s": wk_gb_s, "log_bytes": log_bytes}
    return out, facts


def total(rows: list[Row]) -> float:
    return sum(r[2] for r in rows if r[2] is not None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream-ms", type=float, default=UPSTREAM_MS)
    p.add_argument("--gateway-cpu-ms", type=float, default=GATEWAY_CPU_MS)
    p.add_argument("--overlap", type=float, default=OVERLAP,
                   help="requests in flight together on an active instance")
    p.add_argument("--millions-per-month", type=float, default=100.0,
                   help="monthly volume, to spread always-ready baselines")
    args = p.parse_args(argv)
    rows, _ = lines(args)
    width = max(len(r[0]) for r in rows) + 2
    print("Tollway on Azure, East US prices with a cited source (bench/cost_azure.py), per "
          f"million requests, upstream {args.upstream_ms:g} ms")
    print(f"{'item':<{width}}{'per million':>12}  basis")
    for item, basis, dollars in rows:
        shown = "n/a" if dollars is None else "$" + format(dollars, ".3f")
        print(f"{item:<{width}}{shown:>12}  {basis}")
    missing = sum(1 for r in rows if r[2] is None)
    print(f"{'total of priced lines':<{width}}{'$' + format(total(rows), '.2f'):>12}  "
          f"{missing} lines n/a: no cited price, left out")
    print(f"{'egress, per KB of response':<{width}}{'n/a':>12}  no cited price")
    print("n/a = no list price found with a source (see the table in bench/cost_azure.py); "
          f"assumed, not measured: gateway CPU {args.gateway_cpu_ms:g} ms, Table "
          f"{TABLE_RTT_MS:g} ms, queue put {QUEUE_PUT_MS:g} ms, worker "
          f"{WORKER_MS_PER_MESSAGE:g} ms a message, overlap {args.overlap:g}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
