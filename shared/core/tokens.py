"""JWT bearer tokens: algorithms pinned per issuer; ``iss``, ``aud`` and ``exp`` required.

The issuer is read from the unverified payload only to choose *which* keys and algorithms
apply; the token is then verified with exactly those. ``alg: none`` and algorithm confusion
(an HS256 token signed with an RSA public key) fail because each issuer names its
algorithms. Expiry is checked against the injected clock with a small leeway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

#: Resolve the verification key for a ``kid`` (None when the header has none).
KeyResolver = Callable[[str | None], Any]


@dataclass(frozen=True, slots=True)
class Issuer:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    key_for: KeyResolver
    leeway_seconds: int = 30
    consumer_claim: str = "sub"  # the claim holding the Tollway consumer id


@dataclass(frozen=True, slots=True)
class TokenResult:
    ok: bool
    consumer_id: str = ""
    scopes: tuple[str, ...] = ()
    reason: str = ""


MAX_TOKEN_LEN = 8192


def _fail(reason: str) -> TokenResult:
    return TokenResult(ok=False, reason=reason)


def verify(token: str, issuers: Mapping[str, Issuer], now: float) -> TokenResult:
    """Verify ``token`` against the pinned issuer configuration. Never raises."""
    if not token or len(token) > MAX_TOKEN_LEN or token.count(".") != 2:
        return _fail("malformed")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _fail("malformed")
    iss = unverified.get("iss")
    issuer = issuers.get(iss) if isinstance(iss, str) else None
    if issuer is None:
        return _fail("unknown issuer")
    alg = header.get("alg")
    if alg not in issuer.algorithms:
        return _fail("algorithm not allowed")
    try:
        key = issuer.key_for(header.get("kid"))
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(issuer.algorithms),
            audience=issuer.audience,
            issuer=issuer.issuer,
            options={
                "require": ["exp", "iss", "aud"],
                "verify_exp": False,  # checked below against the injected clock
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return _fail("invalid")
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or now > exp + issuer.leeway_seconds:
        return _fail("expired")
    if isinstance(nbf, int | float) and now + issuer.leeway_seconds < nbf:
        return _fail("not yet valid")
    consumer = claims.get(issuer.consumer_claim)
    if not isinstance(consumer, str) or not consumer:
        return _fail("no consumer claim")
    scope = claims.get("scope", "")
    scopes = tuple(scope.split()) if isinstance(scope, str) else ()
    return TokenResult(ok=True, consumer_id=consumer, scopes=scopes)
