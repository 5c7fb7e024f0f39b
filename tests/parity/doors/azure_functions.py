"""Door 4: the Azure gateway function (``functions.azure.gateway.function_app``, its
``proxy`` catch-all as the worker indexes it) invoked in process with ``func.HttpRequest``,
over Azure Table Storage (Azurite).

The request is built the way the Functions host hands it to the Python worker (measured
facts in ../shared/notes/azure.md; the rest from the App Service documentation):

- header names lower-cased, one value per name: repeated headers joined with ``,``
  (``Cookie`` lines with ``; ``);
- the URL as sent (``https://<app>.azurewebsites.net`` + raw path + raw query), the
  ``{*path}`` route parameter decoded;
- the front end's own request headers added: ``x-forwarded-for`` with the caller's
  ``ip:port`` appended, ``x-forwarded-proto``, ``x-arr-log-id``, ``x-arr-ssl``,
  ``client-ip``, ``x-client-ip``, ``x-client-port``, ``x-site-deployment-id``,
  ``was-default-hostname``, ``disguised-host``, ``x-original-url``, ``max-forwards``,
  ``host`` and ``content-length``;
- a fresh ``context.invocation_id`` per request.

The response is read from the ``func.HttpResponse`` the function returns: one line per
header entry (each ``Set-Cookie`` its own line), the body bytes. What the Python worker and
the host do after that — the worker adds ``Content-Type: text/plain; charset=utf-8`` to a
response without one and hands ``Set-Cookie`` lines to the host as parsed cookies, which
ASP.NET Core writes back in its own attribute order and case — cannot run here (no host)
and is listed in docs/azure.md instead of emulated.

Azurite's table service is started once (the contract backend's); each scenario gets a
fresh table. Store faults are injected in Python (``FaultyStore``) around the adapter.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.parity.spec import Observed, Wire
from tests.parity.world import FaultyStore, World
from tests.support.fakes import ListSink

NAME = "azure-functions"
STORE = "azure tables (azurite)"

HOST = "tollway-parity-gw.azurewebsites.net"
_state: dict[str, Any] = {}
_seq = itertools.count(1)


@contextmanager
def session() -> Iterator[None]:
    """Azurite's table service and the function module (cold start on the memory store)."""
    from tests.contract.backends import azure_tables

    with pytest.MonkeyPatch.context() as mp:
        for k in ("TOLLWAY_JWT_ISSUERS", "TOLLWAY_AZURE_CONNECTION_STRING",
                  "TOLLWAY_AZURE_QUEUE_ENDPOINT", "TOLLWAY_AZURE_TABLE_ENDPOINT"):
            mp.delenv(k, raising=False)
        mp.setenv("TOLLWAY_STORE", "memory")
        import importlib

        module = importlib.import_module("functions.azure.gateway.function_app")
        fns = _indexed(module.app)
        mp.setattr(module, "gateway", module.gateway)  # restored when the session ends
        _state.update(module=module, proxy=fns["proxy"].get_user_function(),
                      conn=azure_tables.connection_string())
        try:
            yield
        finally:
            _state.clear()


def _indexed(app: Any) -> dict[str, Any]:
    """An app can be indexed once per process: share the tests' index when it exists."""
    try:
        from tests.functional.azure.conftest import user_functions
    except ImportError:  # pragma: no cover - the functional tests are always there
        return {f.get_function_name(): f for f in app.get_functions()}
    return user_functions(app)


@contextmanager
def make(world: World) -> Iterator[Callable[[Wire], Observed]]:
    if not _state:
        raise RuntimeError("azure-functions: enter doors.azure_functions.session() first")
    from shared.adapters.azure_tables import AzureTableStore

    module = _state["module"]
    store = AzureTableStore(f"parity{uuid.uuid4().hex[:12]}", world.clock,
                            connection_string=_state["conn"], timeout=10.0)
    store.create_table_if_missing()
    try:
        world.seed(store)
        module.gateway = module.build(
            world.settings, store=FaultyStore(store, world), clock=world.clock,
            upstream=world.upstream, usage=ListSink(),
        )
        yield lambda wire: _invoke(world, wire)
    finally:
        try:
            store.delete_table()
        finally:
            store.close()


def request(world: World, wire: Wire) -> Any:
    """The ``func.HttpRequest`` the host would hand the worker for this request."""
    from urllib.parse import parse_qsl, unquote

    import azure.functions as func

    n = next(_seq)
    headers: dict[str, str] = {}
    for name, raw in wire.headers:
        low, value = name.lower(), raw.decode("latin-1")
        sep = "; " if low == "cookie" else ","
        headers[low] = f"{headers[low]}{sep}{value}" if low in headers else value
    port = 50000 + n % 10000
    hop = f"{world.client_ip}:{port}"
    xff = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{xff}, {hop}" if xff else hop
    target = wire.path + (f"?{wire.query}" if wire.query else "")
    headers.update({
        "host": HOST,
        "x-forwarded-proto": "https",
        "x-arr-log-id": str(uuid.uuid4()),
        "x-arr-ssl": "2048|256|CN=Microsoft Azure RSA TLS Issuing CA 03|CN=*.azurewebsites.net",
        "client-ip": hop,
        "x-client-ip": world.client_ip,
        "x-client-port": str(port),
        "x-site-deployment-id": "tollway-parity-gw",
        "was-default-hostname": HOST,
        "disguised-host": HOST,
        "x-original-url": target,
        "max-forwards": "10",
    })
    if wire.body:
        headers["content-length"] = str(len(wire.body))
    params: dict[str, str] = {}
    for k, v in parse_qsl(wire.query, keep_blank_values=True):
        params[k] = f"{params[k]},{v}" if k in params else v
    return func.HttpRequest(
        wire.method,
        f"https://{HOST}{target}",
        headers=headers,
        params=params,
        route_params={"path": unquote(wire.path.lstrip("/"))},
        body=wire.body,
    )


class _Context:
    def __init__(self) -> None:
        self.invocation_id = str(uuid.uuid4())
        self.function_name = "proxy"
        self.function_directory = "/home/site/wwwroot"
        self.trace_context = self.retry_context = self.thread_local_storage = None


def _invoke(world: World, wire: Wire) -> Observed:
    resp = _state["proxy"](request(world, wire), _Context())
    headers = tuple((k.lower(), str(v)) for k, v in resp.headers.items())
    return Observed(int(resp.status_code), headers, resp.get_body() or b"")
