"""The local stack with two gateway processes on one port (``Options.gateway_workers``):
both answer as one gateway over the shared SQLite store, and none outlives the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import ROOT, client, free_ports, stop, wait_for_port

pytestmark = pytest.mark.slow

_RUN = """
import sys
from pathlib import Path
from functions.local.stack import Options, run
ports = [int(p) for p in sys.argv[2:6]]
run(Options("127.0.0.1", *ports, data_dir=Path(sys.argv[1]), gateway_workers=2))
"""


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out.update(int(c) for c in text)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_two_gateway_processes_serve_one_port_and_stop_with_the_stack(tmp_path):
    ports = free_ports(4)
    data = tmp_path / "data"
    log = open(tmp_path / "stack.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUN, str(data), *map(str, ports)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for p in ports:
            wait_for_port(p, proc=proc)
        state = json.loads((data / "local.json").read_text())
        deadline = time.monotonic() + 30
        workers: set[int] = set()
        while time.monotonic() < deadline:  # the second process imports, then listens
            workers = {c for c in _children(proc.pid)
                       if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}
            if workers:
                break
            time.sleep(0.1)
        assert len(workers) == 1
        with client() as c:
            # Fresh connections: the kernel hands them to either process; every answer
            # is the one gateway's (the plan allows 2 requests/second, counted in SQLite).
            codes = []
            for _ in range(6):
                r = c.get(state["demo_url"], headers={"X-Api-Key": state["demo_key"],
                                                      "Connection": "close"})
                codes.append(r.status_code)
                assert "ratelimit" in r.headers
            assert set(codes) <= {200, 429} and 200 in codes
    finally:
        stop(proc)
        log.close()
    for pid in workers:
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)
