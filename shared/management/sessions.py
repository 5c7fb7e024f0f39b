"""Session tokens for the management API: short-lived HS256 JWTs.

Signed with the newest configured key; verified against every configured key, newest
first, so keys rotate without logging anyone out (add a key in front, drop the oldest
after one session TTL). Revocation is server-side: a session names its id (``jti``) and
its account's session epoch (``sep``); ``deps.current_principal`` refuses a logged-out id
and an epoch older than the account's. The algorithm is pinned: ``alg: none`` or an
RS/ES token never verifies. ``iss``, ``aud``, ``exp``, ``sub``, ``role`` and ``jti`` are
required; expiry is checked against the injected clock, not the machine's. ``exp`` (and
``iat``/``nbf`` when present) must be finite numbers, as for gateway JWTs
(``tokens.numeric_date``): a NaN ``exp`` would never expire. PyJWT refuses a ``crit``
extension it does not implement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from shared.core.clock import Clock
from shared.core.tokens import numeric_date
from shared.management.entities import ROLES, Account, new_id

ISSUER = "tollway"
AUDIENCE = "tollway-management"
ALGORITHM = "HS256"
MAX_TOKEN_LEN = 4096


@dataclass(frozen=True, slots=True)
class Claims:
    account_id: str
    role: str
    expires_at: float
    session_id: str = ""
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class IssuedSession:
    token: str
    expires_at: float
    expires_in: int


class SessionCodec:
    def __init__(self, keys: Sequence[str], clock: Clock, ttl: int) -> None:
        if not keys:
            raise ValueError(
                "no session signing key: set TOLLWAY_SESSION_KEYS (comma-separated, newest "
                "first, each at least 32 characters)"
            )
        self._keys, self._clock, self._ttl = tuple(keys), clock, ttl

    def issue(self, account: Account) -> IssuedSession:
        now = int(self._clock.now())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": account.id,
            "role": account.role,
            "iat": now,
            "exp": now + self._ttl,
            "jti": new_id("ses"),
            "sep": account.session_epoch,
        }
        token = jwt.encode(claims, self._keys[0], algorithm=ALGORITHM)
        return IssuedSession(token, float(now + self._ttl), self._ttl)

    def verify(self, token: str) -> Claims | None:
        """The claims of a valid, unexpired session token; None for anything else."""
        if not token or len(token) > MAX_TOKEN_LEN or token.count(".") != 2:
            return None
        for key in self._keys:  # newest first
            try:
                claims = self._decode(token, key)
            except jwt.InvalidSignatureError:
                continue  # perhaps signed with an older key
            except (jwt.PyJWTError, ValueError, TypeError):
                return None
            return self._check(claims)
        return None

    @staticmethod
    def _decode(token: str, key: str) -> dict[str, Any]:
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": ["iss", "aud", "exp", "sub", "role", "jti"],
                "verify_exp": False,  # checked against the injected clock below
                "verify_iat": False,
                "verify_nbf": False,
            },
        )

    def _check(self, claims: dict[str, Any]) -> Claims | None:
        exp, sub, role = numeric_date(claims.get("exp")), claims.get("sub"), claims.get("role")
        if exp is None or self._clock.now() >= exp:
            return None
        if any(n in claims and numeric_date(claims[n]) is None for n in ("iat", "nbf")):
            return None
        if not isinstance(sub, str) or not sub or role not in ROLES:
            return None
        jti, epoch = claims.get("jti"), claims.get("sep", 0)
        if not isinstance(jti, str) or not jti or isinstance(epoch, bool) or not isinstance(
            epoch, int
        ):
            return None
        return Claims(sub, str(role), exp, jti, epoch)
