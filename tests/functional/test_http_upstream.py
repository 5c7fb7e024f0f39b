"""The HTTP upstream adapter against real sockets on loopback."""

from __future__ import annotations

import socket
import threading

import pytest

from functions.local.demo_upstream import demo_upstream
from shared.adapters.http_upstream import HttpUpstream
from shared.ports import UpstreamFailure, UpstreamRequest, UpstreamTimeout
from tests.servers import free_port, serve


def req(url, method="GET", timeout=0.3, retries=0, body=b""):
    return UpstreamRequest(method, url, (("x-test", "1"),), body, timeout, retries)


def test_any_status_is_a_response_not_a_failure():
    with serve(demo_upstream) as url:
        up = HttpUpstream()
        assert up.send(req(f"{url}/status/503")).status == 503
        ok = up.send(req(f"{url}/echo", method="POST", body=b"hi"))
        assert ok.status == 200 and b'"body": "hi"' in ok.body
        up.close()


def test_a_silent_upstream_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # and never answer
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        port = listener.getsockname()[1]
        with pytest.raises(UpstreamTimeout):
            HttpUpstream().send(req(f"http://127.0.0.1:{port}/", timeout=0.2))
    finally:
        stop.set()
        t.join()
        for c in accepted:
            c.close()
        listener.close()


def test_a_refused_connection_is_a_failure_after_the_retries():
    port = free_port()
    with pytest.raises(UpstreamFailure):
        HttpUpstream().send(req(f"http://127.0.0.1:{port}/", retries=2))


def test_the_deadline_bounds_every_attempt_and_the_retries_together():
    """60 s per attempt and 5 retries against a silent upstream: the deadline, 0.3 s away,
    ends it (issue 10 item 4) — the adapter never runs past its caller's budget."""
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        port = listener.getsockname()[1]  # the backlog accepts; nobody ever answers
        deadline = time.monotonic() + 0.3
        request = UpstreamRequest("GET", f"http://127.0.0.1:{port}/", (), b"", 60.0, 5, deadline)
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            HttpUpstream().send(request)
        assert time.monotonic() - started < 1.5
        late = UpstreamRequest("GET", f"http://127.0.0.1:{port}/", (), b"", 60.0, 5,
                               time.monotonic() - 0.01)
        with pytest.raises(UpstreamTimeout, match="budget"):
            HttpUpstream().send(late)
    finally:
        listener.close()
