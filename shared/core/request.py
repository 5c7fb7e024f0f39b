"""The cloud-neutral request and response, and the checks every inbound request passes.

Each front door (API Gateway event, Azure HttpRequest, the local ASGI server) translates
into a :class:`GatewayRequest`; the gateway answers with a :class:`GatewayResponse`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from os import urandom

from shared.core.outcomes import Outcome

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024
# \Z, not $: "$" also matches before a final newline, which would let "v\n" through.
_PRINTABLE = re.compile(r"[\x20-\x7e\t]*\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}\Z")

#: Hop-by-hop headers (RFC 9110 7.6.1) never cross the gateway in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # names lower-cased, duplicates kept
    body: bytes = b""
    source_ip: str = ""
    request_id: str = ""  # set only by a front door whose platform issues one (AWS)
    # time.monotonic() by which the answer must be out (AWS: the invocation's remaining
    # time minus a margin); forwarding clamps each attempt and the retries to it.
    deadline: float | None = None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


class Headers:
    """Response header pairs in order, repeats kept (several ``Set-Cookie``, ``Vary``).

    ``h[name] = v`` replaces every value of ``name`` (case-insensitive); ``add`` appends
    one more; ``items()`` yields every pair. Each front door renders repeats its own way
    (AWS: ``cookies`` + comma-joined repeats; Azure and ASGI: one line each).
    """

    __slots__ = ("_low", "_pairs")

    def __init__(self, pairs: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        items = pairs.items() if isinstance(pairs, Mapping) else pairs
        self._pairs: list[tuple[str, str]] = [(str(k), str(v)) for k, v in items]
        # each pair's name lower-cased once: lookups and replacements compare these
        self._low: list[str] = [k.lower() for k, _ in self._pairs]

    def __setitem__(self, name: str, value: str) -> None:
        low = name.lower()
        if low in self._low:  # replace every value of it (the rare case)
            self._drop(low)
        self._pairs.append((name, value))
        self._low.append(low)

    def _drop(self, low: str) -> None:
        keep = [i for i, n in enumerate(self._low) if n != low]
        self._pairs = [self._pairs[i] for i in keep]
        self._low = [self._low[i] for i in keep]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._low

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._pairs))

    def __len__(self) -> int:
        return len(self._pairs)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._pairs == other._pairs
        if isinstance(other, Mapping):
            return self._pairs == [(str(k), str(v)) for k, v in other.items()]
        return NotImplemented

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"

    def get(self, name: str, default: str | None = None) -> str | None:
        try:
            return self._pairs[self._low.index(name.lower())][1]
        except ValueError:
            return default

    def get_all(self, name: str) -> list[str]:
        low = name.lower()
        return [p[1] for n, p in zip(self._low, self._pairs, strict=True) if n == low]

    def add(self, name: str, value: str) -> None:
        self._pairs.append((name, value))
        self._low.append(name.lower())

    def update(self, other: Mapping[str, str] | Headers) -> None:
        for k in other:
            self[k] = other[k]

    def pop(self, name: str, default: str | None = None) -> str | None:
        found = self.get(name, default)
        low = name.lower()
        if low in self._low:
            self._drop(low)
        return found

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def pairs_except(self, lowered: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """Every pair whose lower-cased name is not in ``lowered``."""
        pairs = zip(self._pairs, self._low, strict=True)
        return tuple([p for p, low in pairs if low not in lowered])


@dataclass(slots=True)
class GatewayResponse:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            self.headers = Headers(self.headers)


#: Header names and methods already seen to be tokens (bounded): most requests carry the
#: same few, so the regular expression runs once per name, not once per request.
_SEEN_TOKENS: set[str] = set()


#: Methods already seen to be tokens of at most 16 characters (bounded, like _SEEN_TOKENS).
_SEEN_METHODS: set[str] = set()


def _method(method: str) -> bool:
    if len(method) > 16 or not _TOKEN.match(method):
        return False
    if len(_SEEN_METHODS) < 64:
        _SEEN_METHODS.add(method)
    return True


def _token(name: str) -> bool:
    if name in _SEEN_TOKENS:
        return True
    if not _TOKEN.match(name):
        return False
    if len(_SEEN_TOKENS) < 1024:
        _SEEN_TOKENS.add(name)
    return True


def _printable(value: str) -> bool:
    # str.isprintable() on ASCII is exactly 0x20-0x7e; the expression also allows tabs.
    return (value.isascii() and value.isprintable()) or _PRINTABLE.match(value) is not None


def validate(req: GatewayRequest, max_body: int = MAX_BODY_BYTES) -> Outcome:
    """Reject what no upstream should see. Returns ``Outcome.OK`` or the 4xx outcome."""
    return screen(req, max_body)[0]


def screen(
    req: GatewayRequest, max_body: int = MAX_BODY_BYTES
) -> tuple[Outcome, str | None, str | None]:
    """:func:`validate`, and in the same pass over the headers what the gateway reads from
    them on every request: ``(outcome, lone_key, given_id)``. ``lone_key`` is the
    ``X-Api-Key`` value when it is the request's only credential header (no other
    ``X-Api-Key``, no ``Authorization``), else None; ``given_id`` the first
    ``X-Request-Id`` value when well-formed (:func:`correlation_id`), else None. Both are
    None unless ``outcome`` is ``Outcome.OK``. (The helpers ``_token`` and ``_printable``
    are written out here: this runs on every request.)"""
    method, path, query = req.method, req.path, req.query
    if method not in _SEEN_METHODS and not _method(method):
        return Outcome.BAD_REQUEST, None, None
    if not path.startswith("/"):
        return Outcome.BAD_REQUEST, None, None
    target = path + query if query else path
    if not (target.isascii() and target.isprintable()) and not _PRINTABLE.match(target):
        return Outcome.BAD_REQUEST, None, None
    if "." in path:  # dot segments (most paths have no dot at all)
        segments = path.split("/")
        if ".." in segments or "." in segments:
            return Outcome.BAD_REQUEST, None, None
    if "\\" in path:
        return Outcome.BAD_REQUEST, None, None
    headers = req.headers
    size = 4 * len(headers)  # ": " and CRLF per header
    key: str | None = None
    given: str | None = None
    credentials = 0
    for name, value in headers:
        size += len(name) + len(value)
        if name not in _SEEN_TOKENS and not _token(name):
            return Outcome.BAD_REQUEST, None, None
        if not (value.isascii() and value.isprintable()) and not _PRINTABLE.match(value):
            return Outcome.BAD_REQUEST, None, None
        if name == "x-api-key":
            key, credentials = value, credentials + 1
        elif name == "authorization":
            credentials += 1
        elif name == "x-request-id" and given is None:
            given = value
    if size > MAX_HEADER_BYTES:
        return Outcome.HEADERS_TOO_LARGE, None, None
    if req.body and len(req.body) > max_body:
        return Outcome.BODY_TOO_LARGE, None, None
    return (
        Outcome.OK,
        key if credentials == 1 else None,
        given if given is not None and _REQUEST_ID.match(given) else None,
    )


class _Ids:
    """Fresh request ids: 32 hex digits, a random per-process prefix (64 bits, drawn again
    in a forked child) and a counter from a random 32-bit start (so it never reaches 16
    hex digits' 2**64). Unique without a system call per request; they need not be secret
    (the caller never chooses them, which is what metering relies on). ``ids`` formats in
    C: a ``map`` over an ``itertools.count``, which threads may share (no Python code runs
    between reading the counter and formatting it)."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        fmt = urandom(8).hex() + "%016x"
        self.ids: Iterator[str] = map(fmt.__mod__, itertools.count(int.from_bytes(urandom(4))))


_IDS = _Ids()


def new_request_id() -> str:
    """A fresh request id (see ``_Ids``)."""
    return next(_IDS.ids)


def request_id(req: GatewayRequest) -> str:
    """The gateway's own id for this request: the platform's when the front door has one,
    else a fresh one. Never the caller's: metering deduplicates by it, so a caller who could
    choose it could have many requests billed as one."""
    return req.request_id or next(_IDS.ids)


def correlation_id(req: GatewayRequest, own: str) -> str:
    """The caller's ``X-Request-Id`` when well-formed (propagated upstream and echoed back,
    for the caller's tracing), else the gateway's own id."""
    given = req.header("x-request-id")
    if given is not None and _REQUEST_ID.match(given):
        return given
    return own
