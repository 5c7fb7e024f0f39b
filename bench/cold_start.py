"""Cold start as users feel it: a fresh process that imports the handler AND serves its
first request against DynamoDB (moto in another process, real HTTP), next to the simplest
hand-written Lambda (import boto3, build a DynamoDB client, one UpdateItem) on the same
table. Rounds alternate the three processes so that machine noise falls on all alike; the
time is measured inside each process, from before its first import to its answer, so the
interpreter's own start (the same for all three) is not counted.

Also: DynamoDB calls each cold first request makes, and the warm router's client CPU per
request next to a bare UpdateItem's (the warm per-request overhead: forward, logging,
metrics and event translation around the store call)."""

from __future__ import annotations

import compileall
import statistics
import subprocess
import sys
import uuid

from bench.common import LAMBDA_ENV, ROOT, goal, row, spread

ROUNDS = 11

_EVENT = """
def event(key, authorizer=False):
    ctx = {"accountId": "123456789012", "apiId": "a1b2c3d4e5", "domainName": "x.example",
           "http": {"method": "GET", "path": "/demo/v2/echo/hi", "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.10", "userAgent": "bench"},
           "requestId": "KUs8BiEIIAMEVdw=", "routeKey": "$default", "stage": "$default",
           "time": "01/Jan/2026:00:00:10 +0000", "timeEpoch": 1767225610000}
    ev = {"version": "2.0", "routeKey": "$default", "rawPath": "/demo/v2/echo/hi",
          "rawQueryString": "", "headers": {"x-api-key": key, "host": "x.example"},
          "requestContext": ctx, "isBase64Encoded": False}
    if authorizer:
        ev["type"] = "REQUEST"
        ev["routeArn"] = ("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/$default/"
                          "GET/demo/v2/echo/hi")
        ev["identitySource"] = [key]
    return ev

class Context:
    function_name = "bench"; aws_request_id = "bench-1"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 29000
"""

#: Each child prints: seconds from before its first import to its answer, then the number
#: of DynamoDB calls it made.
_CHILD = {
    "baseline": """
import time, sys
t = time.perf_counter()
import boto3
c = boto3.client("dynamodb", endpoint_url=sys.argv[1])
c.update_item(TableName=sys.argv[2], Key={"pk": {"S": "BENCH"}, "sk": {"S": "BENCH"}},
              UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
sys.stderr.write(f"BENCH_SECONDS {time.perf_counter() - t}\\n")
""",
    "router": """
import time, sys
t = time.perf_counter()
import functions.aws.router as h
r = h.handler(event(sys.argv[3]), Context())
dt = time.perf_counter() - t
assert r["statusCode"] == 200, r
sys.stderr.write(f"BENCH_SECONDS {dt}\\n")
""",
    "authorizer": """
import time, sys
t = time.perf_counter()
import functions.aws.authorizer as h
r = h.handler(event(sys.argv[3], authorizer=True), Context())
dt = time.perf_counter() - t
assert r["isAuthorized"] is True, r
sys.stderr.write(f"BENCH_SECONDS {dt}\\n")
""",
}

#: Counts the DynamoDB calls of one child, after its answer: botocore's (the baseline) and
#: the store's own client's (shared/adapters/dynamodb_http.py), each request sent.
_COUNT = """
import botocore.client
import shared.adapters.dynamodb_http as _wire
_n = [0]
def _counting(orig):
    def counted(self, *a, **kw):
        _n[0] += 1
        return orig(self, *a, **kw)
    return counted
botocore.client.BaseClient._make_api_call = _counting(botocore.client.BaseClient._make_api_call)
_wire.DynamoHttpClient._send = _counting(_wire.DynamoHttpClient._send)
import atexit
atexit.register(lambda: sys.stderr.write(f"DDBCALLS {_n[0]}\\n"))
"""


def _child(
    kind: str, endpoint: str, table: str, key: str, count: bool = False
) -> tuple[float, int]:
    code = "import sys\n" + (_COUNT if count else "") + _EVENT + _CHILD[kind]
    env = {
        **LAMBDA_ENV,
        "TOLLWAY_TABLE": table,
        "TOLLWAY_DYNAMODB_ENDPOINT": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, endpoint, table, key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} cold start failed:\n{out.stderr[-3000:]}")
    seconds, calls = 0.0, -1
    for line in out.stderr.splitlines():
        if line.startswith("BENCH_SECONDS "):
            seconds = float(line.split()[1])
        elif line.startswith("DDBCALLS "):
            calls = int(line.split()[1])
    return seconds, calls


def _setup() -> tuple[str, str, str, object]:
    """A table on the emulator, seeded with the bench world, whose API forwards to a demo
    upstream process. Returns (endpoint, table, key, upstream process)."""
    from bench import emulator
    from bench.common import free_port, wait_for_port
    from bench.world import seed
    from shared.adapters.dynamodb import DynamoStore, create_table, make_client
    from shared.core.clock import SystemClock

    endpoint = emulator.endpoint()
    port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "bench.serve", "upstream", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    try:
        client = make_client(endpoint_url=endpoint, region_name="us-east-1", read_timeout=30)
        table = f"bench-{uuid.uuid4().hex[:8]}"
        create_table(client, table)
        clock = SystemClock()
        key = seed(DynamoStore(table, client, clock), clock, upstream=f"http://127.0.0.1:{port}")
        wait_for_port(port)
    except BaseException:
        upstream.terminate()  # never leave the upstream process behind
        upstream.wait(10)
        raise
    return endpoint, table, key, upstream


def run() -> list[str]:
    try:
        endpoint, table, key, upstream = _setup()
    except Exception as e:
        return [f"Cold start: skipped ({type(e).__name__}: {e})"]
    # Bytecode for our modules, as the Lambda package ships it (iac/aws/package.py) and as
    # pip left it for boto3: a child must not compile our sources when the baseline does
    # not compile boto3's (PYTHONDONTWRITEBYTECODE would otherwise make every child do so).
    for top in ("shared", "functions"):
        compileall.compile_dir(ROOT / top, quiet=1)
    try:
        kinds = ("baseline", "router", "authorizer")
        for k in kinds:  # warm the OS file cache and .pyc files
            _child(k, endpoint, table, key)
        samples: dict[str, list[float]] = {k: [] for k in kinds}
        for i in range(ROUNDS):
            order = kinds if i % 2 == 0 else tuple(reversed(kinds))
            for k in order:
                samples[k].append(_child(k, endpoint, table, key)[0])
        calls = {k: _child(k, endpoint, table, key, count=True)[1] for k in kinds}
        warm = _warm_router(endpoint, table, key)
    finally:
        upstream.terminate()  # type: ignore[attr-defined]
        upstream.wait(10)  # type: ignore[attr-defined]
    base = samples["baseline"]
    lines = [
        f"Cold start: import + first request, DynamoDB on moto in another process "
        f"({ROUNDS} alternating rounds, median; ratio per round min-max)",
        row(
            "hand-written Lambda: import boto3, client, one UpdateItem",
            f"{statistics.median(base) * 1e3:.0f} ms",
            f"{calls['baseline']} DynamoDB call",
        ),
    ]
    for k in ("router", "authorizer"):
        ratios = [a / b for a, b in zip(samples[k], base, strict=True)]
        lo, mid, hi = spread(ratios)
        lines.append(
            row(
                f"functions.aws.{k}: import + first request",
                f"{statistics.median(samples[k]) * 1e3:.0f} ms",
                f"{calls[k]} DynamoDB calls",
            )
        )
        lines.append(
            row(f"  {k} / baseline", f"{mid:.2f}x", f"({lo:.2f}-{hi:.2f}) {goal(mid, 1.25)}")
        )
    lines.extend(warm)
    return lines


_WARM = """
import time, sys, io, statistics
import functions.aws.router as h
import boto3
ev = event(sys.argv[3]); ctx = Context()
c = boto3.client("dynamodb", endpoint_url=sys.argv[1])
def bare():
    c.update_item(TableName=sys.argv[2], Key={"pk": {"S": "BENCH"}, "sk": {"S": "BENCH"}},
                  UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
def routed():
    r = h.handler(ev, ctx)
    assert r["statusCode"] == 200, r
sys.stdout = io.StringIO()  # the router's log lines are not part of the measure here
out = sys.__stdout__
for f in (bare, routed): f(); f()
ra, rb = [], []
for i in range(15):
    for f, acc in ((routed, ra), (bare, rb)) if i % 2 == 0 else ((bare, rb), (routed, ra)):
        t = time.process_time()
        for _ in range(40): f()
        acc.append((time.process_time() - t) / 40)
    sys.stdout.seek(0); sys.stdout.truncate()
ratios = [a / b for a, b in zip(ra, rb)]
out.write(" ".join(str(x) for x in (statistics.median(ra), statistics.median(rb), min(ratios),
                                    statistics.median(ratios), max(ratios))) + "\\n")
"""


def _warm_router(endpoint: str, table: str, key: str) -> list[str]:
    """Warm router client CPU per request (handler incl. the forward to a loopback
    upstream) next to a bare boto3 UpdateItem, in one process, alternating rounds."""
    env = {
        **LAMBDA_ENV,
        "TOLLWAY_TABLE": table,
        "TOLLWAY_DYNAMODB_ENDPOINT": endpoint,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    out = subprocess.run(
        [sys.executable, "-c", _EVENT + _WARM, endpoint, table, key],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    if out.returncode != 0:
        return [f"Warm router: failed\n{out.stderr[-2000:]}"]
    routed, bare, lo, mid, hi = (float(x) for x in out.stdout.split())
    return [
        "Warm router (client CPU per request, 15 alternating rounds of 40)",
        row(
            "router handler (decide + UpdateItem + forward + log + metrics)",
            f"{routed * 1e6:.0f} µs",
        ),
        row("bare boto3 UpdateItem", f"{bare * 1e6:.0f} µs"),
        row("  router / bare UpdateItem", f"{mid:.2f}x", f"({lo:.2f}-{hi:.2f}) {goal(mid, 1.25)}"),
    ]


if __name__ == "__main__":
    print("\n".join(run()))
