"""Measurement helpers. Everything is measured side by side in one run and reported as a
ratio, because this machine is shared and noisy; absolute numbers are for orientation."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Emulators only: fake credentials and a region for botocore (the Makefile exports them
# too), so that each section also runs alone (python -m bench.<section>).
for _name, _value in (
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "bench"),
    ("AWS_SECRET_ACCESS_KEY", "bench"),
):
    os.environ.setdefault(_name, _value)

#: What a deployed gateway function sees (no network is touched at import).
LAMBDA_ENV = {
    **os.environ,
    "TOLLWAY_STORE": "dynamodb",
    "TOLLWAY_TABLE": "tollway",
    "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "tollway",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def cpu_per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Median over ``rounds`` of process CPU seconds per call."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            fn()
        samples.append((time.process_time() - start) / n)
    return statistics.median(samples)


def import_seconds(module: str, runs: int = 7) -> float:
    """Median wall time to import ``module`` in a fresh interpreter (site already loaded)."""
    code = (
        "import time,sys; t=time.perf_counter(); import " + module + "; "
        "sys.stdout.write(str(time.perf_counter()-t))"
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=LAMBDA_ENV
        )
        if out.returncode != 0:
            raise RuntimeError(f"importing {module} failed:\n{out.stderr[-2000:]}")
        samples.append(float(out.stdout))
    return statistics.median(samples)


def interleaved_imports(modules: list[str], runs: int = 9) -> dict[str, float]:
    """Import times measured alternately so that machine noise hits all alike."""
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(runs):
        for m in modules:
            samples[m].append(import_seconds(m, runs=1))
    return {m: statistics.median(v) for m, v in samples.items()}


def row(label: str, value: str, note: str = "") -> str:
    return f"  {label:<58} {value:>14}  {note}"


def paired_cpu(a: Callable[[], object], b: Callable[[], object], n: int, rounds: int = 9):
    """CPU per call of ``a`` and ``b``, measured in alternating rounds (medians), so that
    whatever else the machine does falls on both alike."""
    sa, sb = [], []
    for _ in range(rounds):
        sa.append(cpu_per_call(a, n, rounds=1))
        sb.append(cpu_per_call(b, n, rounds=1))
    return statistics.median(sa), statistics.median(sb)


def goal(ratio: float, limit: float) -> str:
    """The goal column: the limit and whether this run met it."""
    return f"goal <= {limit:g}x: {'met' if ratio <= limit else 'not met'}"


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def paired_rounds(
    a: Callable[[], object], b: Callable[[], object], n: int, rounds: int = 15
) -> tuple[list[float], list[float]]:
    """CPU per call of ``a`` and ``b`` in alternating rounds (b first every other round);
    returns both sample lists, round by round, so per-round ratios can be reported."""
    sa, sb = [], []
    for i in range(rounds):
        if i % 2:
            sb.append(cpu_per_call(b, n, rounds=1))
            sa.append(cpu_per_call(a, n, rounds=1))
        else:
            sa.append(cpu_per_call(a, n, rounds=1))
            sb.append(cpu_per_call(b, n, rounds=1))
    return sa, sb


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")
