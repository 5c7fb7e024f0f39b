"""Single-use tokens e-mailed to a developer: e-mail verification and password reset.

A token is ``secrets.token_urlsafe(32)`` (256 bits). Its plaintext exists only in the
notice (the link); the store keeps its SHA-256 as the partition key, as for API keys:
``AUTHTOKEN#<sha256> / TOKEN`` holds who it is for (account, the e-mail address it was sent
to, the account's session epoch), when it stops working and whether it was used. One
partition per token: a lookup by a secret is one ``get`` and never contends with anything.

The item outlives the token by :data:`KEEP`, so a late click is told "expired" or "used"
rather than "not valid"; after that the store's expiry drops it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace

from shared.core.models import from_dict, to_dict
from shared.management import records
from shared.management.entities import Account
from shared.ports import Item, Put, Store

VERIFY, RESET = "verify", "reset"
TTL = {VERIFY: 24 * 3600.0, RESET: 30 * 60.0}
KEEP = 86_400.0
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AuthToken:
    purpose: str  # VERIFY or RESET
    account_id: str
    email: str  # the address the link was sent to: the account's at the time
    epoch: int  # the account's session epoch at the time (a reset needs it unchanged)
    created_at: float
    expires_at: float
    used_at: float | None = None


@dataclass(frozen=True, slots=True)
class Found:
    token_hash: str
    record: AuthToken
    version: int


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new(purpose: str, account: Account, now: float) -> tuple[str, str, AuthToken]:
    """A fresh token for ``account``: (plaintext, its hash, the record to store)."""
    plaintext = secrets.token_urlsafe(32)
    record = AuthToken(purpose, account.id, account.email, account.session_epoch, now,
                       now + TTL[purpose])
    return plaintext, digest(plaintext), record


def write(token_hash: str, record: AuthToken) -> Put:
    """The token's item, created once (``if_absent``: replay-safe as a follow-up)."""
    item = Item(records.authtoken_pk(token_hash), "TOKEN", to_dict(record),
                expires_at=record.expires_at + KEEP)
    return Put(item, if_absent=True)


def spent_write(found: Found, now: float) -> Put:
    """The token marked used, under the version it was read at (a replay is skipped)."""
    used = replace(found.record, used_at=now)
    item = Item(records.authtoken_pk(found.token_hash), "TOKEN", to_dict(used),
                expires_at=used.expires_at + KEEP)
    return Put(item, if_version=found.version)


def load(store: Store, token: str) -> Found | None:
    """The stored token for this plaintext; None for a malformed or unknown one (the shape
    is checked before any lookup)."""
    if not _SHAPE.match(token):
        return None
    token_hash = digest(token)
    item = store.get(records.authtoken_pk(token_hash), "TOKEN")
    if item is None:
        return None
    return Found(token_hash, from_dict(AuthToken, dict(item.data)), item.version)
