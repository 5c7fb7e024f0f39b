"""JWT bearer tokens: algorithms pinned per issuer; ``iss``, ``aud`` and ``exp`` required.

The issuer is read from the unverified payload only to choose *which* keys and algorithms
apply; the token is then verified with exactly those. ``alg: none`` and algorithm confusion
(an HS256 token signed with an RSA public key) fail because each issuer names its
algorithms. Expiry is checked against the injected clock with a small leeway.

Claims are typed strictly: ``exp`` is required and ``nbf``/``iat`` optional, and each that
is present must be a finite JSON number (NaN, Infinity, 1e400, strings and booleans fail:
a NaN ``exp`` would otherwise never expire). A header with ``crit`` fails: it names
extensions the verifier must understand, and we implement none (RFC 7515 4.1.11).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from shared.core.scopes import scopes_of

if TYPE_CHECKING:
    from jwt.algorithms import Algorithm

#: Resolve the verification key for a ``kid`` (None when the header has none).
KeyResolver = Callable[[str | None], Any]


@cache
def _algorithms() -> dict[str, Algorithm]:
    # PyJWT's algorithms pull in ``cryptography`` (~50 ms): imported on the first JWT, so
    # the API-key path and cold start never pay for it.
    from jwt.algorithms import get_default_algorithms

    return get_default_algorithms()


@dataclass(frozen=True, slots=True)
class Issuer:
    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    key_for: KeyResolver
    leeway_seconds: int = 30
    consumer_claim: str = "sub"
    # Prepared (parsed) verification keys by (alg, kid): parsing a PEM costs more than
    # verifying a signature, so it is done once per key, not once per request.
    _prepared: dict[tuple[str, str | None, int], Any] = field(
        default_factory=dict, compare=False, repr=False
    )

    def verifying_key(self, alg: str, kid: str | None) -> Any:
        raw = self.key_for(kid)
        cache_key = (alg, kid, id(raw))
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            prepared = _algorithms()[alg].prepare_key(raw)
            if len(self._prepared) > 64:
                self._prepared.clear()
            self._prepared[cache_key] = (raw, prepared)  # keep raw alive: id() stays unique
            return prepared
        return prepared[1]


@dataclass(frozen=True, slots=True)
class TokenResult:
    ok: bool
    consumer_id: str = ""
    scopes: frozenset[str] = frozenset()  # ``scope`` and ``scp`` together (core.scopes)
    reason: str = ""


MAX_TOKEN_LEN = 8192


def _fail(reason: str) -> TokenResult:
    return TokenResult(ok=False, reason=reason)


def _segment(raw: str) -> bytes:
    if "=" in raw:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))


def numeric_date(value: Any) -> float | None:
    """A JWT NumericDate as a finite float, or None for anything else (NaN, +-Infinity,
    an integer too large for a float, a string, a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def verify(token: str, issuers: Mapping[str, Issuer], now: float) -> TokenResult:
    """Verify ``token`` against the pinned issuer configuration. Never raises.

    One parse: the header and payload are decoded once; the issuer named in the payload
    selects the algorithms and key; PyJWT's algorithm object checks the signature over the
    original bytes; then the claims are checked against the injected clock.
    """
    if not token or len(token) > MAX_TOKEN_LEN or not token.isascii() or token.count(".") != 2:
        return _fail("malformed")
    head_b64, body_b64, sig_b64 = token.split(".")
    try:
        header = json.loads(_segment(head_b64))
        claims = json.loads(_segment(body_b64))
        signature = _segment(sig_b64)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _fail("malformed")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return _fail("malformed")
    if "crit" in header:  # we understand no extension, so none may be critical
        return _fail("unsupported critical header")
    iss = claims.get("iss")
    issuer = issuers.get(iss) if isinstance(iss, str) else None
    if issuer is None:
        return _fail("unknown issuer")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in issuer.algorithms or alg not in _algorithms():
        return _fail("algorithm not allowed")
    kid = header.get("kid")
    try:
        key = issuer.verifying_key(alg, kid if isinstance(kid, str) else None)
        valid = _algorithms()[alg].verify(f"{head_b64}.{body_b64}".encode(), key, signature)
    except Exception:  # any key/crypto problem is an invalid token, never a crash
        return _fail("invalid")
    if not valid:
        return _fail("invalid")
    aud = claims.get("aud")
    if not (aud == issuer.audience or (isinstance(aud, list) and issuer.audience in aud)):
        return _fail("invalid audience")
    exp = numeric_date(claims.get("exp"))
    if exp is None:
        return _fail("no expiry")
    if now > exp + issuer.leeway_seconds:
        return _fail("expired")
    for name in ("nbf", "iat"):
        if name in claims and numeric_date(claims[name]) is None:
            return _fail(f"invalid {name}")
    nbf = numeric_date(claims.get("nbf"))
    if nbf is not None and now + issuer.leeway_seconds < nbf:
        return _fail("not yet valid")
    consumer = claims.get(issuer.consumer_claim)
    if not isinstance(consumer, str) or not consumer:
        return _fail("no consumer claim")
    return TokenResult(ok=True, consumer_id=consumer, scopes=scopes_of(claims))
