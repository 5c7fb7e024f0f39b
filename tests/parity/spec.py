"""The vocabulary of the parity suite: what a scenario says, what a door sees and returns.

A scenario is a list of steps run against a fresh world on each front door:

- :class:`Request` — one HTTP request, as a client would put it on the wire (method, raw
  path, raw query, header pairs in order with repeats, body bytes) and the status it must
  get. Header values may be :class:`Key` or :class:`Bearer` references, resolved against
  the door's world (every world issues its own key material).
- :class:`Advance` — move the world's injected clock (no test sleeps).
- :class:`Fault` — make the door's store fail ("limiter": the rate/quota update;
  "lookup": reads of keys, consumers, subscriptions) from now on; ``Fault()`` heals it.

A door turns a resolved :class:`Wire` request into an :class:`Observed` response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Key:
    """The plaintext of the world's key ``name`` (see ``world.KEYS``)."""

    name: str


@dataclass(frozen=True)
class Bearer:
    """``Bearer <JWT>`` from the world's HS256 issuer. ``sub``: the consumer claim;
    ``scope``: the space-separated scope claim (omitted when None); ``exp_in``: seconds
    from the world's clock to expiry; ``secret``: sign with another secret (forged)."""

    sub: str = "con_a"
    scope: str | None = None
    exp_in: int = 3600
    secret: str | None = None


HeaderValue = str | bytes | Key | Bearer


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/demo/v2/echo/hi"  # raw, as on the request line (percent-encoding kept)
    query: str = ""  # raw, without "?"
    headers: tuple[tuple[str, HeaderValue], ...] = ()  # in order, repeats kept
    body: bytes = b""
    expect: int = 200
    #: Lower-case header name -> the NORMALISED value the response must carry on every door
    #: (``None``: must be absent).
    expect_headers: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Advance:
    seconds: float


@dataclass(frozen=True)
class Fault:
    ops: frozenset[str] = frozenset()  # {"limiter"} / {"lookup"}; empty heals

    @classmethod
    def of(cls, *ops: str) -> Fault:
        return cls(frozenset(ops))


Step = Request | Advance | Fault


@dataclass(frozen=True)
class Scenario:
    id: str
    steps: tuple[Step, ...]
    doc: str = ""
    #: Called on every door with the door's run (``Run``): assertions about what the
    #: upstream received, or about raw (un-normalised) values.
    check: Callable[[Any], None] | None = None

    @property
    def requests(self) -> list[Request]:
        return [s for s in self.steps if isinstance(s, Request)]


@dataclass(frozen=True)
class Wire:
    """A resolved request: what the client puts on the wire."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, bytes], ...]
    body: bytes

    @property
    def client_request_id(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "x-request-id":
                return value.decode("latin-1")
        return None


@dataclass(frozen=True)
class Observed:
    """A response as the client sees it: header names lower-cased, one pair per line the
    client receives (so AWS's comma-joined repeats are one pair), body decoded from any
    transport encoding (AWS's base64)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def get_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def get(self, name: str) -> str | None:
        values = self.get_all(name)
        return values[0] if values else None
