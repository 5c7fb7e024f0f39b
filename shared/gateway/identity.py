"""Who is calling: an API key (checked for shape before any lookup) or a bearer JWT."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.core import keys as keymod
from shared.core import tokens
from shared.core.clock import Clock
from shared.core.models import KeyState
from shared.core.outcomes import Outcome
from shared.core.request import GatewayRequest
from shared.gateway.directory import Directory


@dataclass(frozen=True, slots=True)
class Identity:
    outcome: Outcome
    consumer_id: str = ""
    key_id: str = ""
    scopes: frozenset[str] = frozenset()
    expires_at: float | None = None  # the API key's own expiry, if it has one


def authenticate(
    req: GatewayRequest,
    directory: Directory,
    issuers: Mapping[str, tokens.Issuer],
    clock: Clock,
    until: list[float] | None = None,
) -> Identity:
    """``until``: see ``TTLCache.get`` (gets the key record's cache deadline)."""
    api_keys = req.header_values("x-api-key")
    auths = req.header_values("authorization")
    if len(api_keys) + len(auths) > 1:
        return Identity(Outcome.AMBIGUOUS_CREDENTIALS)
    if api_keys:
        return _by_key(api_keys[0].strip(), directory, clock, until)
    if auths:
        scheme, _, token = auths[0].strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Identity(Outcome.MALFORMED_CREDENTIAL)
        result = tokens.verify(token.strip(), issuers, clock.now())
        if not result.ok:
            return Identity(Outcome.INVALID_TOKEN)
        return Identity(Outcome.OK, result.consumer_id, "", frozenset(result.scopes))
    return Identity(Outcome.MISSING_CREDENTIAL)


def _by_key(
    plaintext: str, directory: Directory, clock: Clock, until: list[float] | None = None
) -> Identity:
    if not keymod.well_formed(plaintext):  # no store lookup for garbage
        return Identity(Outcome.MALFORMED_CREDENTIAL)
    record = directory.key(keymod.hash_key(plaintext), until)
    if record is None:
        return Identity(Outcome.UNKNOWN_KEY)
    if record.state is KeyState.REVOKED:
        return Identity(Outcome.REVOKED_KEY)
    if record.expires_at is not None and record.expires_at <= clock.now():
        return Identity(Outcome.EXPIRED_KEY)
    scopes = frozenset(record.scopes)
    return Identity(Outcome.OK, record.consumer_id, record.id, scopes, record.expires_at)
