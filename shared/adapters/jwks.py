"""Verification keys from an issuer's JWKS URL, with a floor on how often it is fetched.

A token names its key (``kid``); an unknown ``kid`` usually means the issuer rotated, so
the set is fetched again. Without a floor, anyone can send tokens with made-up kids and
make every gateway instance fetch the issuer's JWKS once per request: an amplifier against
the identity provider and a latency hit on us. So:

* the set is refetched at most once per ``min_refresh`` seconds (default 60), whatever the
  tokens say; an unknown kid inside that window fails at once;
* a kid still absent from a set fetched after it was first seen is remembered (negative
  cache, ``negative_ttl``, bounded), so repeating it never triggers another fetch;
* a known set is refreshed after ``lifespan`` seconds (default 300) on the next lookup;
  a failed fetch keeps the last good set.

Recent PyJWT releases add a similar cooldown to ``PyJWKClient``; keeping our own makes the bound a
property of Tollway, whichever PyJWT is installed, and lets tests drive it with a clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

Fetch = Callable[[], Mapping[str, Any]]  # kid -> verification key


def pyjwt_fetch(url: str, timeout: float = 2.0) -> Fetch:
    """Fetch and parse the JWK set with PyJWT (its own caching off: ours decides)."""
    from jwt import PyJWKClient

    client = PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)

    def fetch() -> Mapping[str, Any]:
        return {k.key_id: k.key for k in client.get_jwk_set().keys if k.key_id}

    return fetch


class JwksKeys:
    def __init__(
        self,
        fetch: Fetch,
        *,
        min_refresh: float = 60.0,
        lifespan: float = 300.0,
        negative_ttl: float = 60.0,
        max_negative: int = 1024,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._now = fetch, monotonic
        self.min_refresh, self.lifespan = min_refresh, lifespan
        self.negative_ttl, self.max_negative = negative_ttl, max_negative
        self._keys: Mapping[str, Any] = {}
        self._fetched_at: float | None = None  # last attempt, successful or not
        self._unknown: dict[str, float] = {}  # kid -> until
        self._lock = threading.Lock()
        self.fetches = 0

    def _may_fetch(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= self.min_refresh

    def _refresh(self, now: float) -> None:
        self._fetched_at = now
        self.fetches += 1
        try:
            self._keys = dict(self._fetch())
        except Exception:  # keep the last good set; the next attempt waits min_refresh
            return
        self._unknown.clear()

    def __call__(self, kid: str | None) -> Any:
        """The key for ``kid``; KeyError when there is none (an invalid token)."""
        if kid is None:
            raise KeyError("JWKS issuers require a kid")
        now = self._now()
        with self._lock:
            stale = self._fetched_at is None or now - self._fetched_at >= self.lifespan
            if stale and self._may_fetch(now):
                self._refresh(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            until = self._unknown.get(kid)
            if until is not None and now < until:
                raise KeyError(kid)
            if not self._may_fetch(now):
                raise KeyError(kid)  # inside the floor: fail fast, remember nothing
            self._refresh(now)
            key = self._keys.get(kid)
            if key is not None:
                return key
            # Absent from a fresh set: not a rotation we have yet to see.
            if len(self._unknown) >= self.max_negative:
                self._unknown.clear()
            self._unknown[kid] = now + self.negative_ttl
            raise KeyError(kid)
