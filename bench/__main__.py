"""``make bench``: every figure is measured in this run, side by side."""

from __future__ import annotations

import os
import platform
import sys


def main() -> int:
    # Emulators only: fake credentials and a region for boto3 (the Makefile exports them too).
    for name, value in (
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ):
        os.environ.setdefault(name, value)
    from bench import azure_tables, cold_start, dynamodb_cpu, gateway_cpu, throughput

    print(
        f"Tollway benchmarks — Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.system()}, {os.cpu_count()} CPUs"
    )
    for section in (
        gateway_cpu.run,
        cold_start.run,
        dynamodb_cpu.run,
        azure_tables.run,
        throughput.run,
    ):
        for line in section():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
