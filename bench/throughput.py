"""Local stack throughput, in one run: the demo upstream called directly, through nginx,
and through the Tollway gateway (key auth, rate limit, forward, metering) as ``make run``
runs it (SQLite, 2 s cache TTL, buffered metering). ``wrk`` drives each for the same time
over loopback; all share this machine's cores, so compare ratios.

nginx runs as a plain process of ours (its own config, pid file, error log and temp
directory under a fresh temporary directory, a free loopback port), never as the system
service: ``bench/tools.sh`` installs the package without letting it start or enable one."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import ROOT, free_port, row, wait_for_port
from bench.serve import CACHE_TTL, STORE

DURATION, CONNECTIONS = "5s", "16"
ROUNDS = 3  # nginx, then the gateways, back to back; the verdict is the median round

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  upstream app {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{ proxy_pass http://app; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }}
  }}
}}
"""


def _wrk(url: str, *headers: str) -> float:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", url]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m is None or non2xx is not None:
        raise RuntimeError(f"wrk run failed or saw errors:\n{out}")
    return float(m.group(1))


def goal_min(ratio: float, floor: float) -> str:
    return f"goal >= {floor:g}x: {'met' if ratio >= floor else 'not met'}"


def run() -> list[str]:
    missing = [
        t
        for t in ("wrk", "nginx")
        if shutil.which(t) is None and not Path(f"/usr/sbin/{t}").exists()
    ]
    if missing:
        return [
            "Local stack throughput: skipped, not installed: "
            + ", ".join(missing)
            + " (apt-get install wrk nginx-light)"
        ]
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    procs: list[subprocess.Popen[bytes]] = []
    tmp = tempfile.mkdtemp(prefix="tollway-bench-")
    try:
        up, gw, gw2, ngx = free_port(), free_port(), free_port(), free_port()
        py = [sys.executable, "-m", "bench.serve"]
        procs.append(subprocess.Popen([*py, "upstream", str(up)], cwd=ROOT))
        wait_for_port(up)
        keys = []
        for port, workers in ((gw, 1), (gw2, 2)):
            d = os.path.join(tmp, f"gw{workers}")
            os.mkdir(d)
            keys.append(os.path.join(d, "key"))
            procs.append(
                subprocess.Popen(
                    [*py, "gateway", str(port), f"http://127.0.0.1:{up}", keys[-1], str(workers)],
                    cwd=ROOT,
                )
            )
        gw_proc = procs[1]
        conf = os.path.join(tmp, "nginx.conf")
        Path(conf).write_text(NGINX_CONF.format(tmp=tmp, upstream=up, port=ngx))
        procs.append(
            subprocess.Popen(
                [nginx, "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log")],
                stderr=subprocess.DEVNULL,
            )
        )
        for port in (gw, gw2, ngx):
            wait_for_port(port)
        key, key2 = Path(keys[0]).read_text(), Path(keys[1]).read_text()
        time.sleep(0.5)
        direct = _wrk(f"http://127.0.0.1:{up}/echo/hi")
        ngx_runs, gw_runs, gw2_runs, cpu_runs = [], [], [], []
        for _ in range(ROUNDS):  # alternate: noise falls on all three
            ngx_runs.append(_wrk(f"http://127.0.0.1:{ngx}/echo/hi"))
            before = _cpu_seconds(gw_proc.pid)
            rate = _wrk(f"http://127.0.0.1:{gw}/demo/v2/echo/hi", f"X-Api-Key: {key}")
            cpu_runs.append((_cpu_seconds(gw_proc.pid) - before) / (rate * _seconds()))
            gw_runs.append(rate)
            gw2_runs.append(
                _wrk(f"http://127.0.0.1:{gw2}/demo/v2/echo/hi", f"X-Api-Key: {key2}")
            )
        via_nginx, via_gateway = statistics.median(ngx_runs), statistics.median(gw_runs)
        via_gateway2 = statistics.median(gw2_runs)
        # Each round's best gateway against the nginx run just before it: the machine's load
        # moves between rounds, so a ratio within one round is steadier than one of medians.
        round_ratios = [max(g1, g2) / n for n, g1, g2 in zip(ngx_runs, gw_runs, gw2_runs,
                                                                strict=True)]
        decide_cpu, handle_cpu = _in_process(f"http://127.0.0.1:{up}", tmp)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    process_cpu = statistics.median(cpu_runs)
    ratio = statistics.median(round_ratios)
    return [
        f"Local stack throughput (wrk, 1 thread, {CONNECTIONS} connections, {DURATION} each; "
        f"gateway on {STORE} with the {CACHE_TTL:g} s cache TTL of make run; all on this "
        f"machine's cores; nginx and the 1- and 2-worker gateways alternate, medians of {ROUNDS})",
        row("demo upstream called directly", f"{direct:,.0f} req/s"),
        row(
            "through nginx (proxy_pass, keepalive)",
            f"{via_nginx:,.0f} req/s",
            f"{via_nginx / direct:.2f}x direct",
        ),
        row(
            "through the Tollway gateway, 1 worker (auth, limit, forward, meter)",
            f"{via_gateway:,.0f} req/s",
            f"{via_gateway / direct:.2f}x direct, {via_gateway / via_nginx:.2f}x nginx",
        ),
        row(
            "through the Tollway gateway, 2 workers (make run on 2+ cores)",
            f"{via_gateway2:,.0f} req/s",
            f"{via_gateway2 / via_nginx:.2f}x nginx",
        ),
        row(
            "gateway (best of the two) / nginx, median round",
            f"{ratio:.2f}x",
            goal_min(ratio, 0.25) + " (rounds: "
            + ", ".join(f"{r:.2f}" for r in round_ratios) + ")",
        ),
        "  where a forwarded request's CPU goes (gateway process, 1 worker):",
        row("  gateway process CPU per request (all threads)", f"{process_cpu * 1e6:.0f} µs"),
        row(
            "  of which handle() on the loop: decide + forward + meter",
            f"{handle_cpu * 1e6:.0f} µs",
            f"decide() alone {decide_cpu * 1e6:.0f} µs (SQLite)",
        ),
        row(
            "  the rest: uvicorn, ASGI translation, metering thread",
            f"{(process_cpu - handle_cpu) * 1e6:.0f} µs" if process_cpu > handle_cpu else "n/a",
            "" if process_cpu > handle_cpu else "handle() is timed apart, in the bench's own "
            "process: this run's noise exceeded the difference",
        ),
    ]


def _seconds() -> float:
    return float(DURATION.rstrip("s"))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _in_process(upstream_url: str, tmp: str) -> tuple[float, float]:
    """decide() and handle() CPU per request in this process, as the gateway process runs
    them: SQLite, the 2 s TTL, ``handle`` on a uvloop event loop in a greenlet with the
    upstream exchange awaited there (``LoopUpstream``, the same upstream), metering queued
    as make run queues it. CPU of this thread only (the metering thread is left out)."""
    import asyncio

    from bench.serve import _seed
    from functions.local.stack import gateway_app, new_event_loop
    from shared.adapters.loop_upstream import run_bridged
    from shared.core.clock import SystemClock
    from shared.core.request import GatewayRequest
    from shared.settings import Settings
    from shared.wiring import buffered_usage, build_store

    db = os.path.join(tmp, "inproc.db")
    _seed(db, upstream_url, os.path.join(tmp, "inproc.key"))
    settings = Settings(store=STORE, sqlite_path=db, cache_ttl=CACHE_TTL)
    clock = SystemClock()
    store = build_store(settings, clock)
    sink = buffered_usage(store)
    app = gateway_app(settings, store, clock, sink)
    gw = app.gateway
    key = Path(os.path.join(tmp, "inproc.key")).read_text()
    req = GatewayRequest("GET", "/demo/v2/echo/hi", "", (("x-api-key", key),))

    async def per_call(fn: Callable[[], Awaitable[object]], n: int) -> float:
        samples = []
        for _ in range(3):
            start = time.thread_time()
            for _ in range(n):
                await fn()
            samples.append((time.thread_time() - start) / n)
        return statistics.median(samples)

    async def decide() -> object:
        return gw.decide(req)

    async def handle() -> object:
        return await run_bridged(gw.handle, req)

    async def main() -> tuple[float, float]:
        first = await run_bridged(gw.handle, req)
        assert first.status == 200, first
        try:
            return await per_call(decide, 500), await per_call(handle, 300)
        finally:
            app.close()

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        result = runner.run(main())
    sink.close()  # type: ignore[attr-defined]  # a BufferedSink
    store.close()
    return result


if __name__ == "__main__":
    print("\n".join(run()))
