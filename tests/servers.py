"""Test helpers: free loopback ports, ASGI apps under uvicorn in a thread, and the
``tollway local`` stack as a subprocess (stopped by PID)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: every socket stays bound until all are chosen (one
    ``free_port`` after another may be handed the port just released: a stack then
    refused to start with "the four ports must differ")."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def serve(app: Any, port: int | None = None, *, date_header: bool = True) -> Iterator[str]:
    """Run ``app`` under uvicorn on 127.0.0.1 in a background thread; yield its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="error",
        lifespan="off",
        date_header=date_header,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def local_stack(data_dir: Path, *extra: str, cache_ttl: float = 1.0) -> Iterator[dict[str, Any]]:
    """Start ``tollway local`` on free ports; yield the parsed ``local.json``."""
    ports = free_ports(4)
    cmd = [
        sys.executable,
        "-m",
        "functions.local.cli",
        "local",
        "--data-dir",
        str(data_dir),
        "--cache-ttl",
        str(cache_ttl),
        "--gateway-port",
        str(ports[0]),
        "--management-port",
        str(ports[1]),
        "--portal-port",
        str(ports[2]),
        "--upstream-port",
        str(ports[3]),
        *extra,
    ]
    log = open(data_dir.parent / f"stack-{ports[0]}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        for p in ports:
            wait_for_port(p, proc=proc)
        state = json.loads((data_dir / "local.json").read_text())
        state["pid"] = proc.pid
        yield state
    finally:
        stop(proc)
        log.close()


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def client(**kw: Any) -> httpx.Client:
    return httpx.Client(timeout=10.0, **kw)
