"""The event-loop upstream client (``LoopUpstream``, ``AsyncHttpClient``) and the greenlet
bridge, against real sockets on loopback: the same rules as ``HttpUpstream``."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from functions.local.demo_upstream import demo_upstream
from shared.adapters.loop_upstream import (
    AsyncHttpClient,
    LoopUpstream,
    await_only,
    bridged,
    run_bridged,
)
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamResponse, UpstreamTimeout
from tests.servers import free_port, serve


def req(url: str, method: str = "GET", timeout: float = 2.0, retries: int = 0,
        body: bytes = b"", deadline: float | None = None) -> UpstreamRequest:
    return UpstreamRequest(method, url, (("x-test", "1"),), body, timeout, retries, deadline)


def through_bridge(up: LoopUpstream, *requests: UpstreamRequest) -> list[UpstreamResponse]:
    """What the front door does: synchronous code (here: a loop of sends) run by
    ``run_bridged`` on an event loop, each send awaited there."""

    def sync_side() -> list[UpstreamResponse]:
        assert bridged()
        return [up.send(r) for r in requests]

    async def main() -> list[UpstreamResponse]:
        try:
            return await run_bridged(sync_side)
        finally:
            up.client.close()

    return asyncio.run(main())


@contextmanager
def raw_server(handler: Callable[[socket.socket], None]) -> Iterator[tuple[int, list[int]]]:
    """A loopback listener that runs ``handler`` on each accepted connection (in a thread);
    yields the port and a list that counts the connections."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    accepted: list[int] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def run(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            handler(conn)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(1)
            t = threading.Thread(target=run, args=(conn,), daemon=True)
            t.start()
            threads.append(t)

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        t.join()
        listener.close()
        for th in threads:
            th.join(timeout=2)


def read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            want = int(line.split(b":", 1)[1])
            while len(rest) < want:
                rest += conn.recv(65536)
    return head


def test_any_status_is_a_response_and_bodies_go_both_ways():
    with serve(demo_upstream) as url:
        up = LoopUpstream()
        failed, posted = through_bridge(
            up, req(f"{url}/status/503"), req(f"{url}/echo", method="POST", body=b"hi")
        )
    assert failed.status == 503
    assert posted.status == 200 and b'"body": "hi"' in posted.body
    assert b'"x-test": "1"' in posted.body


def test_connections_are_kept_alive_between_exchanges():
    def handler(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with raw_server(handler) as (port, accepted):
        url = f"http://127.0.0.1:{port}/x"
        out = through_bridge(LoopUpstream(), req(url), req(url), req(url))
    assert [r.body for r in out] == [b"ok", b"ok", b"ok"]
    assert len(accepted) == 1


def test_chunked_close_delimited_head_and_interim_responses():
    answers = {
        b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        b"/continue": b"HTTP/1.1 100 Continue\r\n\r\n"
                      b"HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz",
        b"/head": b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nX-A: 1\r\nX-A: 2\r\n\r\n",
        b"/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    }

    def handler(conn: socket.socket) -> None:
        while True:
            head = read_request(conn)
            if not head:
                return
            path = head.split(b" ")[1]
            conn.sendall(answers[path])
            if path == b"/close":
                conn.shutdown(socket.SHUT_WR)
                return

    with raw_server(handler) as (port, _):
        base = f"http://127.0.0.1:{port}"
        chunked, cont, head, close, again = through_bridge(
            LoopUpstream(),
            req(f"{base}/chunked"),
            req(f"{base}/continue"),
            req(f"{base}/head", method="HEAD"),
            req(f"{base}/close"),
            req(f"{base}/chunked"),
        )
    assert (chunked.status, chunked.body) == (200, b"abcde")
    assert (cont.status, cont.body) == (201, b"z")
    assert head.status == 200 and head.body == b""
    assert [v for k, v in head.headers if k == "X-A"] == ["1", "2"]  # repeats kept
    assert close.body == b"until the end"
    assert again.body == b"abcde"


def test_a_silent_upstream_times_out():
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        time.sleep(1.0)  # and never answer

    with raw_server(handler) as (port, _), pytest.raises(UpstreamTimeout):
        through_bridge(LoopUpstream(), req(f"http://127.0.0.1:{port}/", timeout=0.2))


def test_a_refused_connection_is_a_failure_after_the_retries():
    port = free_port()
    with pytest.raises(UpstreamFailure):
        through_bridge(LoopUpstream(), req(f"http://127.0.0.1:{port}/", retries=2))


def test_retries_only_for_idempotent_methods_and_only_without_a_response():
    def hang_up(conn: socket.socket) -> None:
        read_request(conn)  # then close without a word

    with raw_server(hang_up) as (port, accepted):
        with pytest.raises(UpstreamFailure):
            through_bridge(LoopUpstream(), req(f"http://127.0.0.1:{port}/", retries=2))
        assert len(accepted) == 3
        with pytest.raises(UpstreamFailure):
            through_bridge(LoopUpstream(), req(f"http://127.0.0.1:{port}/", method="POST",
                                               retries=2, body=b"once"))
        assert len(accepted) == 4  # POST: one attempt only

    def fail_5xx(conn: socket.socket) -> None:
        while read_request(conn):
            conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")

    with raw_server(fail_5xx) as (port, accepted):
        (resp,) = through_bridge(LoopUpstream(), req(f"http://127.0.0.1:{port}/", retries=2))
    assert resp.status == 500  # a response: never retried


def test_a_kept_alive_connection_the_upstream_closed_is_replaced():
    def one_answer_per_connection(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        time.sleep(0.05)  # then close: an idle keep-alive timeout on the upstream's side

    with raw_server(one_answer_per_connection) as (port, accepted):
        url = f"http://127.0.0.1:{port}/"
        up = LoopUpstream()

        def sync_side() -> list[int]:
            out = [up.send(req(url)).status]
            await_only(asyncio.sleep(0.3))  # the upstream closes meanwhile: seen, not reused
            out.append(up.send(req(url)).status)
            # At once: the upstream reads no second request and resets the connection;
            # nothing was answered, so an idempotent request goes again on a new one.
            out.append(up.send(req(url)).status)
            await_only(asyncio.sleep(0.3))
            out.append(up.send(req(url, method="POST")).status)
            return out

        async def main() -> list[int]:
            try:
                return await run_bridged(sync_side)
            finally:
                up.client.close()

        assert asyncio.run(main()) == [200, 200, 200, 200]
        assert len(accepted) == 4


def test_the_deadline_bounds_every_attempt_and_the_retries_together():
    def handler(conn: socket.socket) -> None:
        read_request(conn)
        time.sleep(2.0)

    with raw_server(handler) as (port, _):
        url = f"http://127.0.0.1:{port}/"
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            through_bridge(LoopUpstream(), req(url, timeout=60.0, retries=5,
                                               deadline=time.monotonic() + 0.3))
        assert time.monotonic() - started < 1.5
        with pytest.raises(UpstreamTimeout, match="budget"):
            through_bridge(LoopUpstream(), req(url, timeout=60.0, retries=5,
                                               deadline=time.monotonic() - 0.01))


def test_outside_a_bridge_the_synchronous_fallback_answers():
    with serve(demo_upstream) as url:
        up = LoopUpstream()
        assert not bridged()
        assert up.send(req(f"{url}/status/204")).status == 204
        up.close()


def test_the_bridge_carries_results_and_exceptions_both_ways():
    async def boom() -> None:
        raise ValueError("from the loop")

    def sync_side() -> str:
        assert await_only(asyncio.sleep(0, "slept")) == "slept"
        with pytest.raises(ValueError, match="from the loop"):
            await_only(boom())
        raise KeyError("from the sync side")

    async def main() -> None:
        with pytest.raises(KeyError, match="from the sync side"):
            await run_bridged(sync_side)

    asyncio.run(main())
    with pytest.raises(RuntimeError):
        await_only(asyncio.sleep(0))


def test_an_unusable_url_is_a_failure_not_a_crash():
    async def main() -> None:
        client = AsyncHttpClient()
        with pytest.raises(UpstreamFailure):
            await client.send(req("ftp://example.test/x"))
        with pytest.raises(UpstreamFailure):
            await client.send(req("http://127.0.0.1:notaport/x"))

    asyncio.run(main())


def test_what_cannot_go_on_the_wire_as_is():
    from shared.adapters.loop_upstream import _encode, _split

    with pytest.raises(UpstreamFailure):
        _encode("GET", "/", "h", (("x-a", "1\r\nx-injected: 1"),), b"")
    with pytest.raises(UpstreamFailure):
        _encode("GET", "/", "h", (("x-a\n", "1"),), b"")
    assert _encode("POST", "/", "h", (("x-a", "1"),), b"") == (
        b"POST / HTTP/1.1\r\nHost: h\r\nx-a: 1\r\nContent-Length: 0\r\n\r\n"
    )
    # A target urllib3 would percent-encode is sent as urllib3 sends it.
    from urllib3.util import parse_url

    for url in ("http://h:8080/a b?q=é", "http://h/caf\u00e9", "https://[::1]/x#frag"):
        target = _split(url)[2]
        assert target == (parse_url(url).request_uri or "/")
    assert _split("https://[::1]/x") == (("https", "::1", 443), "[::1]", "/x")
    assert _split("http://user@Example.test:8080?x=1") == (
        ("http", "example.test", 8080), "Example.test:8080", "/?x=1")


def test_cancelling_the_coroutine_reaches_the_synchronous_side_and_the_bridge_goes_on():
    seen: list[str] = []

    def waits() -> None:
        try:
            await_only(asyncio.sleep(30))
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main() -> list[int]:
        task = asyncio.ensure_future(run_bridged(waits))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The worker greenlets are reused: later calls run as before, several at once.
        return list(await asyncio.gather(*(run_bridged(lambda i=i: i) for i in range(5))))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert seen == ["cancelled"]
