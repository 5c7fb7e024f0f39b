"""The ``tollway`` command."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from shared.settings import STORES, JwtIssuerConfig, SettingsError, from_env


def _port(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (1-65535)")
    return value


DEFAULT_BASE_PORT = 8080
PORT_NAMES = ("gateway", "management", "portal", "upstream")


def _base_port(raw: str) -> int:
    value = _port(raw)
    if value > 65535 - 3:
        raise argparse.ArgumentTypeError(f"{value} + 3 is not a port: pick a base up to 65532")
    return value


def ports_of(args: argparse.Namespace) -> list[int]:
    """Each port: its own flag, else the base port plus its offset."""
    return [getattr(args, f"{name}_port") or args.base_port + offset
            for offset, name in enumerate(PORT_NAMES)]


def _ttl(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0 <= value <= 300:
        raise argparse.ArgumentTypeError("cache TTL must be between 0 and 300 seconds")
    return value


def _workers(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 16:
        raise argparse.ArgumentTypeError("gateway workers must be a whole number from 1 to 16")
    return int(raw)


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
    local.add_argument(
        "--base-port", type=_base_port, default=DEFAULT_BASE_PORT, metavar="N",
        help="move all four ports at once: gateway N, management N+1, portal N+2, upstream "
        f"N+3 (default {DEFAULT_BASE_PORT})",
    )
    for offset, name in enumerate(PORT_NAMES):
        local.add_argument(f"--{name}-port", type=_port, default=None, metavar="PORT",
                           help=f"overrides the base port's choice (base + {offset})")
    local.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the SQLite store and local.json live (default: TOLLWAY_DATA_DIR, else "
        ".tollway); one running stack per directory",
    )
    local.add_argument(
        "--store",
        choices=list(STORES),
        default=None,
        help="default: TOLLWAY_STORE, else sqlite (azure/dynamodb read their settings from "
        "the environment)",
    )
    local.add_argument(
        "--cache-ttl",
        type=_ttl,
        default=2.0,
        help="seconds a key/plan change may take to reach the gateway (default 2)",
    )
    local.add_argument(
        "--gateway-workers",
        type=_workers,
        default=None,
        metavar="N",
        help="gateway processes sharing its port (default: 2, or 1 on a single core); "
        "each keeps its own caches, response cache and circuit breakers",
    )
    jwt = local.add_argument_group(
        "JWT bearer tokens",
        "Accept tokens from one more issuer (besides any in TOLLWAY_JWT_ISSUERS). The token's "
        "'sub' names the consumer, e.g. con_demo.",
    )
    jwt.add_argument("--jwt-issuer", metavar="ISSUER", help="the 'iss' tokens carry")
    jwt.add_argument("--jwt-audience", metavar="AUD", help="the 'aud' tokens must name")
    way = jwt.add_mutually_exclusive_group()
    way.add_argument("--jwt-secret", metavar="SECRET",
                     help="HS256 shared secret (at least 32 characters)")
    way.add_argument("--jwt-jwks-url", metavar="URL", help="JWKS URL of an RS256 issuer")
    repair = sub.add_parser(
        "repair",
        help="finish or abandon management changes a crash interrupted, purge expired items",
        description="What the clouds run on a schedule (docs/storage.md, Convergence). The "
        "store comes from TOLLWAY_STORE and its settings, SQLite under --data-dir by default.",
    )
    repair.add_argument("--data-dir", type=Path, default=None,
                        help="default: TOLLWAY_DATA_DIR, else .tollway")
    env = sub.add_parser(
        "env",
        help="print the running local stack's URLs, admin token and demo key as shell exports",
        description="Use as: eval \"$(tollway env)\". Works from any directory: the data "
        "directory is --data-dir, else TOLLWAY_DATA_DIR, else ./.tollway if a stack was "
        "started there, else the checkout's .tollway (where `make run` keeps it).",
    )
    env.add_argument("--data-dir", type=Path, default=None)
    return p


def data_dir_of(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    """--data-dir, else TOLLWAY_DATA_DIR, else .tollway (relative to where you are)."""
    return args.data_dir or Path(env.get("TOLLWAY_DATA_DIR") or ".tollway")


def repair(data_dir: Path, env: Mapping[str, str]) -> str:
    from shared.core.clock import SystemClock
    from shared.management import changes
    from shared.wiring import build_store

    settings = from_env({"TOLLWAY_SQLITE_PATH": str(data_dir / "tollway.db"), **env})
    clock = SystemClock()
    store = build_store(settings, clock)
    try:
        handled = changes.repair(store, clock)
        purge = getattr(store, "purge_expired", None)
        purged = purge() if purge is not None else 0
    finally:
        store.close()
    return f"repaired {handled} interrupted change(s), purged {purged} expired item(s)"


def jwt_issuers(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[JwtIssuerConfig, ...]:
    """TOLLWAY_JWT_ISSUERS (JSON, as in a deployment) plus the one named by the flags."""
    configured = from_env({"TOLLWAY_JWT_ISSUERS": env.get("TOLLWAY_JWT_ISSUERS", "")}).jwt_issuers
    flags = (args.jwt_issuer, args.jwt_audience, args.jwt_secret, args.jwt_jwks_url)
    if not any(flags):
        return configured
    if not (args.jwt_issuer and args.jwt_audience and (args.jwt_secret or args.jwt_jwks_url)):
        raise SettingsError("--jwt-issuer needs --jwt-audience and one of --jwt-secret or "
                            "--jwt-jwks-url")
    if args.jwt_secret and len(args.jwt_secret) < 32:
        raise SettingsError("--jwt-secret must be at least 32 characters (HS256 wants 256 bits)")
    one = JwtIssuerConfig(
        issuer=args.jwt_issuer, audience=args.jwt_audience,
        algorithms=("HS256",) if args.jwt_secret else ("RS256",),
        secret=args.jwt_secret or "", jwks_url=args.jwt_jwks_url or "",
    )
    return (*[c for c in configured if c.issuer != one.issuer], one)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "env":
        from functions.local import datadir

        try:
            where = datadir.find(args.data_dir, os.environ.get("TOLLWAY_DATA_DIR"))
            sys.stdout.write(datadir.exports(where))
        except datadir.DataDirError as exc:
            print(f"tollway: error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.command == "repair":
        try:
            print(repair(data_dir_of(args, os.environ), os.environ))
        except SettingsError as exc:
            print(f"tollway: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "local":
        from functions.local.stack import Options, StackError, run
        from shared.settings import trusted_proxies

        ports = ports_of(args)
        if len(set(ports)) != len(ports):
            print("tollway: error: the four ports must differ", file=sys.stderr)
            return 2
        try:
            gateway, management, portal, upstream = ports
            opts = Options(
                args.host, gateway, management, portal, upstream,
                data_dir=data_dir_of(args, os.environ), store=args.store,
                cache_ttl=args.cache_ttl, trusted_proxies=trusted_proxies(os.environ),
                jwt_issuers=jwt_issuers(args, os.environ),
            )
            if args.gateway_workers is not None:
                opts = dataclasses.replace(opts, gateway_workers=args.gateway_workers)
            run(opts)
        except (StackError, SettingsError) as exc:
            print(f"tollway: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
