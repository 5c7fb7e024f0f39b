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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, free_port, row, wait_for_port
from bench.serve import CACHE_TTL, STORE

DURATION, CONNECTIONS = "5s", "16"

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
        up, gw, ngx = free_port(), free_port(), free_port()
        py = [sys.executable, "-m", "bench.serve"]
        procs.append(subprocess.Popen([*py, "upstream", str(up)], cwd=ROOT))
        keyfile = os.path.join(tmp, "key")
        procs.append(
            subprocess.Popen([*py, "gateway", str(gw), f"http://127.0.0.1:{up}", keyfile], cwd=ROOT)
        )
        conf = os.path.join(tmp, "nginx.conf")
        Path(conf).write_text(NGINX_CONF.format(tmp=tmp, upstream=up, port=ngx))
        procs.append(
            subprocess.Popen(
                [nginx, "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log")],
                stderr=subprocess.DEVNULL,
            )
        )
        for port in (up, gw, ngx):
            wait_for_port(port)
        key = Path(keyfile).read_text()
        time.sleep(0.5)
        direct = _wrk(f"http://127.0.0.1:{up}/echo/hi")
        via_nginx = _wrk(f"http://127.0.0.1:{ngx}/echo/hi")
        via_gateway = _wrk(f"http://127.0.0.1:{gw}/demo/v2/echo/hi", f"X-Api-Key: {key}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    return [
        f"Local stack throughput (wrk, 1 thread, {CONNECTIONS} connections, {DURATION} each; "
        f"gateway on {STORE} with the {CACHE_TTL:g} s cache TTL of make run; all on this "
        "machine's cores)",
        row("demo upstream called directly", f"{direct:,.0f} req/s"),
        row(
            "through nginx (proxy_pass, keepalive)",
            f"{via_nginx:,.0f} req/s",
            f"{via_nginx / direct:.2f}x direct",
        ),
        row(
            "through the Tollway gateway (auth, limit, forward, meter)",
            f"{via_gateway:,.0f} req/s",
            f"{via_gateway / direct:.2f}x direct",
        ),
        row(
            "gateway / nginx",
            f"{via_gateway / via_nginx:.2f}x",
            goal_min(via_gateway / via_nginx, 0.25),
        ),
    ]


if __name__ == "__main__":
    print("\n".join(run()))
