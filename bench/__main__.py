"""``make bench``: every figure is measured in this run, side by side."""

from __future__ import annotations

import platform
import sys

from bench import cold_start, gateway_cpu


def main() -> int:
    print(
        f"Tollway benchmarks — Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.system()}"
    )
    sections = [gateway_cpu.run, cold_start.run]
    try:
        from bench import throughput

        sections.append(throughput.run)
    except ImportError:
        pass
    for section in sections:
        for line in section():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
