"""Door 3: the AWS router Lambda (``functions.aws.router.handler``) invoked in process with
API Gateway HTTP API payload 2.0 events, over DynamoDB (moto, in process).

The deployment this mirrors is the template's default: the ``$default`` route and stage,
no Lambda authorizer in front (``EnableAuthorizer=false``), so the router runs the whole
pipeline. The event is built the way API Gateway documents building it
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):

- header names lower-cased, repeated headers joined with commas into one value;
- ``Cookie`` headers moved to the ``cookies`` list (one entry per cookie);
- ``rawPath`` and ``rawQueryString`` as sent; ``queryStringParameters`` parsed;
- the platform's own request headers added (``x-forwarded-for`` with the client address
  appended, ``x-forwarded-port``, ``x-forwarded-proto``, ``x-amzn-trace-id``, ``host``,
  ``content-length``);
- a body that is UTF-8 text under a textual content type goes as a string, any other body
  base64 with ``isBase64Encoded``;
- a fresh ``requestContext.requestId`` per request.

Header bytes outside ASCII are read as Latin-1 (what the HTTP front doors do; API Gateway
does not document its choice). The response dict is read back the way API Gateway writes
it: one line per ``headers`` entry, one ``Set-Cookie`` per ``cookies`` entry, the body
base64-decoded when ``isBase64Encoded``. API Gateway's own response headers (``Date``,
``Content-Length``, ``apigw-requestid``) are not emulated.

The handler module is imported once (cold start with ``TOLLWAY_STORE=memory``, as in
tests/functional/aws); each scenario swaps in a gateway built by the module's own
``build`` over a fresh ``DynamoStore`` (fresh caches) on the session's DynamoDB table.
Seeding through the store costs about a second under moto (a transaction per partition,
each deep-copying the table), so the table is seeded once per session and, after each
scenario, every item the scenario wrote (tracked on the client: rate-limit counters) is
put back to its seeded state or deleted: every scenario starts from the same state, as on
a fresh table. Store faults are injected on the botocore client (``before-call`` hooks), so
the adapter's own error mapping is what the gateway sees.
"""

from __future__ import annotations

import base64
import importlib
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from botocore.exceptions import EndpointConnectionError

from tests.parity.spec import Observed, Wire
from tests.parity.world import World

NAME = "aws-lambda"
STORE = "dynamodb (moto)"
TABLE = "tollway-parity"

ENV = {
    "TOLLWAY_STORE": "memory",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "tollway",
}
#: Fault name -> the DynamoDB operations it breaks.
FAULT_OPERATIONS = {
    "limiter": frozenset({"UpdateItem"}),
    "lookup": frozenset({"GetItem", "Query", "BatchGetItem"}),
}
_TEXT = ("text/", "application/json", "application/problem+json", "application/xml")

_state: dict[str, Any] = {}
_seq = itertools.count(1)


@dataclass
class LambdaContext:
    function_name: str = "tollway-parity-router"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:tollway-parity-router"
    )
    aws_request_id: str = "6d1e2f3a-0b4c-4d5e-8f9a-0b1c2d3e4f5a"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@contextmanager
def session() -> Iterator[None]:
    """moto's DynamoDB (one client; a table per scenario) and the router module."""
    from moto import mock_aws

    from shared.adapters.dynamodb import DynamoStore, create_table, make_client

    with pytest.MonkeyPatch.context() as mp:
        for k, v in ENV.items():
            mp.setenv(k, v)
        for k in ("TOLLWAY_TRACING", "TOLLWAY_SECRET_IDS", "TOLLWAY_JWT_ISSUERS",
                  "TOLLWAY_AUTHORIZER"):
            mp.delenv(k, raising=False)
        router = importlib.import_module("functions.aws.router")
        with mock_aws():
            client = make_client(region_name="us-east-1")

            def inject(**kw: Any) -> None:
                world = _state.get("world")
                if world is None:
                    return
                if any(kw["model"].name in FAULT_OPERATIONS[f] for f in world.faults):
                    raise EndpointConnectionError(endpoint_url="https://dynamodb.parity.test")

            create_table(client, TABLE)
            seeded = World()
            seeded.seed(DynamoStore(TABLE, client, seeded.clock))
            snapshot = {_key(i): i for i in _scan(client)}
            written: set[tuple[str, str]] = set()

            def track(**kw: Any) -> None:
                written.update(_written_keys(kw["model"].name, kw["params"]))

            client.meta.events.register("before-call.dynamodb", inject)
            client.meta.events.register("before-parameter-build.dynamodb", track)
            mp.setattr(router, "gateway", router.gateway)  # restored when the session ends
            mp.setattr(router, "settings", router.settings)
            _state.update(router=router, client=client, snapshot=snapshot, written=written)
            try:
                yield
            finally:
                _state.clear()


@contextmanager
def make(world: World) -> Iterator[Callable[[Wire], Observed]]:
    if not _state:
        raise RuntimeError("aws-lambda: enter doors.aws.session() first")
    from shared.adapters.dynamodb import DynamoStore

    router, client = _state["router"], _state["client"]
    store = DynamoStore(TABLE, client, world.clock)
    try:
        router.settings = world.settings
        router.gateway = router.build(
            world.settings, store=store, clock=world.clock, upstream=world.upstream
        )
        _state["world"] = world
        yield lambda wire: _invoke(router, world, wire)
    finally:
        _state.pop("world", None)
        _restore(client, _state["snapshot"], _state["written"])


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]


def _scan(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kw: dict[str, Any] = {"TableName": TABLE, "ConsistentRead": True}
    while True:
        page = client.scan(**kw)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kw["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The items a write names (before it is sent, so a failed write counts too)."""
    if operation in ("UpdateItem", "DeleteItem"):
        return [_key(params["Key"])]
    if operation == "PutItem":
        return [_key(params["Item"])]
    if operation == "TransactWriteItems":
        out = []
        for entry in params.get("TransactItems", []):
            for kind, op in entry.items():
                out.append(_key(op["Item"] if kind == "Put" else op["Key"]))
        return out
    if operation == "BatchWriteItem":
        return [
            _key(r["PutRequest"]["Item"] if "PutRequest" in r else r["DeleteRequest"]["Key"])
            for reqs in params.get("RequestItems", {}).values()
            for r in reqs
        ]
    return []


def _restore(
    client: Any, snapshot: dict[tuple[str, str], dict[str, Any]], written: set[tuple[str, str]]
) -> None:
    """Put every item written since the seed back to its seeded state (raw items, below
    the adapter): delete what the seed did not have, put back what it had."""
    keys = sorted(written)
    for pk, sk in keys:
        if (pk, sk) in snapshot:
            client.put_item(TableName=TABLE, Item=snapshot[(pk, sk)])
        else:
            client.delete_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    written.clear()  # the restoring writes above were tracked too


def event(world: World, wire: Wire) -> dict[str, Any]:
    """The payload 2.0 event API Gateway would send for this request."""
    n = next(_seq)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, raw in wire.headers:
        low, value = name.lower(), raw.decode("latin-1")
        if low == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[low] = f"{headers[low]},{value}" if low in headers else value
    xff = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{xff},{world.client_ip}" if xff else world.client_ip
    headers.setdefault("host", "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com")
    headers["x-forwarded-port"] = "443"
    headers["x-forwarded-proto"] = "https"
    headers["x-amzn-trace-id"] = f"Root=1-6955c0aa-{n:024x}"
    if wire.body:
        headers["content-length"] = str(len(wire.body))
    ev: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": wire.path,
        "rawQueryString": wire.query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": wire.method,
                "path": wire.path,
                "protocol": "HTTP/1.1",
                "sourceIp": world.client_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": f"KUs8BiEIIAM{n:05d}=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:10 +0000",
            "timeEpoch": int(world.clock.now() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        ev["cookies"] = cookies
    if wire.query:
        params: dict[str, str] = {}
        for k, v in parse_qsl(wire.query, keep_blank_values=True):
            params[k] = f"{params[k]},{v}" if k in params else v
        ev["queryStringParameters"] = params
    if wire.body:
        ct = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            text = wire.body.decode("utf-8") if ct.startswith(_TEXT) else None
        except UnicodeDecodeError:
            text = None
        if text is None:
            ev["body"], ev["isBase64Encoded"] = base64.b64encode(wire.body).decode(), True
        else:
            ev["body"] = text
    return ev


def _invoke(router: Any, world: World, wire: Wire) -> Observed:
    resp = router.handler(event(world, wire), LambdaContext())
    headers = [(k.lower(), str(v)) for k, v in (resp.get("headers") or {}).items()]
    headers += [("set-cookie", c) for c in resp.get("cookies") or []]
    raw = resp.get("body") or ""
    body = base64.b64decode(raw) if resp.get("isBase64Encoded") else raw.encode("utf-8")
    return Observed(int(resp["statusCode"]), tuple(headers), body)
