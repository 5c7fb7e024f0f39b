"""The security suite's world: a management app whose every response is recorded, and
two developers, A and B, each with keys, subscriptions and usage.

Every test here ends with a leak check: no recorded response (body or headers) and no
log line contains a key's plaintext, except the one response that created it (exactly
once there), nor any key's SHA-256 hash, nor the developers' password.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from shared.core.models import UsageEvent
from shared.metering.aggregate import record
from tests.functional.api.harness import PASSWORD, Dev, Harness, harness


@dataclass
class Seen:
    method: str
    url: str
    status: int
    text: str  # headers and body


@dataclass
class Recorder:
    seen: list[Seen] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.seen.append(Seen(response.request.method, str(response.request.url),
                              response.status_code, f"{headers}\n\n{response.text}"))


def issued_plaintexts(seen: list[Seen]) -> dict[str, int]:
    """Plaintext keys handed out, by the index of the response that handed them out."""
    import json

    out: dict[str, int] = {}
    for i, s in enumerate(seen):
        body = s.text.split("\n\n", 1)[1]
        try:
            doc = json.loads(body)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("key"), str):
            out[doc["key"]] = i
    return out


def stored_hashes(h: Harness) -> set[str]:
    return {pk.split("#", 1)[1] for pk, _ in h.store._items if pk.startswith("KEYHASH#")}


def leaks(seen: list[Seen], logs: str, hashes: set[str]) -> list[str]:
    """Every place key material shows up where it must not."""
    found = []
    plaintexts = issued_plaintexts(seen)
    hashes = hashes | {hashlib.sha256(p.encode()).hexdigest() for p in plaintexts}
    for i, s in enumerate(seen):
        for plain, origin in plaintexts.items():
            allowed = 1 if i == origin else 0
            if s.text.count(plain) != allowed:
                found.append(f"plaintext key in response {i} ({s.method} {s.url} {s.status})")
        found += [f"key hash in response {i} ({s.method} {s.url})" for x in hashes if x in s.text]
    found += ["plaintext key in logs" for p in plaintexts if p in logs]
    found += ["key hash in logs" for x in hashes if x in logs]
    return found


def server_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every log line but the test client's own (httpx logs the URLs it requests)."""
    client = ("httpx", "httpcore")
    return "\n".join(caplog.handler.format(r) for r in caplog.records
                     if not r.name.startswith(client))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def sec(recorder: Recorder, caplog: pytest.LogCaptureFixture) -> Iterator[Harness]:
    caplog.set_level(logging.DEBUG)
    with harness({"response": [recorder]}) as h:
        yield h
        logs = server_logs(caplog)
        found = leaks(recorder.seen, logs, stored_hashes(h))
        found += [f"password in response {i}" for i, s in enumerate(recorder.seen)
                  if PASSWORD in s.text]
        found += ["password in logs"] if PASSWORD in logs else []
    assert not found, found


@dataclass
class Party:
    dev: Dev
    key_id: str
    rotated_key_id: str
    subscription_id: str
    pending_subscription_id: str
    requests: int

    @property
    def ids(self) -> dict[str, str]:
        """Path parameter name -> one of this party's ids of that kind."""
        return {"key_id": self.key_id, "subscription_id": self.subscription_id}

    @property
    def identifiers(self) -> set[str]:
        return {self.dev.account_id, self.dev.consumer_id, self.dev.email, self.key_id,
                self.rotated_key_id, self.subscription_id, self.pending_subscription_id}


def make_party(h: Harness, plan_id: str, approval_plan_id: str, requests: int) -> Party:
    dev = h.signup()
    key = h.create_key(dev, "main")
    old = h.create_key(dev, "old")
    h.ok("POST", f"/v1/me/keys/{old['id']}/rotate", headers=dev.headers, status=201)
    sub = h.subscribe(dev, plan_id)
    pending = h.subscribe(dev, approval_plan_id)
    for n in range(requests):
        record(h.store, UsageEvent(f"{dev.consumer_id}-{n}", h.clock.now(), dev.consumer_id,
                                   key["id"], "api_demo", "/*", "GET", 200, 1, 1, 1.0))
    return Party(dev, key["id"], old["id"], sub["id"], pending["id"], requests)


@dataclass
class Pair:
    a: Party
    b: Party
    plan_id: str
    h: Harness | None = None  # for bodies that need a mailed token


@pytest.fixture
def pair(sec: Harness) -> Pair:
    world = sec.world()
    approval = sec.create_plan("Partner", requires_approval=True)
    a = make_party(sec, world["plan"]["id"], approval["id"], 2)
    b = make_party(sec, world["plan"]["id"], approval["id"], 3)
    return Pair(a, b, world["plan"]["id"], sec)


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), p, op) for p, ops in doc["paths"].items() for m, op in ops.items()]
