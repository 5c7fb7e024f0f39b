"""Processes for the throughput benchmark: ``python -m bench.serve upstream PORT`` or
``python -m bench.serve gateway PORT UPSTREAM_URL KEYFILE [WORKERS]``. The gateway runs as
``make run`` runs it: SQLite (WAL) in a fresh directory, the 2 s cache TTL, metering
queued by ``buffered_usage``, the app built by ``stack.gateway_app`` (``handle`` on the
event loop, ``LoopUpstream`` forwarding) under ``make run``'s server settings; the plan
has no practical limit. Each runs until killed."""

from __future__ import annotations

import os
import sys

import uvicorn

from functions.local.demo_upstream import demo_upstream

#: What ``make run`` (``tollway local``) uses: see functions/local/stack.py.
STORE, CACHE_TTL = "sqlite", 2.0


def _seed(db: str, upstream_url: str, keyfile: str) -> None:
    from bench.world import seed
    from shared.adapters.sqlite import SqliteStore
    from shared.core.clock import SystemClock
    from shared.core.models import Plan

    clock = SystemClock()
    store = SqliteStore(db, clock)
    plan = Plan("bench", "Bench", apis=("demo",), rate_per_second=10**9, quota_per_day=10**12)
    key = seed(store, clock, plan, upstream=upstream_url)
    store.close()
    with open(keyfile, "w") as f:
        f.write(key)


def app() -> object:
    """The gateway app over the SQLite file named in ``TOLLWAY_BENCH_DB`` (an import
    string target, so that uvicorn can start several worker processes)."""
    from functions.local.stack import gateway_app
    from shared.core.clock import SystemClock
    from shared.settings import Settings
    from shared.wiring import buffered_usage, build_store

    settings = Settings(
        store=STORE, sqlite_path=os.environ["TOLLWAY_BENCH_DB"], cache_ttl=CACHE_TTL
    )
    clock = SystemClock()
    store = build_store(settings, clock)
    return gateway_app(settings, store, clock, buffered_usage(store))


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "upstream":
        uvicorn.run(demo_upstream, host="127.0.0.1", port=port, log_level="error",
                    access_log=False, lifespan="off")
        return
    from functions.local.stack import Options, server_config

    # The gateway's server settings are make run's (no proxy headers believed, the
    # upstream's Date passed through, no Server header); only the log level differs.
    config = server_config(Options(), "gateway", port, None)
    common = dict(host="127.0.0.1", port=port, log_level="error", access_log=False,
                  lifespan="off", server_header=config.server_header,
                  date_header=config.date_header, proxy_headers=config.proxy_headers,
                  forwarded_allow_ips=config.forwarded_allow_ips)
    upstream_url, keyfile = sys.argv[3], sys.argv[4]
    workers = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    db = os.path.join(os.path.dirname(keyfile), "tollway.db")
    _seed(db, upstream_url, keyfile)
    os.environ["TOLLWAY_BENCH_DB"] = db
    if workers > 1:
        uvicorn.run("bench.serve:app", factory=True, workers=workers, **common)
    else:
        uvicorn.run(app(), **common)


if __name__ == "__main__":
    main()
