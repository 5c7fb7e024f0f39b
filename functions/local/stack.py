"""``tollway local``: gateway, management API, portal and a demo upstream in one process,
on 127.0.0.1, over an on-disk SQLite store under ``.tollway/`` — or over whichever store the
environment names (``TOLLWAY_STORE`` and that store's settings, read by
``shared.settings.from_env``: ``azure`` with ``TOLLWAY_AZURE_CONNECTION_STRING``,
``dynamodb`` with ``TOLLWAY_DYNAMODB_ENDPOINT``), so a cloud's store can be tried locally."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from functions.local import hygiene, seed
from functions.local.demo_upstream import demo_upstream
from functions.local.gateway_asgi import GatewayApp
from shared.core.clock import Clock, SystemClock
from shared.ports import Store, UsageSink
from shared.settings import JwtIssuerConfig, Settings, from_env
from shared.wiring import buffered_usage, build_gateway, build_store

PORTAL_DIR = Path(__file__).resolve().parents[2] / "portal_static"


class StackError(Exception):
    """A start-up problem the user can fix (port in use, unreadable state)."""


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    gateway_port: int = 8080
    management_port: int = 8081
    portal_port: int = 8082
    upstream_port: int = 8083
    data_dir: Path = Path(".tollway")
    store: str | None = None  # None: TOLLWAY_STORE from the environment (default sqlite)
    cache_ttl: float = 2.0
    # TOLLWAY_TRUSTED_PROXIES: peers whose X-Forwarded-For is believed. None by default:
    # the client address (sign-up and log-in limits) is the TCP peer's.
    trusted_proxies: tuple[str, ...] = ()
    # TOLLWAY_JWT_ISSUERS and/or --jwt-issuer: bearer tokens the gateway accepts.
    jwt_issuers: tuple[JwtIssuerConfig, ...] = ()
    # Processes serving the gateway port (this one and N-1 more, sharing its socket): one
    # Python process decides and forwards on one core; two measured 10-25% more requests/s
    # on 2 shared cores (docs/performance.md). Only for a store every process sees (SQLite
    # in WAL mode, the cloud stores); a memory store keeps one. Per-instance state (the
    # response cache, breakers, warm entries) is per process, as on the clouds.
    gateway_workers: int = dataclasses.field(default_factory=lambda: min(2, os.cpu_count() or 1))


class _Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:  # the stack handles signals for all servers
        yield


def _check_port(host: str, port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StackError(
                f"{what} port {port} on {host} is in use: stop what holds it, or move all "
                f"four ports with --base-port N (make run ARGS=\"--base-port 9080\") or this "
                f"one with --{what}-port"
            ) from None


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise StackError(f"{path} is unreadable ({exc}); delete it to start fresh") from None
    return state if isinstance(state, dict) else {}


def _write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def _private_files(data_dir: Path, sqlite: bool) -> None:
    """The data directory 0700 and the SQLite files 0600: they hold password hashes, key
    hashes and the audit log. Created so before SQLite opens them (its -wal and -shm files
    take the database file's mode); tightened if an older run left them wider."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    if sqlite:
        os.close(os.open(data_dir / "tollway.db", os.O_WRONLY | os.O_CREAT, 0o600))
    for path in data_dir.glob("tollway.db*"):
        # A -wal or -shm file may go between the listing and the chmod: SQLite deletes them
        # when the last connection closes (a killed stack's gateway processes, exiting).
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path, 0o600)


def _portal_app(config_js: bytes, connect_to: tuple[str, ...] = ()) -> Any:
    from starlette.staticfiles import StaticFiles

    headers = hygiene.portal_headers(connect_to)
    static = hygiene.secure_portal(StaticFiles(directory=PORTAL_DIR, html=True), headers)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/config.js":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/javascript"),
                        (b"cache-control", b"no-store"),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": config_js})
            return
        await static(scope, receive, send)

    return app


#: How often the local stack finishes interrupted management changes (the clouds run the
#: same ``changes.repair`` on a timer): the convergence bound is REPAIR_AFTER + this.
REPAIR_INTERVAL = 30.0


def _repair_every(interval: float, store: Any, clock: SystemClock) -> None:
    """What the clouds' timers do: finish interrupted changes and, for a store without its
    own expiry ("ttl" not among its capabilities, e.g. Table Storage), purge expired items."""
    from shared.management import changes

    purge = None if "ttl" in store.capabilities else getattr(store, "purge_expired", None)

    def loop() -> None:
        while True:
            try:
                changes.repair(store, clock)
                if purge is not None:
                    purge()
            except Exception:  # a store hiccup: the next round retries
                logging.getLogger("tollway.repair").exception("repair failed")
            time.sleep(interval)

    threading.Thread(target=loop, name="tollway-repair", daemon=True).start()


def _ensure_table(settings: Settings, store: Any) -> None:
    """A cloud store's table is created by the deployment; locally (an emulator, or an
    account the user may write to) the stack creates it when it is missing."""
    try:
        if settings.store == "azure":
            store.create_table_if_missing()
        elif settings.store == "dynamodb" and settings.dynamodb_endpoint:
            from shared.adapters.dynamodb import create_table, make_client

            client = make_client(endpoint_url=settings.dynamodb_endpoint)
            create_table(client, settings.table_name)
    except Exception as exc:
        raise StackError(
            f"cannot reach or create the {settings.store} table {settings.table_name!r} "
            f"({type(exc).__name__}: {exc}); check the store settings in the environment"
        ) from None


#: Stores whose calls stay in this process (no network round trip): with them the gateway
#: decides on the event loop and only the upstream exchange is awaited (gateway_asgi).
INLINE_STORES = frozenset({"sqlite", "memory"})


def gateway_app(settings: Settings, store: Store, clock: Clock, usage: UsageSink) -> GatewayApp:
    """The gateway's ASGI app as the local stack runs it (the benchmark builds it here too)."""
    inline = settings.store in INLINE_STORES
    if inline:
        from shared.adapters.loop_upstream import LoopUpstream

        upstream = LoopUpstream()
        gateway = build_gateway(settings, store=store, clock=clock, usage=usage,
                                upstream=upstream)
    else:
        gateway = build_gateway(settings, store=store, clock=clock, usage=usage)
    return GatewayApp(gateway, inline=inline)


def prepare(
    opts: Options,
) -> tuple[dict[str, Any], list[tuple[str, int, Any]], Any, Settings]:
    """Open the store, seed it on first start, and build the four apps."""
    for what, port in (
        ("gateway", opts.gateway_port),
        ("management", opts.management_port),
        ("portal", opts.portal_port),
        ("upstream", opts.upstream_port),
    ):
        _check_port(opts.host, port, what)
    # The environment's settings (the store and its connection, limits...); the stack
    # overrides only what it owns below: SQLite's place, the cache TTL, its admin token and
    # session keys, the portal origin, proxies/issuers from its flags, loopback upstreams.
    env_settings = from_env(local=True)  # e-mail verification optional unless the env asks
    store_name = opts.store or env_settings.store
    _private_files(opts.data_dir, sqlite=store_name == "sqlite")
    state_path = opts.data_dir / "local.json"
    state = _load_state(state_path)
    base = f"http://{opts.host}"
    urls = {
        "gateway_url": f"{base}:{opts.gateway_port}",
        "management_url": f"{base}:{opts.management_port}",
        "portal_url": f"{base}:{opts.portal_port}",
        "upstream_url": f"{base}:{opts.upstream_port}",
    }
    settings = dataclasses.replace(
        env_settings,
        store=store_name,
        sqlite_path=str(opts.data_dir / "tollway.db"),
        cache_ttl=opts.cache_ttl,
        admin_token=state.get("admin_token") or "adm_" + secrets.token_urlsafe(32),
        session_keys=tuple(state.get("session_keys") or [secrets.token_urlsafe(48)]),
        cors_origins=(urls["portal_url"],),
        trusted_proxies=opts.trusted_proxies,
        jwt_issuers=opts.jwt_issuers,
        # The demo upstream lives on 127.0.0.1: the one place private upstreams are allowed
        # by default (the banner says so). Cloud deployments refuse them unless configured.
        allow_private_upstreams=True,
    )
    clock = SystemClock()
    store = build_store(settings, clock)
    _ensure_table(settings, store)
    now = clock.now()
    if not seed.is_seeded(store):
        seed.seed(store, urls["upstream_url"], now)
        state.pop("demo_key", None)
    else:
        seed.point_demo_upstream(store, urls["upstream_url"])
    demo_key = state.get("demo_key") or seed.issue_demo_key(store, settings.key_prefix, now)
    state.update(urls)
    state.update(
        admin_token=settings.admin_token,
        session_keys=list(settings.session_keys),
        demo_key=demo_key,
        demo_url=f"{urls['gateway_url']}/demo/v2/echo/hello",
        store=settings.store,
        data_dir=str(opts.data_dir.resolve()),
        cache_ttl_seconds=opts.cache_ttl,
        # Issuer and audience only: a shared secret is never written out.
        jwt_issuers=[{"issuer": i.issuer, "audience": i.audience,
                      "algorithms": list(i.algorithms)} for i in opts.jwt_issuers],
    )
    _write_state(state_path, state)

    from shared.api.app import create_app  # management only: keeps the gateway path lean

    sink = buffered_usage(store)
    _repair_every(REPAIR_INTERVAL, store, clock)
    from functions.local import jobs as local_jobs  # the hourly jobs: now, then every hour

    local_jobs.start_hourly(settings, store, clock)
    config_js = (
        "window.TOLLWAY = "
        + json.dumps({"managementUrl": urls["management_url"], "gatewayUrl": urls["gateway_url"]})
        + ";\n"
    )
    apps = [
        ("gateway", opts.gateway_port, gateway_app(settings, store, clock, sink)),
        (
            "management",
            opts.management_port,
            hygiene.body_limit(create_app(store=store, clock=clock, settings=settings)),
        ),
        (
            "portal",
            opts.portal_port,
            _portal_app(config_js.encode(), (urls["management_url"], urls["gateway_url"])),
        ),
        ("upstream", opts.upstream_port, demo_upstream),
    ]
    return state, apps, sink, settings


def _jwt_lines(state: dict[str, Any]) -> str:
    issuers = state.get("jwt_issuers") or []
    if not issuers:
        return "  (JWT bearer tokens: pass --jwt-issuer/--jwt-audience/--jwt-secret to try them)\n"
    lines = [f"  JWT issuer {i['issuer']} (audience {i['audience']}, {', '.join(i['algorithms'])})"
             for i in issuers]
    return "\n".join(lines) + "\n  curl -i -H 'Authorization: Bearer <token with sub=con_demo>' " \
        f"{state['demo_url']}\n"


def banner(state: dict[str, Any]) -> str:
    return f"""
Tollway local stack is up.

  Gateway      {state["gateway_url"]}
  Management   {state["management_url"]}   (docs: {state["management_url"]}/v1/docs)
  Portal       {state["portal_url"]}
  Demo upstream {state["upstream_url"]}

  Admin token  {state["admin_token"]}
  Demo key     {state["demo_key"]}   (consumer con_demo, plan "free": 2 requests/second)

  Upstreams on loopback and private addresses are allowed here
  (TOLLWAY_ALLOW_PRIVATE_UPSTREAMS=on), for the demo upstream; a deployment refuses them.

Try it:
  curl -i -H 'X-Api-Key: {state["demo_key"]}' {state["demo_url"]}
{_jwt_lines(state)}
Everything above is also in {state.get("data_dir", ".tollway")}/local.json (mode 0600);
`tollway env` prints it as shell exports, from any directory. Ctrl-C stops the stack.
"""


def server_config(opts: Options, name: str, port: int, app: Any) -> uvicorn.Config:
    trusted = ",".join(opts.trusted_proxies)
    return uvicorn.Config(
        app,
        host=opts.host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        server_header=False,
        # The gateway passes the upstream's Date through (and adds one to denials).
        date_header=name != "gateway",
        # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: any local client
        # could then pick its address and dodge the per-address limits. Only configured
        # proxies are believed.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
    )


async def _serve(
    opts: Options, apps: list[tuple[str, int, Any]], sockets: dict[str, socket.socket]
) -> None:
    servers = [_Server(server_config(opts, name, port, app)) for name, port, app in apps]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(
        s.serve([sockets[name]] if name in sockets else None)
        for s, (name, _, _) in zip(servers, apps, strict=True)
    ))
    for _, _, app in apps:
        if isinstance(app, GatewayApp):
            app.close()


#: Stores every process sees: more than one gateway process may serve them.
SHARED_STORES = frozenset({"sqlite", "dynamodb", "azure"})


def _gateway_worker(opts: Options, settings: Settings, sock: socket.socket, parent: int) -> None:
    """Another gateway process on the stack's gateway socket (started with ``spawn``):
    its own store connection, metering sink and caches, the same app and server settings.
    It stops on SIGINT/SIGTERM (uvicorn's handlers) or when the stack's process is gone."""
    clock = SystemClock()
    store = build_store(settings, clock)
    sink: Any = buffered_usage(store)  # a BufferedSink: flushed and closed on the way out
    app = gateway_app(settings, store, clock, sink)
    server = uvicorn.Server(server_config(opts, "gateway", opts.gateway_port, app))

    def watch_parent() -> None:
        while os.getppid() == parent and not server.should_exit:
            time.sleep(0.5)
        server.should_exit = True

    threading.Thread(target=watch_parent, name="tollway-parent-watch", daemon=True).start()
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(server.serve([sock]))
            runner.run(_close_app(app))
    finally:
        sink.flush()
        sink.close()
        store.close()


async def _close_app(app: GatewayApp) -> None:
    app.close()  # on the loop its connections belong to


def _start_gateway_workers(
    opts: Options, settings: Settings
) -> tuple[dict[str, socket.socket], list[Any]]:
    """The gateway socket, bound here and shared with ``gateway_workers - 1`` processes."""
    if opts.gateway_workers <= 1 or settings.store not in SHARED_STORES:
        return {}, []
    import multiprocessing

    config = server_config(opts, "gateway", opts.gateway_port, None)
    sock = config.bind_socket()
    ctx = multiprocessing.get_context("spawn")
    workers = []
    for i in range(opts.gateway_workers - 1):
        proc = ctx.Process(
            target=_gateway_worker,
            args=(opts, settings, sock, os.getpid()),
            name=f"tollway-gateway-{i + 2}",
            daemon=True,
        )
        proc.start()
        workers.append(proc)
    return {"gateway": sock}, workers


def _stop_workers(workers: list[Any]) -> None:
    for proc in workers:
        if proc.is_alive():
            proc.terminate()
    for proc in workers:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (``uvicorn[standard]`` ships it): the gateway's loop runs
    every request's I/O (issue 11)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it on CPython
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(opts: Options) -> None:
    # One stack per data directory: held until this process ends (functions/local/datadir).
    from functions.local.datadir import DataDirBusy, StackLock

    opts.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = StackLock(opts.data_dir)
    try:
        lock.acquire({f"{name}_url": f"http://{opts.host}:{port}" for name, port in (
            ("gateway", opts.gateway_port), ("management", opts.management_port),
            ("portal", opts.portal_port), ("upstream", opts.upstream_port))})
    except DataDirBusy as exc:
        raise StackError(str(exc)) from None
    state, apps, sink, settings = prepare(opts)
    sockets, workers = _start_gateway_workers(opts, settings)
    print(banner(state), flush=True)
    started = time.monotonic()
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(_serve(opts, apps, sockets))
    finally:
        _stop_workers(workers)
        sink.flush()
        sink.close()
        print(
            f"Tollway stopped after {time.monotonic() - started:.0f}s; "
            f"state kept in {opts.data_dir}/."
        )
