"""``make bench``: every figure is measured in this run, side by side."""

from __future__ import annotations

import datetime
import os
import platform
import sys


def machine() -> str:
    """Date, CPU model, core count and load: what a reader needs to weigh the figures."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{today}: Python {platform.python_version()} on {platform.system()} "
        f"{platform.machine()}, {model}, {os.cpu_count()} CPUs{load}"
    )


def main() -> int:
    from bench import (
        azure_tables,
        capacity,
        cold_start,
        common,  # noqa: F401 - sets the emulators' fake credentials
        dynamodb_cpu,
        gateway_cpu,
        policies,
        throughput,
    )

    print(f"Tollway benchmarks — {machine()}", flush=True)
    for section in (
        gateway_cpu.run,
        policies.run,
        dynamodb_cpu.run,
        cold_start.run,
        capacity.run,
        azure_tables.run,
        throughput.run,
    ):
        for line in section():
            print(line, flush=True)
    if hasattr(os, "getloadavg"):
        print("Load average at the end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
