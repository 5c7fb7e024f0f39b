"""The local front door over real HTTP: uvicorn + GatewayApp -> httpx -> demo upstream,
forwarding as the local stack does (``LoopUpstream``: handle() on the event loop)."""

from __future__ import annotations

import socket
import threading

import pytest

from functions.local.demo_upstream import demo_upstream
from functions.local.gateway_asgi import GatewayApp
from shared.adapters.loop_upstream import LoopUpstream
from shared.core.models import Api, Lifecycle, Route, Upstream
from shared.management import records
from tests.functional.conftest import make_world
from tests.servers import client, serve


@pytest.fixture(scope="module")
def stack():
    with serve(demo_upstream) as upstream_url:
        world = make_world()
        records.save_unaudited(
            world.store,
            [
                records.put_api_write(
                    Api(
                        "demo-v2",
                        "demo",
                        "v2",
                        "/demo/v2",
                        (Upstream(upstream_url),),
                        (Route("*", "/echo/*"),),
                        Lifecycle.PUBLISHED,
                    )
                )
            ],
        )
        world.gateway.upstream = LoopUpstream()
        world.gateway.max_body = 64 * 1024
        with serve(GatewayApp(world.gateway), date_header=False) as gw_url:
            yield world, gw_url
            world.gateway.upstream.close()  # on the server's loop, while it runs


def test_200_through_real_http_with_headers(stack):
    world, url = stack
    with client() as c:
        r = c.post(
            f"{url}/demo/v2/echo/hi?x=1",
            content=b"payload",
            headers={"X-Api-Key": world.keys["a"], "X-Request-Id": "req-abcdefgh"},
        )
    assert r.status_code == 200
    echoed = r.json()
    assert echoed["path"] == "/echo/hi" and echoed["query"] == "x=1"
    assert echoed["body"] == "payload"
    assert "x-api-key" not in echoed["headers"]
    assert echoed["headers"]["x-request-id"] == "req-abcdefgh"
    assert r.headers["x-request-id"] == "req-abcdefgh"
    assert "ratelimit" in r.headers and "ratelimit-policy" in r.headers
    world.clock.advance(60)


def test_401_problem_json_over_http(stack):
    _, url = stack
    with client() as c:
        r = c.get(f"{url}/demo/v2/echo/hi", headers={"X-Api-Key": "nope"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 401


def test_413_for_a_body_over_the_limit_without_buffering_it_all(stack):
    world, url = stack
    with client() as c:
        r = c.post(
            f"{url}/demo/v2/echo/x",
            content=b"x" * (65 * 1024),
            headers={"X-Api-Key": world.keys["a"]},
        )
    assert r.status_code == 413 and r.json()["status"] == 413
    assert len(r.headers["x-request-id"]) == 32  # a real id, even before the body is read


def test_non_ascii_header_bytes_get_a_json_400(stack):
    world, url = stack
    port = int(url.rsplit(":", 1)[1])
    raw = (
        b"GET /demo/v2/echo/x HTTP/1.1\r\nHost: t\r\nX-Api-Key: "
        + world.keys["a"].encode()
        + b"\r\nX-Name: caf\xc3\xa9\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in data


def test_nul_byte_in_a_header_is_refused_with_400(stack):
    # uvicorn's HTTP parser refuses this before the gateway sees it (plain-text 400).
    _, url = stack
    port = int(url.rsplit(":", 1)[1])
    raw = b"GET /demo/v2/echo/x HTTP/1.1\r\nHost: t\r\nX-Bad: a\x00b\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(raw)
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 400")


def test_cors_preflight_is_answered_before_credentials_for_allowed_origins():
    world = make_world()
    world.gateway.cors_origins = frozenset({"http://portal.test"})
    app = GatewayApp(world.gateway)
    with serve(app, date_header=False) as url, client() as c:
        pre = c.options(
            f"{url}/demo/v2/echo/x",
            headers={
                "Origin": "http://portal.test",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "http://portal.test"
        assert "X-Api-Key" in pre.headers["access-control-allow-headers"]
        denied = c.get(f"{url}/demo/v2/echo/x", headers={"Origin": "http://portal.test"})
        assert denied.status_code == 401
        assert "RateLimit" in denied.headers["access-control-expose-headers"]
        other = c.options(
            f"{url}/demo/v2/echo/x",
            headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "GET"},
        )
        assert other.status_code == 401 and "access-control-allow-origin" not in other.headers


def test_exactly_one_date_header(stack):
    world, url = stack
    world.clock.advance(60)
    with client() as c:
        r = c.get(f"{url}/demo/v2/echo/hi", headers={"X-Api-Key": world.keys["a"]})
        assert r.status_code == 200
        assert len(r.headers.get_list("date")) == 1
        assert len(c.get(f"{url}/nope").headers.get_list("date")) == 1


def test_a_slow_upstream_does_not_hold_up_other_requests():
    """handle() runs on the event loop; the upstream exchange is awaited there, so while
    one request waits for its upstream, another is decided and forwarded."""
    arrived, release = threading.Event(), threading.Event()

    def upstream_handler(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            if b" /echo/slow " in data:
                arrived.set()
                release.wait(10)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def accept() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            threading.Thread(target=upstream_handler, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    world = make_world()
    upstream_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    records.save_unaudited(world.store, [records.put_api_write(Api(
        "demo-v2", "demo", "v2", "/demo/v2", (Upstream(upstream_url),),
        (Route("*", "/echo/*"),), Lifecycle.PUBLISHED))])
    world.gateway.upstream = LoopUpstream()
    slow: list[int] = []
    try:
        with serve(GatewayApp(world.gateway), date_header=False) as url, client() as c:
            headers = {"X-Api-Key": world.keys["a"]}

            def slow_request() -> None:
                with client() as c2:
                    slow.append(c2.get(f"{url}/demo/v2/echo/slow", headers=headers,
                                       timeout=20).status_code)

            t = threading.Thread(target=slow_request)
            t.start()
            assert arrived.wait(10)
            fast = c.get(f"{url}/demo/v2/echo/fast", headers=headers, timeout=5)
            assert fast.status_code == 200 and fast.text == "ok"
            assert not slow  # still waiting for its upstream
            release.set()
            t.join(20)
            world.gateway.upstream.close()
        assert slow == [200]
    finally:
        release.set()
        listener.close()
