"""Forward to upstreams from an asyncio event loop while the gateway pipeline stays
synchronous (issue 11: the local front door's speed).

``Gateway.handle`` is one synchronous pipeline on every front door. The local front door
runs it on the event loop inside a greenlet (:func:`run_bridged`); when the pipeline
reaches ``upstream.send``, :class:`LoopUpstream` hands the HTTP exchange to the loop
(:func:`await_only` switches back to the coroutine, which awaits it) and resumes the
pipeline with the answer. No thread hop per request, no pipeline fork: the same
``handle`` runs, only the I/O under the port is asynchronous. Called outside a bridged
greenlet (a worker thread, another front door), ``send`` uses the synchronous fallback
(``HttpUpstream``), so the port's contract holds for every caller.

The client is HTTP/1.1 with keep-alive connections per origin, the C parser ``httptools``
(shipped with ``uvicorn[standard]``) for responses, and the same rules as
``HttpUpstream``: per-attempt timeouts cut to the ``deadline``, no attempt once it has
passed, retries only for idempotent methods and only when no response was received,
any status (5xx included) a response, compressed bodies passed through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import greenlet
import httptools

from shared.adapters.attempts import IDEMPOTENT, attempt_timeout, attempts_of
from shared.ports import (
    Upstream,
    UpstreamFailure,
    UpstreamRequest,
    UpstreamResponse,
    UpstreamTimeout,
)

T = TypeVar("T")

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # Content-Length even when empty
_MAX_IDLE = 64  # idle keep-alive connections kept per origin


# --- the bridge: synchronous code on the loop, awaiting through greenlets -----------------


class _Bridged(greenlet.greenlet):  # type: ignore[misc]
    """A greenlet running synchronous code on behalf of a coroutine (:func:`run_bridged`)."""


def bridged() -> bool:
    """True inside :func:`run_bridged`: :func:`await_only` may be called."""
    return isinstance(greenlet.getcurrent(), _Bridged)


def await_only(awaitable: Awaitable[T]) -> T:
    """From synchronous code run by :func:`run_bridged`: wait for ``awaitable`` on the
    event loop (other requests proceed meanwhile) and return its result."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Bridged):
        close = getattr(awaitable, "close", None)
        if close is not None:  # a coroutine nobody will await: no "never awaited" warning
            close()
        raise RuntimeError("await_only() outside run_bridged()")
    result: T = current.parent.switch(awaitable)
    return result


class _Done:
    """What a worker greenlet hands back when its call has ended."""

    __slots__ = ("ok", "value")

    def __init__(self, ok: bool, value: Any) -> None:
        self.ok, self.value = ok, value


def _work(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """A worker greenlet's life: run a call, hand back its outcome, wait for the next.
    Kept in a pool: creating a greenlet and entering it costs ~13 µs, switching ~1.5 µs."""
    while True:
        try:
            done = _Done(True, fn(*args))
        except greenlet.GreenletExit:
            raise  # collected while suspended: let it end
        except BaseException as exc:  # handed to the coroutine, cancellation included
            done = _Done(False, exc)
        del fn, args
        fn, args = greenlet.getcurrent().parent.switch(done)


_pool = threading.local()  # idle worker greenlets, per thread (a greenlet stays on its thread)
_MAX_POOLED = 256


async def run_bridged(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` on this event loop's thread; whatever it passes to
    :func:`await_only` is awaited here. Exceptions (cancellation included) travel both
    ways."""
    idle: list[_Bridged] | None = getattr(_pool, "idle", None)
    if idle is None:
        idle = _pool.idle = []
    g = idle.pop() if idle else _Bridged(_work)
    g.parent = greenlet.getcurrent()
    result = g.switch(fn, args)
    while type(result) is not _Done:
        try:
            value = await result
        except BaseException as exc:  # handed to the synchronous side, cancellation too
            result = g.throw(exc)
        else:
            result = g.switch(value)
    if len(idle) < _MAX_POOLED:
        idle.append(g)
    if result.ok:
        out: T = result.value
        return out
    raise result.value


# --- the client -----------------------------------------------------------------------------


class _Closed(Exception):
    """The connection ended before a whole response arrived."""


class _Conn(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, kept alive between them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False  # served an exchange before: a failure may be a stale keep-alive
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._head = False
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._got_bytes = False
        self._headers_done = False
        self.reusable = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._waiter is None or self._waiter.done():
            self._abort()  # bytes nobody asked for: the connection is not trustworthy
            return
        self._got_bytes = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamFailure(f"malformed response: {exc}"))
            self._abort()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        w = self._waiter
        if w is None or w.done():
            return
        if self._headers_done and not self._length_known():  # body delimited by the close
            self._finish(keep=False)
        else:
            self._fail(_Closed(str(exc) if exc else "connection closed by the upstream"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))  # decoded once, when the response is complete

    def _length_known(self) -> bool:
        """The body's end is framed (Content-Length or chunked), not the connection's close."""
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return True
        return False

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            return  # interim response: its message completes with no body
        self._headers_done = True
        if self._head:  # no body follows, whatever Content-Length says
            self._finish(keep=False)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self._parser is not None
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # 100 Continue and friends: the real answer follows
            self._headers, self._body = [], []
            return
        self._finish(keep=self._parser.should_keep_alive())

    # exchanges
    def _finish(self, keep: bool) -> None:
        w = self._waiter
        if w is None or w.done():
            return
        assert self._parser is not None
        self.reusable = keep and not self.closed and not self._head
        w.set_result(
            UpstreamResponse(
                self._parser.get_status_code(),
                tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._headers]),
                b"".join(self._body),
            )
        )

    def _fail(self, exc: Exception) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(exc)

    def _abort(self) -> None:
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def exchange(self, data: bytes, head: bool) -> asyncio.Future[UpstreamResponse]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._parser = httptools.HttpResponseParser(self)
        self._head = head
        self._headers, self._body = [], []
        self._got_bytes = self._headers_done = False
        self.reusable = False
        self.transport.write(data)
        return self._waiter

    @property
    def answered(self) -> bool:
        """Some response bytes arrived in the current exchange."""
        return self._got_bytes

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


_Origin = tuple[str, str, int]  # scheme, host, port


def _expire(fut: asyncio.Future[UpstreamResponse]) -> None:
    if not fut.done():
        fut.set_exception(TimeoutError())


def _origin(base: str) -> tuple[_Origin, str]:
    """(origin, Host header) of ``scheme://authority``."""
    scheme, sep, authority = base.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise UpstreamFailure(f"not an http(s) URL: {base!r}")
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):  # IPv6 literal
        end = hostport.find("]")
        host, port_text = hostport[1:end], hostport[end + 2:]
    else:
        host, _, port_text = hostport.partition(":")
    default = 443 if scheme == "https" else 80
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        raise UpstreamFailure(f"bad port in {base!r}") from None
    if not host:
        raise UpstreamFailure(f"no host in {base!r}")
    host_header = hostport if port != default else (f"[{host}]" if ":" in host else host)
    return (scheme, host.lower(), port), host_header


_ORIGINS: dict[str, tuple[_Origin, str]] = {}  # scheme://authority -> parsed; few distinct


def _split(url: str) -> tuple[_Origin, str, str]:
    """(origin, Host header, request target) of an absolute http(s) URL."""
    start = url.find("://")
    cut = len(url)
    if start != -1:
        for ch in "/?#":
            i = url.find(ch, start + 3)
            if i != -1 and i < cut:
                cut = i
    base, target = url[:cut], url[cut:]
    known = _ORIGINS.get(base)
    if known is None:
        known = _origin(base)
        if len(_ORIGINS) < 1024:
            _ORIGINS[base] = known
    if "#" in target:
        target = target.split("#", 1)[0]
    if not target.startswith("/"):
        target = "/" + target
    if not (target.isascii() and target.isprintable()) or " " in target:
        # What urllib3 sends for it (percent-encoding what may not go on the wire as is).
        from urllib3.util import parse_url

        target = parse_url(url).request_uri
    return known[0], known[1], target


def _encode(method: str, target: str, host: str, headers: tuple[tuple[str, str], ...],
            body: bytes) -> bytes:
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers])
    # A CR or LF inside a name or value would start a header line of its own.
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise UpstreamFailure("a header holds a line break: not sent")
    length = f"Content-Length: {len(body)}\r\n" if body or method in _BODY_METHODS else ""
    try:
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{lines}{length}\r\n".encode(
            "latin-1"
        )
    except UnicodeEncodeError:
        raise UpstreamFailure("a header cannot be sent as latin-1") from None
    return head + body if body else head


class AsyncHttpClient:
    """Keep-alive connections per origin on the running event loop."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._idle: dict[_Origin, list[_Conn]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the idle ones belong to
        self._ssl = ssl_context

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def _connect(self, origin: _Origin) -> _Conn:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls = self._ssl_context() if scheme == "https" else None
        try:
            _, conn = await loop.create_connection(
                _Conn, host, port, ssl=tls, server_hostname=host if tls else None
            )
        except (OSError, ValueError) as exc:  # refused, unreachable, DNS, TLS handshake
            raise UpstreamFailure(f"cannot connect to {host}:{port}: {exc}") from exc
        return conn

    def _take(self, origin: _Origin) -> _Conn | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle, self._loop = {}, loop
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    def _give_back(self, origin: _Origin, conn: _Conn) -> None:
        if conn.reusable and not conn.closed:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < _MAX_IDLE:
                conn.used = True
                idle.append(conn)
                return
        conn.close()

    async def _attempt(self, origin: _Origin, data: bytes, head: bool, replay_stale: bool,
                       timeout: float) -> UpstreamResponse:
        """One attempt, ended by ``timeout`` seconds (TimeoutError)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        conn = self._take(origin)
        while True:
            fresh = conn is None
            if conn is None:
                async with asyncio.timeout_at(end):
                    conn = await self._connect(origin)
            fut = conn.exchange(data, head)
            timer = loop.call_at(end, _expire, fut)
            try:
                resp = await fut
            except _Closed as exc:
                conn.close()
                # A kept-alive connection the upstream closed meanwhile, before answering:
                # an idempotent request goes again on a new connection (not a retry).
                if not fresh and replay_stale and not conn.answered:
                    conn = None
                    continue
                raise UpstreamFailure(str(exc)) from exc
            except BaseException:
                conn.close()  # a timeout or cancellation mid-exchange: never reused
                raise
            finally:
                timer.cancel()
            self._give_back(origin, conn)
            return resp

    async def send(self, request: UpstreamRequest) -> UpstreamResponse:
        origin, host, target = _split(request.url)
        method = request.method
        data = _encode(method, target, host, request.headers, request.body)
        idempotent = method in IDEMPOTENT
        attempts = attempts_of(request)
        for attempt in range(attempts):
            timeout = attempt_timeout(request)
            try:
                return await self._attempt(origin, data, method == "HEAD", idempotent, timeout)
            except TimeoutError as exc:
                if attempt + 1 == attempts:
                    raise UpstreamTimeout(f"no answer within {timeout:.3g}s") from exc
            except UpstreamFailure:
                if attempt + 1 == attempts:
                    raise
        raise UpstreamFailure("no attempt made")

    def close(self) -> None:
        """Close the idle connections, from any thread: on their loop's thread (at once
        when called there, else handed to that loop while it runs)."""
        idle, self._idle = self._idle, {}
        conns = [conn for group in idle.values() for conn in group]
        loop = self._loop
        if not conns or loop is None or loop.is_closed():
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop or not loop.is_running():
            for conn in conns:
                conn.close()
            return

        async def close_all() -> None:
            for conn in conns:
                conn.close()

        with contextlib.suppress(TimeoutError, RuntimeError):  # the loop stopped meanwhile
            asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)


class LoopUpstream:
    """The Upstream port for a front door that runs ``Gateway.handle`` with
    :func:`run_bridged`: the exchange runs on the event loop; elsewhere ``fallback``."""

    def __init__(self, fallback: Upstream | None = None,
                 client: AsyncHttpClient | None = None) -> None:
        if fallback is None:
            from shared.adapters.http_upstream import HttpUpstream

            fallback = HttpUpstream()
        self.fallback = fallback
        self.client = client or AsyncHttpClient()

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        if isinstance(greenlet.getcurrent(), _Bridged):
            return await_only(self.client.send(request))
        return self.fallback.send(request)

    def close(self) -> None:
        self.client.close()
        close = getattr(self.fallback, "close", None)
        if close is not None:
            close()
