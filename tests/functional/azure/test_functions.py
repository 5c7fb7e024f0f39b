"""The Azure function apps, in process, end to end against Azurite (tables and queues) and a
real upstream on 127.0.0.1: the gateway's catch-all trigger, the management app through
``AsgiFunctionApp``, the translation module's edge cases, and the gateway's cold path."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import azure.functions as func
import pytest
from azure.functions.http import HttpResponseConverter

from shared.adapters.azure_tables import AzureTableStore
from shared.adapters.log_usage import parse
from shared.clouds.azure import events, usage
from shared.clouds.azure.metrics import LogMetrics
from shared.core.models import UsageEvent
from shared.core.request import GatewayResponse, Headers
from shared.management import notifications
from shared.settings import from_env
from tests.functional.api.harness import CHEAP_HASHER
from tests.functional.azure.conftest import (
    AzureWorld,
    Context,
    cold_import,
    http_request,
    user_functions,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def gw_module():
    return cold_import("functions.azure.gateway.function_app")


@pytest.fixture
def gw(gw_module, azure_world: AzureWorld, monkeypatch):
    """The gateway module with a gateway its own factory built over this world (real HTTP
    upstream, Azurite table, Azurite queue for usage)."""
    settings = from_env({"TOLLWAY_STORE": "memory", "TOLLWAY_CACHE_TTL": "0"})
    sink = azure_world.sink()
    gateway = gw_module.build(
        settings, store=azure_world.store, clock=azure_world.clock, usage=sink
    )
    monkeypatch.setattr(gw_module, "gateway", gateway)
    yield gw_module
    sink.close()


def call(module, req: func.HttpRequest, ctx: Context | None = None) -> func.HttpResponse:
    """Through what the host indexes (``get_user_function``), as the worker would call it."""
    fn = user_functions(module.app)["proxy"].get_user_function()
    return fn(req, ctx or Context())


def body_json(resp: func.HttpResponse) -> dict:
    return json.loads(resp.get_body())


# --- the gateway function ------------------------------------------------------------------


def test_key_200_through_the_upstream_with_raw_path_and_query(gw, azure_world):
    ctx = Context()
    resp = call(
        gw,
        http_request(
            "/demo/v2/echo/a%20b%7Ec",
            query="x=%41&y=1",
            headers={"X-Api-Key": azure_world.keys["a"]},
        ),
        ctx,
    )
    assert resp.status_code == 200, resp.get_body()
    doc = body_json(resp)
    assert doc["raw_path"] == "/echo/a%20b~c"  # not the decoded route parameter
    assert doc["query"] == "x=%41&y=1"
    sent = dict(doc["headers"])
    assert sent["x-forwarded-for"] == "203.0.113.9"  # the front end's hop, port stripped
    assert resp.headers["X-Request-Id"] == ctx.invocation_id
    assert "r=2" in resp.headers["RateLimit"] and "q=3" in resp.headers["RateLimit-Policy"]
    # the usage event went to the queue, base64 on the wire, parseable by the shared codec
    [msg] = azure_world.receive()
    event = parse(base64.b64decode(msg.content).decode())
    assert event is not None and event.request_id == ctx.invocation_id
    assert event.consumer_id == "con_a" and event.status == 200


def test_401_without_or_with_a_bad_key_and_nothing_metered(gw, azure_world):
    for headers in ({}, {"X-Api-Key": "tw_nope"}):
        resp = call(gw, http_request(headers=headers))
        assert resp.status_code == 401
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert "WWW-Authenticate" in resp.headers
    assert azure_world.receive() == []


def test_two_keys_in_one_header_are_ambiguous_not_the_first(gw, azure_world):
    key = azure_world.keys["a"]
    resp = call(gw, http_request(headers={"X-Api-Key": f"{key}, {key}"}))
    assert resp.status_code == 400


def test_429_with_ratelimit_and_retry_after_then_recovery(gw, azure_world):
    key = {"X-Api-Key": azure_world.keys["a"]}
    statuses = [call(gw, http_request(headers=key)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    resp = call(gw, http_request(headers=key))
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert "r=0" in resp.headers["RateLimit"] and "RateLimit-Policy" in resp.headers
    assert body_json(resp)["status"] == 429
    azure_world.clock.advance(61)
    assert call(gw, http_request(headers=key)).status_code == 200


def test_several_set_cookie_from_the_upstream_survive(gw, azure_world):
    resp = call(
        gw, http_request("/demo/v2/echo/cookies", headers={"X-Api-Key": azure_world.keys["a"]})
    )
    assert resp.status_code == 200
    cookies = resp.headers.get_all("Set-Cookie")
    assert cookies == [
        "a=1; Path=/; HttpOnly",
        "b=2; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure",
        "c=3; SameSite=Lax",
    ]
    assert resp.headers["Vary"] == "Accept, Origin"  # one line: the worker keeps one per name
    # What the Python worker hands the host: three cookies, other headers one value each.
    datum = HttpResponseConverter.encode(resp, expected_type=None)
    assert len(datum.value["cookies"]) == 3
    sent = {k.lower(): v.value for k, v in datum.value["headers"].items()}
    assert sent["vary"] == "Accept, Origin" and "set-cookie" not in sent


def test_binary_body_round_trip(gw, azure_world):
    payload = bytes(range(256)) * 3
    resp = call(
        gw,
        http_request(
            "/demo/v2/echo/binary",
            method="POST",
            body=payload,
            headers={
                "X-Api-Key": azure_world.keys["a"],
                "Content-Type": "application/octet-stream",
            },
        ),
    )
    assert resp.status_code == 200
    assert resp.get_body() == bytes(range(256)) * 4 + payload
    assert resp.headers["Content-Type"] == "application/octet-stream"


def test_client_ip_from_x_forwarded_for_last_hop_with_port(gw, azure_world):
    resp = call(
        gw,
        http_request(
            headers={
                "X-Api-Key": azure_world.keys["a"],
                "X-Forwarded-For": "198.51.100.1, [2001:db8::7]:443",
                "X-ARR-LOG-ID": "5e0c7c2e-3a0b-4f39-9d2f-6a7f9e3c1b2a",
                "X-Site-Deployment-Id": "tollway-prod-gw",
                "Disguised-Host": "tollway-prod-gw.azurewebsites.net",
            }
        ),
    )
    sent = dict(body_json(resp)["headers"])
    # the front end's headers about the deployment never reach the upstream
    assert not {"x-arr-log-id", "x-site-deployment-id", "disguised-host"} & sent.keys()
    # the client's own hop is kept, the front end's replaced by the address it named
    assert sent["x-forwarded-for"] == "198.51.100.1, 2001:db8::7"


def test_an_unreadable_request_is_a_400_problem_not_a_500(gw):
    bad = func.HttpRequest("GET", "http://[::1/oops", headers={}, body=b"")
    resp = call(gw, bad)
    assert resp.status_code == 400
    assert body_json(resp)["status"] == 400
    assert resp.headers["X-Request-Id"]


def test_an_unexpected_failure_is_a_500_problem_with_the_request_id(gw, monkeypatch):
    def boom(req, **kw):
        raise RuntimeError("bug")

    monkeypatch.setattr(gw.gateway, "handle", boom)
    ctx = Context()
    resp = call(gw, http_request(), ctx)
    assert resp.status_code == 500
    assert body_json(resp)["status"] == 500
    assert resp.headers["X-Request-Id"] == ctx.invocation_id


def test_metrics_one_json_line_per_invocation_with_the_aws_names(gw, azure_world, caplog):
    caplog.set_level("INFO", logger="tollway.metrics")
    key = {"X-Api-Key": azure_world.keys["a"]}
    ctx = Context()
    call(gw, http_request(headers=key), ctx)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tollway.metrics"]
    assert len(lines) == 1
    assert lines[0]["kind"] == "metrics" and lines[0]["request_id"] == ctx.invocation_id
    assert lines[0]["Requests"] == 1 and lines[0]["UpstreamLatency"] > 0
    caplog.clear()
    call(gw, http_request())
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tollway.metrics"]
    assert line["Denials"] == 1


def test_function_is_indexed_as_an_anonymous_catch_all(gw_module):
    fn = user_functions(gw_module.app)["proxy"]
    doc = json.loads(fn.get_function_json())
    [trigger] = [b for b in doc["bindings"] if b["type"] == "httpTrigger"]
    assert trigger["route"] == "{*path}"
    assert trigger["authLevel"].lower() == "anonymous"
    assert {m.upper() for m in trigger["methods"]} >= {
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "HEAD",
        "OPTIONS",
    }


def test_host_json_files_match_the_deployment():
    for app in ("gateway", "management"):
        host = json.loads((ROOT / "functions/azure" / app / "host.json").read_text())
        assert host["extensions"]["http"]["routePrefix"] == ""
        assert host["logging"]["applicationInsights"]["samplingSettings"]["isEnabled"]
    worker = json.loads((ROOT / "functions/azure/worker/host.json").read_text())
    assert worker["extensions"]["queues"]["maxDequeueCount"] == 5
    bicep = (ROOT / "iac/azure/main.bicep").read_text()
    for name in ("TOLLWAY_USAGE_QUEUE", "TOLLWAY_AZURE_QUEUE_ENDPOINT", "UsageQueue__"):
        assert name in bicep


# --- translation, unit-sized ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("hop", "ip"),
    [
        ("1.2.3.4:5678", "1.2.3.4"),
        ("1.2.3.4", "1.2.3.4"),
        ("[::1]:443", "::1"),
        ("[2001:db8::1]:8080", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("not-an-ip:80", ""),
        ("", ""),
    ],
)
def test_strip_port(hop, ip):
    assert events.strip_port(hop) == ip


def test_request_id_is_the_invocation_id_not_the_callers_header():
    req = http_request(headers={"X-ARR-LOG-ID": "chosen-by-caller", "X-Request-Id": "mine123"})
    ctx = Context(invocation_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    greq = events.to_request(req, ctx)
    assert greq.request_id == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert events.to_request(req, None).request_id == "chosen-by-caller"
    weird = Context(invocation_id="a/b+c=d")
    assert events.request_id_of(req, weird) == "abcd"


def test_to_response_keeps_cookies_and_joins_other_repeats():
    h = Headers([("Set-Cookie", "a=1"), ("Vary", "A"), ("set-cookie", "b=2"), ("vary", "B")])
    out = events.to_response(GatewayResponse(204, h, b""))
    assert out.status_code == 204
    assert out.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert out.headers["Vary"] == "A, B"


# --- usage sink: bounded and never raising ---------------------------------------------------


def _event(i: int = 0) -> UsageEvent:
    return UsageEvent(
        f"req{i:08d}",
        1_767_225_610.0,
        "con_a",
        "key_a",
        "demo-v2",
        "/echo/*",
        "GET",
        200,
        0,
        10,
        1.5,
        1,
    )


class _Lines:
    def __init__(self):
        self.events = []

    def emit(self, e):
        self.events.append(e)


def test_usage_sink_against_a_dead_queue_is_bounded_then_pauses():
    port = _closed_port()
    fallback = _Lines()
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    sink = usage.QueueUsageSink("usage", connection_string=conn, fallback=fallback)
    started = time.monotonic()
    for i in range(5):
        sink.emit(_event(i))  # never raises
    elapsed = time.monotonic() - started
    assert elapsed < 3.0
    assert sink.failures == 1 and sink.fallbacks == 5 and len(fallback.events) == 5


def test_usage_sink_against_a_silent_queue_times_out():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # accepts, never answers
        port = server.getsockname()[1]
        conn = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            f"QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
        sink = usage.QueueUsageSink("usage", connection_string=conn, timeout=0.3, fallback=_Lines())
        started = time.monotonic()
        sink.emit(_event())
        assert time.monotonic() - started < 2.5
        assert sink.failures == 1


def test_usage_sink_sends_base64_of_the_shared_line(azure_world):
    sink = azure_world.sink()
    sink.emit(_event(7))
    [msg] = azure_world.receive()
    assert parse(base64.b64decode(msg.content).decode()) == _event(7)
    assert sink.sent == 1 and sink.failures == 0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_buffers_are_per_thread():
    m = LogMetrics("t")
    seen = {}

    def run(name):
        m.begin(name)
        m.count("Requests")
        time.sleep(0.01)
        seen[name] = m.snapshot()

    threads = [threading.Thread(target=run, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == {"Requests": 1} for v in seen.values())


# --- cold path -------------------------------------------------------------------------------


def test_gateway_cold_path_imports_no_framework_or_telemetry_sdk():
    heavy = (
        "fastapi",
        "starlette",
        "pydantic",
        "opencensus",
        "opentelemetry",
        "azure.monitor",
        "azure.storage.queue",
        "azure.identity",
    )
    code = (
        "import sys, functions.azure.gateway.function_app;"
        f"bad=[m for m in sys.modules if m.startswith({heavy!r})];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env["TOLLWAY_STORE"] = "memory"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- management through AsgiFunctionApp -----------------------------------------------------


@pytest.fixture
def mgmt(azure_world, monkeypatch):
    module = cold_import("functions.azure.management.function_app")
    settings = from_env(
        {
            "TOLLWAY_STORE": "memory",
            "TOLLWAY_SESSION_KEYS": "k" * 40,
            "TOLLWAY_ADMIN_TOKEN": "t" * 32,
        }
    )
    asgi = module.build(
        settings, store=azure_world.store, clock=azure_world.clock, password_hasher=CHEAP_HASHER
    )
    app = func.AsgiFunctionApp(app=asgi, http_auth_level=func.AuthLevel.ANONYMOUS)
    user_fn = user_functions(app)["http_app_func"].get_user_function()
    loop = asyncio.new_event_loop()

    def request(method, path, *, json_body=None, headers=None, ip="198.51.100.20"):
        hdrs = {"x-forwarded-for": f"{ip}:50123", "host": "tollway-mgmt.azurewebsites.net"}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs["content-type"] = "application/json"
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        req = func.HttpRequest(
            method,
            f"https://tollway-mgmt.azurewebsites.net{path}",
            headers=hdrs,
            route_params={"route": path.lstrip("/")},
            body=body,
        )
        return loop.run_until_complete(user_fn(req, Context(function_name="http_app_func")))

    yield request
    if app.startup_task_done:  # FastAPI's shutdown on the loop its startup ran on
        loop.run_until_complete(app.middleware.notify_shutdown())
        app.startup_task_done = False  # nothing left for __del__ to run
    loop.close()


def test_management_sign_up_key_and_catalog_through_asgi_function_app(mgmt, azure_world):
    resp = mgmt(
        "POST",
        "/v1/auth/signup",
        json_body={
            "email": "dev@example.com",
            "password": "correct horse battery staple 42",
            "name": "Dev",
        },
    )
    assert resp.status_code in (200, 201), resp.get_body()
    token = json.loads(resp.get_body())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    # The clouds require a verified address before keys: follow the link from the outbox.
    resp = mgmt("POST", "/v1/me/keys", json_body={"name": "laptop"}, headers=auth)
    assert resp.status_code == 403, resp.get_body()
    [notice] = [n for n in notifications.outbox(azure_world.store, 10)
                if n["kind"] == "verify-email" and n["recipient"] == "dev@example.com"]
    link = urlsplit(notice["data"]["url"]).fragment.split("?", 1)[1]
    resp = mgmt("POST", "/v1/auth/verify", json_body={"token": parse_qs(link)["token"][0]})
    assert resp.status_code == 200, resp.get_body()
    resp = mgmt("POST", "/v1/me/keys", json_body={"name": "laptop"}, headers=auth)
    assert resp.status_code in (200, 201), resp.get_body()
    assert json.loads(resp.get_body())["key"].startswith("tw_")
    resp = mgmt("GET", "/v1/catalog")
    assert resp.status_code == 200
    names = {(a["name"], a["version"]) for a in json.loads(resp.get_body())["items"]}
    assert ("demo", "v2") in names and ("draft", "v1") not in names


def test_management_sees_the_front_ends_client_address():
    """The sign-up/login throttles key on the caller: the adapter gives the ASGI app the
    front end's last X-Forwarded-For hop (AsgiFunctionApp itself leaves ``client`` None)."""
    from shared.clouds.azure.asgi import ClientFromFrontEnd

    scopes = []

    async def app(scope, receive, send):
        scopes.append(scope)

    asyncio.run(
        ClientFromFrontEnd(app)(
            {
                "type": "http",
                "client": None,
                "headers": [(b"x-forwarded-for", b"10.0.0.1, 192.0.2.44:5555")],
            },
            None,
            None,
        )
    )
    assert scopes[0]["client"] == ("192.0.2.44", 0)
    assert scopes[0]["headers"] == [(b"x-forwarded-for", b"10.0.0.1")]


def test_management_refuses_a_base_path_the_functions_host_reserves(mgmt):
    admin = {"Authorization": "Bearer " + "t" * 32}
    for base in ("/admin/x", "/runtime", "/Admin"):
        resp = mgmt(
            "POST",
            "/v1/admin/apis",
            headers=admin,
            json_body={
                "name": "svc",
                "version": "v1",
                "base_path": base,
                "upstreams": [{"url": "https://example.com"}],
            },
        )
        assert resp.status_code == 422, (base, resp.get_body())
        assert "base_path" in resp.get_body().decode()
    resp = mgmt(
        "POST",
        "/v1/admin/apis",
        headers=admin,
        json_body={
            "name": "svc",
            "version": "v1",
            "base_path": "/administration",
            "upstreams": [{"url": "https://example.com"}],
        },
    )
    assert resp.status_code == 201, resp.get_body()


def test_azure_table_store_is_what_from_env_builds(azure_world):
    from shared.wiring import build_store

    settings = from_env(
        {"TOLLWAY_STORE": "azure", "TOLLWAY_AZURE_CONNECTION_STRING": azure_world.conn}
    )
    assert isinstance(build_store(settings), AzureTableStore)
    assert isinstance(usage.from_settings(settings), usage.QueueUsageSink)
