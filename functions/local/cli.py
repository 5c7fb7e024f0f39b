"""The ``tollway`` command."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


def _ttl(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0 <= value <= 300:
        raise argparse.ArgumentTypeError("cache TTL must be between 0 and 300 seconds")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tollway", description="Tollway API gateway")
    sub = p.add_subparsers(dest="command", required=True)
    local = sub.add_parser("local", help="run gateway, management API, portal and a demo upstream")
    local.add_argument(
        "--host",
        default="127.0.0.1",
        choices=["127.0.0.1", "localhost"],
        help="loopback address to bind (default 127.0.0.1)",
    )
    local.add_argument("--gateway-port", type=_port, default=8080)
    local.add_argument("--management-port", type=_port, default=8081)
    local.add_argument("--portal-port", type=_port, default=8082)
    local.add_argument("--upstream-port", type=_port, default=8083)
    local.add_argument(
        "--data-dir",
        type=Path,
        default=Path(".tollway"),
        help="where the SQLite store and local.json live (default .tollway)",
    )
    local.add_argument("--store", choices=["sqlite", "memory"], default="sqlite")
    local.add_argument(
        "--cache-ttl",
        type=_ttl,
        default=2.0,
        help="seconds a key/plan change may take to reach the gateway (default 2)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "local":
        from functions.local.stack import Options, StackError, run
        from shared.settings import SettingsError, trusted_proxies

        ports = [args.gateway_port, args.management_port, args.portal_port, args.upstream_port]
        if len(set(ports)) != len(ports):
            print("tollway: error: the four ports must differ", file=sys.stderr)
            return 2
        try:
            opts = Options(
                args.host, *ports, data_dir=args.data_dir, store=args.store,
                cache_ttl=args.cache_ttl, trusted_proxies=trusted_proxies(os.environ),
            )
            run(opts)
        except (StackError, SettingsError) as exc:
            print(f"tollway: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
