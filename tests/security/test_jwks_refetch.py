"""Issue 9: the JWKS client refetches on every unknown ``kid``.

A fake JWKS server on 127.0.0.1 counts fetches. 100 tokens with made-up kids cost at most
one fetch per refresh interval; a repeated unknown kid is answered from the negative
cache; a rotated-in key is found once the interval has passed; a known kid works.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.adapters.jwks import JwksKeys, pyjwt_fetch
from shared.core.tokens import Issuer, verify
from shared.settings import JwtIssuerConfig
from shared.wiring import _issuer
from tests.servers import serve

NOW = 1_767_225_600


class FakeIdp:
    def __init__(self) -> None:
        self.keys = {"k1": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
        self.fetches = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        self.fetches += 1
        doc = {"keys": [{**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid,
                         "use": "sig", "alg": "RS256"} for kid, k in self.keys.items()]}
        body = json.dumps(doc).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    def token(self, kid: str, key_kid: str = "k1") -> str:
        claims = {"iss": "https://idp", "aud": "tollway", "sub": "con_1", "exp": NOW + 60}
        return jwt.encode(claims, self.keys[key_kid], algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def idp() -> Iterator[tuple[FakeIdp, str]]:
    fake = FakeIdp()
    with serve(fake) as url:
        yield fake, f"{url}/.well-known/jwks.json"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def issuers(keys: JwksKeys) -> dict[str, Issuer]:
    return {"https://idp": Issuer("https://idp", "tollway", ("RS256",), keys)}


def test_100_unknown_kids_cost_at_most_one_fetch_per_interval(idp):
    fake, url = idp
    clock = Clock()
    keys = JwksKeys(pyjwt_fetch(url), min_refresh=60, monotonic=clock)

    results = [verify(fake.token(f"forged-{secrets.token_hex(4)}"), issuers(keys), NOW)
               for _ in range(100)]

    assert not any(r.ok for r in results)
    assert fake.fetches == 1
    assert verify(fake.token("k1"), issuers(keys), NOW).ok  # known kid: no fetch
    assert fake.fetches == 1


def test_a_rotated_in_key_is_found_after_the_interval_and_unknown_kids_are_remembered(idp):
    fake, url = idp
    clock = Clock()
    keys = JwksKeys(pyjwt_fetch(url), min_refresh=60, negative_ttl=600, monotonic=clock)
    assert verify(fake.token("k1"), issuers(keys), NOW).ok
    fake.keys["k2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    assert not verify(fake.token("k2", "k2"), issuers(keys), NOW).ok  # within the interval
    clock.t += 61
    assert verify(fake.token("k2", "k2"), issuers(keys), NOW).ok  # one refetch finds it
    assert fake.fetches == 2

    for _ in range(50):
        assert not verify(fake.token("never"), issuers(keys), NOW).ok
        clock.t += 2  # 100 s in all: past the interval, but "never" is negatively cached
    assert fake.fetches == 3  # one attempt for "never", then the negative cache


def test_wiring_builds_jwks_issuers_with_the_floor(idp):
    fake, url = idp
    issuer = _issuer(JwtIssuerConfig("https://idp", "tollway", ("RS256",), jwks_url=url))
    for _ in range(100):
        assert not verify(fake.token(secrets.token_hex(8)), {"https://idp": issuer}, NOW).ok
    assert verify(fake.token("k1"), {"https://idp": issuer}, NOW).ok
    assert fake.fetches == 1


def test_a_failed_fetch_keeps_the_last_good_set_and_waits_for_the_interval():
    clock = Clock()
    calls = []

    def fetch():
        calls.append(clock.t)
        if len(calls) > 1:
            raise OSError("idp down")
        return {"k1": "key-one"}

    keys = JwksKeys(fetch, min_refresh=60, lifespan=100, monotonic=clock)
    assert keys("k1") == "key-one"
    clock.t += 101  # stale: one refresh attempt, which fails
    assert keys("k1") == "key-one"
    for _ in range(20):
        with pytest.raises(KeyError):
            keys(secrets.token_hex(4))
    assert len(calls) == 2
