"""A world for the Azure functions, in process (there is no Functions host here; see
../shared/notes/azure.md): Azurite's table AND queue services, a fresh table and queue per
test, a manual clock, a real upstream on 127.0.0.1 (uvicorn in a thread), and
``func.HttpRequest`` / ``func.QueueMessage`` built the way the host builds them.

Azurite's table and queue services come from ``tests/support/azurite.py`` (in memory, on
free loopback ports, once per process, killed by PID at exit).

Each function module is imported once, with ``TOLLWAY_STORE=memory`` (its cold start then
touches nothing); a test swaps in what the module's own factory builds over this world.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs

import azure.functions as func
import pytest
from azure.functions.queue import QueueMessage
from azure.storage.queue import QueueClient

from shared.adapters.azure_tables import AzureTableStore
from shared.clouds.azure.usage import QueueUsageSink
from shared.core import keys as keymod
from shared.core.clock import ManualClock
from shared.core.models import Consumer, KeyRecord, Plan, Subscription
from shared.management import records
from tests.functional.conftest import T0, catalog
from tests.servers import serve
from tests.support import azurite

ACCOUNT = azurite.ACCOUNT

#: Tight limits so a handful of requests reach 429 (the quota then recovers by the clock).
PLAN = Plan("free", "Free", apis=("demo",), rate_per_minute=3)

COLD_START_ENV = {"TOLLWAY_STORE": "memory", "TOLLWAY_SESSION_KEYS": "s" * 64}


def connection_string() -> str:
    """One connection string naming Azurite's table and queue endpoints (both started on
    first use), as an operator would set TOLLWAY_AZURE_CONNECTION_STRING."""
    return azurite.connection_string("table", "queue")


# --- the upstream --------------------------------------------------------------------------


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """``/…/binary`` answers every byte value; ``/…/cookies`` sets three cookies; anything
    else echoes the request as JSON (method, raw path, query, headers, body in base64)."""
    assert scope["type"] == "http"
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path = scope["path"]
    headers: list[tuple[bytes, bytes]]
    if path.endswith("/binary"):
        out = bytes(range(256)) * 4 + body
        headers = [(b"content-type", b"application/octet-stream")]
    elif path.endswith("/cookies"):
        out = b'{"ok":true}'
        headers = [
            (b"content-type", b"application/json"),
            (b"set-cookie", b"a=1; Path=/; HttpOnly"),
            (b"set-cookie", b"b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure"),
            (b"set-cookie", b"c=3; SameSite=Lax"),
            (b"vary", b"Accept"),
            (b"vary", b"Origin"),
        ]
    else:
        doc = {
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "args": parse_qs(scope["query_string"].decode("latin-1")),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": base64.b64encode(body).decode(),
        }
        out = json.dumps(doc).encode()
        headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="session")
def upstream_url() -> Iterator[str]:
    with serve(upstream_app) as url:
        yield url


# --- function modules ----------------------------------------------------------------------


def cold_import(name: str) -> ModuleType:
    """Import a function module once, its cold start on the memory store."""
    saved = dict(os.environ)
    try:
        for k in list(os.environ):
            if k.startswith("TOLLWAY_"):
                del os.environ[k]
        os.environ.update(COLD_START_ENV)
        return importlib.import_module(name)
    finally:
        os.environ.clear()
        os.environ.update(saved)


_indexed: dict[int, list[Any]] = {}


def user_functions(app: Any) -> dict[str, Any]:
    """The app's functions by name, as the worker indexes them. An app can be indexed only
    once (a second ``get_functions`` raises "does not have a unique function name")."""
    if id(app) not in _indexed:
        _indexed[id(app)] = [app, app.get_functions()]
    return {f.get_function_name(): f for f in _indexed[id(app)][1]}


@dataclass
class Context:
    """What the host passes as ``context`` (the parts Tollway reads)."""

    invocation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "proxy"
    function_directory: str = "/home/site/wwwroot"
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


def http_request(
    path: str = "/demo/v2/echo/hello",
    *,
    method: str = "GET",
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    host: str = "tollway-gw.azurewebsites.net",
) -> func.HttpRequest:
    """As the host builds it: names lower-cased, one comma-joined value per name, the URL
    as sent, the ``{*path}`` route parameter decoded."""
    from urllib.parse import unquote

    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs.setdefault("x-forwarded-for", "203.0.113.9:51234")
    return func.HttpRequest(
        method,
        url,
        headers=hdrs,
        params={k: v[-1] for k, v in parse_qs(query).items()},
        route_params={"path": unquote(path.lstrip("/"))},
        body=body,
    )


def queue_message(raw: Any) -> QueueMessage:
    """A received queue message as the host hands it to Python: base64 decoded."""
    return QueueMessage(
        id=raw.id,
        body=base64.b64decode(raw.content),
        dequeue_count=raw.dequeue_count,
        pop_receipt=raw.pop_receipt,
    )


# --- the world -----------------------------------------------------------------------------


@dataclass
class AzureWorld:
    conn: str
    store: AzureTableStore
    clock: ManualClock
    queue: QueueClient  # raw: no encode/decode policy, to see the wire format
    queue_name: str
    upstream_url: str
    keys: dict[str, str] = field(default_factory=dict)

    def add_key(self, consumer_id: str, name: str) -> str:
        issued = keymod.generate("tw")
        rec = KeyRecord(f"key_{name}", consumer_id, issued.key_hash, issued.hint)
        records.save_unaudited(self.store, records.key_writes(rec, new=True))
        self.keys[name] = issued.plaintext
        return issued.plaintext

    def sink(self, **kw: Any) -> QueueUsageSink:
        return QueueUsageSink(self.queue_name, connection_string=self.conn, **kw)

    def receive(self, visibility_timeout: int = 30) -> list[Any]:
        return list(
            self.queue.receive_messages(messages_per_page=32, visibility_timeout=visibility_timeout)
        )


def _table_store(conn: str, clock: ManualClock) -> AzureTableStore:
    return AzureTableStore(f"t{uuid.uuid4().hex[:16]}", clock, connection_string=conn, timeout=10.0)


@pytest.fixture
def azure_world(upstream_url: str) -> Iterator[AzureWorld]:
    conn = connection_string()
    clock = ManualClock(T0)
    store = _table_store(conn, clock)
    store.create_table_if_missing()
    name = f"usage-{uuid.uuid4().hex[:12]}"
    queue = QueueClient.from_connection_string(conn, name)
    queue.create_queue()
    writes = [records.put_plan_write(PLAN)]
    writes += [records.put_api_write(a) for a in catalog(upstream_url)]
    writes += [
        records.put_consumer_write(Consumer("con_a", "A")),
        records.put_subscription_write(Subscription("sub_a", "con_a", "free")),
    ]
    records.save_unaudited(store, writes)
    world = AzureWorld(conn, store, clock, queue, name, upstream_url)
    world.add_key("con_a", "a")
    try:
        yield world
    finally:
        try:
            queue.delete_queue()
            queue.close()
            store.delete_table()
        finally:
            store.close()
