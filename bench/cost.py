"""``make cost``: dollars per million gateway requests on AWS, line by line.

Computed from template.yaml's settings (memory sizes, architectures, log retention, whether
the authorizer and the gateway's access log are on), the list prices below, byte counts
measured from what the code really writes (the usage line from ``LogLineSink``, the
router's EMF line from ``PowertoolsMetrics``), and stated assumptions for the rest
(durations, batch shapes): every assumption is a named constant here and is printed with
the table.

List prices, region us-east-1 (US East, N. Virginia), read 2026-11-27:

| item | price | source |
|---|---|---|
| API Gateway HTTP API, first 300 M/month, per 512 KB | $1.00 / million | [apigw] |
| Lambda requests | $0.20 / million | [lambda] |
| Lambda duration, Arm, first 7.5 B GB-s/month | $0.0000133334 / GB-s | [lambda] |
| Lambda duration, x86, first 6 B GB-s/month | $0.0000166667 / GB-s | [lambda] |
| DynamoDB on-demand writes | $0.625 / million WRU | [ddb] |
| DynamoDB on-demand reads | $0.125 / million RRU | [ddb] |
| CloudWatch Logs ingestion, standard, first 10 TB | $0.50 / GB | [cw] |
| CloudWatch Logs storage, compressed | $0.03 / GB-month | [cw] |
| Data transfer out to the internet, first 10 TB/month | $0.09 / GB | [egress] |

[apigw]: https://aws.amazon.com/api-gateway/pricing/
[lambda]: https://aws.amazon.com/lambda/pricing/
[ddb]: https://aws.amazon.com/dynamodb/pricing/on-demand/
[cw]: https://aws.amazon.com/cloudwatch/pricing/
[egress]: https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer

Billing rules used: a transactional write costs 2 WRU per item (up to 1 KB); an UpdateItem
of an item under 1 KB costs 1 WRU; CloudWatch Logs bills each event's UTF-8 bytes plus 26
bytes of metadata; a GB is 2^30 bytes.
"""

from __future__ import annotations

import argparse
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

# --- list prices (see the table above) -------------------------------------------------------
HTTP_API_PER_M = 1.00
LAMBDA_REQUEST_PER_M = 0.20
LAMBDA_GB_S = {"arm64": 0.0000133334, "x86_64": 0.0000166667}
DDB_WRU_PER_M = 0.625
DDB_RRU_PER_M = 0.125
LOGS_INGEST_PER_GB = 0.50
LOGS_STORE_PER_GB_MONTH = 0.03
EGRESS_PER_GB = 0.09
GB = 2**30
LOG_EVENT_OVERHEAD = 26

# --- stated assumptions (not measured here; change them on the command line) ----------------
#: The router's own compute per request at a full vCPU (1,769 MB), ms: event translation,
#: key hash, cached lookups, botocore request signing, response translation.
ROUTER_CPU_MS = 4.0
#: One DynamoDB UpdateItem round trip (the rate-limit charge), ms: waiting, not computing.
DDB_RTT_MS = 5.0
#: The upstream's answer time, ms: the router waits (and is billed) for it.
UPSTREAM_MS = 50.0
#: The authorizer's own compute at a full vCPU, ms (it makes the DynamoDB call instead).
AUTHORIZER_CPU_MS = 4.0
#: Lines per subscription batch and consumer x API x hour groups in one batch.
BATCH_LINES = 1_000
GROUPS_PER_BATCH = 10
#: Metering: ms per batch at 256 MB (gunzip + parse 1,000 lines + one transaction per group).
METERING_MS_PER_BATCH = 120.0 + 15.0 * GROUPS_PER_BATCH
#: Lambda platform lines per invocation (START, END, REPORT), bytes: their fixed text plus
#: a 36-character request id each, a typical REPORT.
PLATFORM_LINES = [
    "START RequestId: 6d1e2f3a-0b4c-4d5e-8f9a-0b1c2d3e4f5a Version: $LATEST\n",
    "END RequestId: 6d1e2f3a-0b4c-4d5e-8f9a-0b1c2d3e4f5a\n",
    "REPORT RequestId: 6d1e2f3a-0b4c-4d5e-8f9a-0b1c2d3e4f5a\tDuration: 61.42 ms\t"
    "Billed Duration: 62 ms\tMemory Size: 512 MB\tMax Memory Used: 96 MB\t\n",
]
#: CloudWatch Logs storage: compression ratio of stored log data.
LOG_COMPRESSION = 0.15
#: Key, consumer, subscription, plan and route-table reads per warm instance per cache TTL
#: window, and requests per instance per window (1 instance at 20 req/s, TTL 5 s).
CACHE_READS_PER_WINDOW = 5
REQUESTS_PER_WINDOW = 100.0


@dataclass(frozen=True)
class Function:
    name: str
    memory_mb: int
    arch: str


def template() -> dict[str, Any]:
    class Loader(yaml.SafeLoader):
        pass

    def tag(loader: yaml.Loader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    Loader.add_multi_constructor("!", tag)
    doc: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=Loader)
    return doc


def function(doc: dict[str, Any], resource: str) -> Function:
    glob = doc["Globals"]["Function"]
    props = doc["Resources"][resource]["Properties"]
    memory = int(props.get("MemorySize", glob["MemorySize"]))
    arch = (props.get("Architectures") or glob["Architectures"])[0]
    return Function(resource, memory, arch)


def _vcpu_share(memory_mb: int) -> float:
    """Lambda gives one full vCPU at 1,769 MB, proportionally less below."""
    return min(1.0, memory_mb / 1769)


def usage_line_bytes() -> int:
    """The router's usage line, measured: written by the real LogLineSink for a request
    with ids shaped like the real ones (API Gateway request id, 22-character ids)."""
    from shared.adapters.log_usage import LogLineSink
    from shared.core.models import UsageEvent

    out = io.StringIO()
    LogLineSink(out).emit(UsageEvent(
        "KUs8BiEIIAMEVdw", 1_767_225_610.123456, "con_" + "x" * 22, "key_" + "y" * 22,
        "api_" + "z" * 22, "/orders/{id}", "GET", 200, 0, 1_234, 61.234567, 1))
    return len(out.getvalue().encode())


def emf_line_bytes() -> int:
    """The router's EMF bytes per invocation, measured: it writes one line per
    ``metrics.every`` invocations (Requests + UpstreamLatency values for each)."""
    from shared.clouds.aws.telemetry import GATEWAY_EMF_EVERY, EmfMetrics

    out = io.StringIO()
    m = EmfMetrics("router", stream=out, every=GATEWAY_EMF_EVERY, max_age=3600)
    for _ in range(m.every):
        m.count("Requests")
        m.timing("UpstreamLatency", 52.345)
        m.end_invocation()
    return math.ceil(len(out.getvalue().encode()) / m.every)


def access_log_bytes(doc: dict[str, Any]) -> int:
    """The gateway stage's access log line, its format from the template with typical values."""
    settings = doc["Resources"]["GatewayStage"]["Properties"]["AccessLogSettings"]
    if isinstance(settings, list):  # !If [GatewayAccessLogsOn, {...}, !Ref AWS::NoValue]
        settings = next(s for s in settings if isinstance(s, dict))
    fmt = settings["Format"]
    values = {"requestId": "KUs8BiEIIAMEVdw=", "identity.sourceIp": "203.0.113.10",
              "httpMethod": "GET", "path": "/orders/v1/orders/12345", "status": "200",
              "responseLength": "1234", "responseLatency": "63", "integrationLatency": "61",
              "authorizer.error": "-", "integrationErrorMessage": "-"}
    for k, v in values.items():
        fmt = fmt.replace(f"$context.{k}", v)
    return len(fmt.encode()) + 1


def lines(args: argparse.Namespace) -> tuple[list[tuple[str, str, float]], dict[str, Any]]:
    doc = template()
    router = function(doc, "RouterFunction")
    authz = function(doc, "AuthorizerFunction")
    metering = function(doc, "MeteringFunction")
    authorizer_on = args.authorizer
    access_logs = getattr(args, "access_logs", None) or doc["Parameters"]["AccessLogs"]["Default"]
    retention_days = int(doc["Parameters"]["LogRetentionDays"]["Default"])
    out: list[tuple[str, str, float]] = []

    def add(item: str, basis: str, dollars: float) -> None:
        out.append((item, basis, dollars))

    def gb_s(fn: Function, ms: float) -> float:
        return fn.memory_mb / 1024 * ms / 1000 * LAMBDA_GB_S[fn.arch] * 1e6

    add("API Gateway HTTP API", "1 request (< 512 KB)", HTTP_API_PER_M)
    # Router: its compute slowed by its vCPU share, plus what it waits for.
    cpu = args.router_cpu_ms / _vcpu_share(router.memory_mb)
    waits = args.upstream_ms + (0 if authorizer_on else DDB_RTT_MS)
    add("router invocation", "1", LAMBDA_REQUEST_PER_M)
    add("router duration",
        f"{router.memory_mb} MB {router.arch} x ({cpu:.1f} ms CPU + {waits:.0f} ms waiting)",
        gb_s(router, cpu + waits))
    if authorizer_on:
        acpu = AUTHORIZER_CPU_MS / _vcpu_share(authz.memory_mb)
        add("authorizer invocation", "1", LAMBDA_REQUEST_PER_M)
        add("authorizer duration", f"{authz.memory_mb} MB x ({acpu:.1f} + {DDB_RTT_MS:.0f}) ms",
            gb_s(authz, acpu + DDB_RTT_MS))
    add("DynamoDB rate-limit charge", "1 UpdateItem < 1 KB = 1 WRU", DDB_WRU_PER_M)
    reads = CACHE_READS_PER_WINDOW / REQUESTS_PER_WINDOW
    add("DynamoDB cache refresh reads", f"{reads:.2f} RRU (strong, 5 items / TTL window)",
        reads * DDB_RRU_PER_M)
    # Metering: one transaction (2 items x 2 WRU) per consumer x API x hour group per batch.
    per_req_groups = GROUPS_PER_BATCH / BATCH_LINES
    add("metering DynamoDB", f"{GROUPS_PER_BATCH} groups x 4 WRU per {BATCH_LINES}-line batch",
        per_req_groups * 4 * DDB_WRU_PER_M)
    add("metering Lambda", f"1 invocation + {metering.memory_mb} MB x "
        f"{METERING_MS_PER_BATCH:.0f} ms per batch",
        (LAMBDA_REQUEST_PER_M + gb_s(metering, METERING_MS_PER_BATCH)) / BATCH_LINES)
    # Logs: per request in the router's group, and the access log.
    usage = usage_line_bytes() + LOG_EVENT_OVERHEAD
    emf = emf_line_bytes() + LOG_EVENT_OVERHEAD
    platform = sum(len(s.encode()) + LOG_EVENT_OVERHEAD for s in PLATFORM_LINES)
    access_on_bytes = access_log_bytes(doc) + LOG_EVENT_OVERHEAD
    access = access_on_bytes if access_logs == "on" else 0
    # START/END/REPORT are system logs at INFO: a SystemLogLevel of WARN drops them.
    system_level = doc["Resources"]["RouterFunction"]["Properties"]["LoggingConfig"].get(
        "SystemLogLevel", "INFO")
    if system_level in ("WARN", "ERROR", "FATAL"):
        platform = 0
    per_invocation = emf + platform
    log_bytes = usage + per_invocation + access
    if authorizer_on:
        log_bytes += per_invocation
    metering_log = 400 / BATCH_LINES  # its platform lines + one warning, per batch
    log_bytes += metering_log
    add("CloudWatch Logs: usage line", f"{usage} B (measured, LogLineSink)",
        usage * 1e6 / GB * LOGS_INGEST_PER_GB)
    add("CloudWatch Logs: EMF + START/END/REPORT",
        f"{emf} + {platform} B per invocation (SystemLogLevel {system_level})"
        + (" x 2" if authorizer_on else ""),
        (per_invocation * (2 if authorizer_on else 1)) * 1e6 / GB * LOGS_INGEST_PER_GB)
    access_on = access_on_bytes * 1e6 / GB * LOGS_INGEST_PER_GB
    add("CloudWatch Logs: access log",
        f"{access} B (AccessLogs={access_logs}" + ("" if access else
        f"; on: {access_on_bytes} B, ${access_on:.3f}") + ")",
        access * 1e6 / GB * LOGS_INGEST_PER_GB)
    add("CloudWatch Logs: storage", f"{retention_days} days retention, {LOG_COMPRESSION:.0%} "
        "compressed", log_bytes * 1e6 / GB * LOG_COMPRESSION * retention_days / 30
        * LOGS_STORE_PER_GB_MONTH)
    facts = {"router": router, "authorizer_on": authorizer_on, "log_bytes": log_bytes,
             "access_logs": access_logs}
    return out, facts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--authorizer", action="store_true", help="EnableAuthorizer=true")
    p.add_argument("--access-logs", choices=("on", "off"),
                   help="AccessLogs (default: the template's default)")
    p.add_argument("--upstream-ms", type=float, default=UPSTREAM_MS)
    p.add_argument("--router-cpu-ms", type=float, default=ROUTER_CPU_MS)
    p.add_argument("--kb-out", type=float, default=1.0, help="response KB per request")
    args = p.parse_args(argv)
    rows, _ = lines(args)
    width = max(len(r[0]) for r in rows) + 2
    print(f"Tollway on AWS, us-east-1 list prices (bench/cost.py), per million requests, "
          f"authorizer {'on' if args.authorizer else 'off'}, upstream {args.upstream_ms:.0f} ms")
    print(f"{'item':<{width}}{'per million':>12}  basis")
    for item, basis, dollars in rows:
        print(f"{item:<{width}}{'$' + format(dollars, '.3f'):>12}  {basis}")
    total = sum(r[2] for r in rows)
    print(f"{'total before egress':<{width}}{'$' + format(total, '.2f'):>12}  goal <= $2.50")
    egress_per_kb = 1024 * 1e6 / GB * EGRESS_PER_GB
    print(f"{'egress, per KB of response':<{width}}{'$' + format(egress_per_kb, '.4f'):>12}  "
          f"$0.09/GB to the internet")
    with_egress = total + egress_per_kb * args.kb_out
    print(f"{'total with ' + format(args.kb_out, 'g') + ' KB out':<{width}}"
          f"{'$' + format(with_egress, '.2f'):>12}")
    print("Assumed, not measured: router CPU "
          f"{args.router_cpu_ms:g} ms at 1 vCPU, DynamoDB {DDB_RTT_MS:g} ms, batches of "
          f"{BATCH_LINES} lines in {GROUPS_PER_BATCH} groups, metering "
          f"{METERING_MS_PER_BATCH:g} ms per batch; fixed monthly costs (KMS key, secrets, "
          "custom metrics, CloudFront) are not per request: docs/aws.md.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
