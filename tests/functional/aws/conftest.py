"""A world for the AWS handlers: DynamoDB under moto (in process), a manual clock, an
in-process fake upstream (an ``Upstream`` port implementation that answers with an
``httpx.MockTransport``-style handler), and real API Gateway 2.0 / authorizer / CloudWatch
Logs event shapes from ``tests/events``.

Each handler module is imported once (its cold start runs with ``TOLLWAY_STORE=memory``,
so importing touches nothing); each test then swaps in a gateway built by the module's
own factory over this world's DynamoDB table.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gzip
import importlib
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from moto import mock_aws

from shared.adapters.dynamodb import DynamoStore, create_table, make_client
from shared.core import keys as keymod
from shared.core.clock import ManualClock
from shared.core.models import (
    Consumer,
    KeyRecord,
    Subscription,
)
from shared.management import records
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse, UpstreamTimeout
from tests.functional.conftest import (  # the same world as the memory-store tests
    FREE,
    OTHER,
    T0,
    catalog,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"

TABLE = "tollway-test"
UPSTREAM = "http://upstream.test"


COLD_START_ENV = {
    "TOLLWAY_STORE": "memory",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "tollway",
    "TOLLWAY_AUTHORIZER": "on",
}


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def echo(request: httpx.Request) -> httpx.Response:
    """The fake upstream: echoes the request; ``/echo/binary`` answers bytes."""
    if request.url.path.endswith("/binary"):
        return httpx.Response(
            200, content=bytes(range(256)), headers={"content-type": "application/octet-stream"}
        )
    doc = {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query.decode(),
        "headers": dict(request.headers),
        "body": base64.b64encode(request.content).decode(),
    }
    return httpx.Response(200, json=doc, headers={"connection": "keep-alive"})


class MockUpstream:
    """The upstream port answered in process by ``handler(httpx.Request) -> httpx.Response``;
    httpx timeouts and transport errors map to the port's timeout and failure."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        req = httpx.Request(
            request.method, request.url, headers=list(request.headers), content=request.body
        )
        try:
            resp = self.handler(req)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(str(exc)) from exc
        except httpx.TransportError as exc:
            raise UpstreamFailure(str(exc)) from exc
        return UpstreamResponse(resp.status_code, tuple(resp.headers.multi_items()), resp.content)


@dataclass
class LambdaContext:
    function_name: str = "tollway-test-router"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tollway-test-router"
    aws_request_id: str = "6d1e2f3a-0b4c-4d5e-8f9a-0b1c2d3e4f5a"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class World:
    client: Any
    store: DynamoStore
    clock: ManualClock
    upstream_handler: Any
    calls: Counter[str] = field(default_factory=Counter)
    keys: dict[str, str] = field(default_factory=dict)
    seq: int = 0

    def add_key(self, consumer_id: str, name: str, **kw: Any) -> str:
        issued = keymod.generate("tw")
        rec = KeyRecord(f"key_{name}", consumer_id, issued.key_hash, issued.hint, **kw)
        records.save_unaudited(self.store, records.key_writes(rec, new=True))
        self.keys[name] = issued.plaintext
        return issued.plaintext

    def next_request_id(self) -> str:
        self.seq += 1
        return f"KUs8BiEIIAM{self.seq:04d}="

    def proxy(
        self,
        path: str = "/demo/v2/echo/hello",
        *,
        key: str | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        name: str = "http_api_v2_proxy",
        authorizer: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A 2.0 proxy event for this request (fresh API Gateway request id each time);
        ``authorizer``: the context an allowing authorizer attached."""
        ev = copy.deepcopy(event(name))
        if authorizer is not None:
            ev["requestContext"]["authorizer"] = {"lambda": authorizer}
        ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
        ev["requestContext"]["http"]["method"] = method
        ev["requestContext"]["requestId"] = self.next_request_id()
        if key is not None:
            ev["headers"]["x-api-key"] = key
        ev["headers"].update(headers or {})
        if body is not None:
            ev["body"], ev["isBase64Encoded"] = base64.b64encode(body).decode(), True
        return ev

    def authorizer_event(
        self,
        path: str = "/demo/v2/echo/hello",
        *,
        key: str | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        ev = copy.deepcopy(event("http_api_v2_authorizer_request"))
        ev["rawPath"] = ev["requestContext"]["http"]["path"] = path
        ev["requestContext"]["http"]["method"] = method
        ev["requestContext"]["requestId"] = self.next_request_id()
        # The documented form for the $default route: <api>/<stage>/<METHOD>/<path>.
        arn_base = ev["routeArn"].split("/", 1)[0]
        ev["routeArn"] = f"{arn_base}/$default/{method}{path}"
        if key is not None:
            ev["headers"]["x-api-key"] = key
        ev["headers"].update(headers or {})
        return ev

    def dynamodb_calls(self) -> int:
        return sum(self.calls.values())


@pytest.fixture(autouse=True)
def _event_loop_for_mangum() -> Iterator[None]:
    """Mangum (the management handler) takes the thread's event loop, creating and setting
    one when there is none, and never closes it; a later ``asyncio.run`` unsets it and the
    unclosed loop then warns at garbage collection, in whichever test runs at that moment.
    Each test here gets a loop that is closed when it ends."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture(scope="session")
def handlers() -> dict[str, ModuleType]:
    """The handler modules, cold-started once with an in-memory store."""
    with pytest.MonkeyPatch.context() as mp:
        for k, v in COLD_START_ENV.items():
            mp.setenv(k, v)
        for k in ("TOLLWAY_TRACING", "TOLLWAY_SECRET_IDS", "TOLLWAY_JWT_ISSUERS"):
            mp.delenv(k, raising=False)
        names = ("router", "authorizer", "metering")
        mods = {n: importlib.import_module(f"functions.aws.{n}") for n in names}
    for n in ("router", "authorizer"):  # one EMF line per invocation, so tests can read it
        mods[n].metrics.every = 1  # (deployed: one per 100 invocations, test_aws_telemetry)
    return mods


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, handlers: dict[str, ModuleType]) -> Iterator[World]:
    for k, v in COLD_START_ENV.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        client = make_client(region_name="us-east-1")
        create_table(client, TABLE)
        clock = ManualClock(T0)
        store = DynamoStore(TABLE, client, clock)
        writes = [records.put_plan_write(FREE), records.put_plan_write(OTHER)]
        writes += [records.put_api_write(a) for a in catalog(UPSTREAM)]
        writes += [
            records.put_consumer_write(Consumer("con_a", "A")),
            records.put_subscription_write(Subscription("sub_a", "con_a", "free")),
        ]
        for i in range(0, len(writes), 25):
            records.save_unaudited(store, writes[i : i + 25])
        w = World(client, store, clock, echo)
        w.add_key("con_a", "a")

        def count(**kw: Any) -> None:
            w.calls[kw["model"].name] += 1

        client.meta.events.register("before-call.dynamodb", count)
        upstream = MockUpstream(lambda r: w.upstream_handler(r))
        for name in ("router", "authorizer"):
            mod = handlers[name]
            overrides: dict[str, Any] = {"store": store, "clock": clock}
            if name == "router":
                overrides["upstream"] = upstream
            monkeypatch.setattr(mod, "gateway", mod.build(mod.settings, **overrides))
        monkeypatch.setattr(handlers["metering"], "store", store)
        monkeypatch.setattr(handlers["metering"], "clock", clock)  # arrival time of batches
        w.calls.clear()
        yield w


@pytest.fixture
def deployed_table(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh table on moto's DynamoDB server (real HTTP) for a handler module that builds
    its store from the environment, as deployed: that store speaks DynamoDB's protocol with
    its own client (shared/adapters/dynamodb_http.py), which in-process moto cannot see.
    ``AWS_ENDPOINT_URL_DYNAMODB`` points botocore there too (in-process moto lets a request
    to an endpoint that is not AWS's through), so ``make_client`` creates the table there."""
    from tests.contract.backends.dynamodb_server import endpoint

    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint())
    name = f"tollway-{uuid.uuid4().hex[:12]}"
    create_table(make_client(region_name="us-east-1"), name)
    monkeypatch.setenv("TOLLWAY_TABLE", name)
    return name


@pytest.fixture
def ctx() -> LambdaContext:
    return LambdaContext()


def usage_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("TOLLWAY_USAGE ")]


def emf_metrics(out: str) -> Counter[str]:
    """Sum of every EMF metric value printed."""
    total: Counter[str] = Counter()
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        doc = json.loads(line)
        for d in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = doc[d["Name"]]
            total[d["Name"]] += sum(value) if isinstance(value, list) else value
    return total


def awslogs(messages: list[str], log_group: str = "/tollway/dev/router") -> dict[str, Any]:
    """A CloudWatch Logs subscription event carrying ``messages`` as log events, as the
    template's ``UsageFromRouter`` filter delivers them (Stage dev): only messages that
    match its pattern are delivered, so others are refused here."""
    assert all("TOLLWAY_USAGE" in m for m in messages), "the filter would not deliver these"
    doc = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "2026/01/01/[$LATEST]0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "subscriptionFilters": ["tollway-dev-usage"],
        "logEvents": [
            {
                "id": str(38188283746573839201928374657382910192837465738291 + i),
                "timestamp": int(T0 * 1000) + i,
                "message": m + "\n",
            }
            for i, m in enumerate(messages)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(doc).encode())).decode()
    return {"awslogs": {"data": data}}


def body(resp: dict[str, Any]) -> Any:
    raw = resp["body"]
    if resp.get("isBase64Encoded"):
        return base64.b64decode(raw)
    return json.loads(raw) if raw else None
