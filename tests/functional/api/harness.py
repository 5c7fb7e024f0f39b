"""A management app over a memory store and a manual clock, with a client and helpers
for the steps most tests need (sign up, create an API, a plan, a key). Also used by
tests/security and tests/functional/test_schemathesis.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from argon2 import PasswordHasher

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from shared.core.outcomes import Outcome
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory
from shared.gateway.service import Gateway
from shared.gateway.throttle import Limiter
from shared.settings import Settings
from tests.support.management_client import management_client

ADMIN_TOKEN = "admin-token-for-tests-" + "x" * 16
SESSION_KEYS = ("session-key-newest-" + "n" * 24, "session-key-older-" + "o" * 24)
PASSWORD = "correct horse battery staple"
PORTAL = "http://localhost:5173"
CACHE_TTL = 5.0
#: Cheap argon2id parameters: tests hash hundreds of passwords.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

_emails = itertools.count(1)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "store": "memory", "admin_token": ADMIN_TOKEN, "session_keys": SESSION_KEYS,
        "cors_origins": (PORTAL,), "max_keys_per_consumer": 5, "cache_ttl": CACHE_TTL,
    }
    return Settings(**{**base, **overrides})


@dataclass
class Dev:
    email: str
    token: str
    account_id: str
    consumer_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Harness:
    client: httpx.Client
    store: MemoryStore
    clock: ManualClock
    settings: Settings
    app: Any
    gateway: Gateway = field(init=False)

    def __post_init__(self) -> None:
        self.gateway = Gateway(Directory(self.store, self.clock, CACHE_TTL),
                               Limiter(self.store, self.clock), self.clock)

    # --- calls ---------------------------------------------------------------------------

    def ok(self, method: str, path: str, *, status: int = 200, **kw: Any) -> Any:
        resp = self.client.request(method, path, **kw)
        assert resp.status_code == status, (resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def admin(self, method: str, path: str, *, status: int = 200, **kw: Any) -> Any:
        return self.ok(method, path, status=status, headers=ADMIN, **kw)

    def signup(self, email: str | None = None, name: str | None = None) -> Dev:
        email = email or f"dev{next(_emails)}@example.com"
        body: dict[str, Any] = {"email": email, "password": PASSWORD}
        if name:
            body["name"] = name
        s = self.ok("POST", "/v1/auth/signup", json=body, status=201)
        return Dev(email, s["access_token"], s["account_id"], s["consumer_id"])

    def create_api(self, name: str = "demo", version: str = "v1", **kw: Any) -> dict[str, Any]:
        body = {"name": name, "version": version, "base_path": f"/{name}/{version}",
                "upstreams": [{"url": "http://upstream.test"}], **kw}
        return dict(self.admin("POST", "/v1/admin/apis", json=body, status=201))

    def publish(self, api_id: str) -> dict[str, Any]:
        return dict(self.admin("POST", f"/v1/admin/apis/{api_id}/lifecycle",
                               json={"state": "published"}))

    def create_plan(self, name: str = "Free", apis: tuple[str, ...] = ("demo",),
                    **kw: Any) -> dict[str, Any]:
        body = {"name": name, "apis": list(apis), **kw}
        return dict(self.admin("POST", "/v1/admin/plans", json=body, status=201))

    def subscribe(self, dev: Dev, plan_id: str) -> dict[str, Any]:
        return dict(self.ok("POST", "/v1/me/subscriptions", json={"plan_id": plan_id},
                            headers=dev.headers, status=201))

    def create_key(self, dev: Dev, name: str = "app") -> dict[str, Any]:
        return dict(self.ok("POST", "/v1/me/keys", json={"name": name}, headers=dev.headers,
                            status=201))

    def world(self) -> dict[str, Any]:
        """A published API 'demo' v1 and a plan granting it."""
        api = self.create_api()
        self.publish(api["id"])
        return {"api": api, "plan": self.create_plan()}

    # --- the gateway's view --------------------------------------------------------------

    def through_gateway(self, key: str, path: str = "/demo/v1/anything") -> int:
        """The status the gateway's decision maps to (200 when it would forward)."""
        verdict = self.gateway.decide(GatewayRequest("GET", path, "", (("x-api-key", key),)))
        return 200 if verdict.outcome is Outcome.OK else Gateway.render(verdict).status

    def after_cache_ttl(self) -> None:
        self.clock.advance(CACHE_TTL + 0.1)


@contextmanager
def harness(event_hooks: dict[str, list[Any]] | None = None, *,
            raise_app_exceptions: bool = True, **overrides: Any) -> Iterator[Harness]:
    clock = ManualClock()
    store = MemoryStore(clock)
    conf = settings(**overrides)
    app = create_app(store=store, clock=clock, settings=conf, password_hasher=CHEAP_HASHER)
    with ExitStack() as stack:
        client = stack.enter_context(management_client(
            app, event_hooks=event_hooks, raise_app_exceptions=raise_app_exceptions))
        yield Harness(client, store, clock, conf, app)
