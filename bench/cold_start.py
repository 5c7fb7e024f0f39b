"""Cold start: import time of the gateway entry modules next to a bare ``import boto3``."""

from __future__ import annotations

import importlib.util

from bench.common import interleaved_imports, row


def run() -> list[str]:
    modules = ["boto3", "functions.local.gateway_asgi"]
    for name in ("functions.aws.router", "functions.aws.authorizer"):
        if importlib.util.find_spec(name) is not None:
            modules.append(name)
    times = interleaved_imports(modules)
    base = times["boto3"]
    lines = ["Cold start (median import time, fresh interpreter, interleaved)"]
    lines.append(row("import boto3", f"{base * 1e3:.0f} ms"))
    for m in modules[1:]:
        lines.append(
            row(
                f"import {m}",
                f"{times[m] * 1e3:.0f} ms",
                f"{times[m] / base:.2f}x boto3 (goal <= 1.25x)",
            )
        )
    return lines
