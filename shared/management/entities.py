"""Management-only records (the gateway never reads these), and id generation.

They serialise with the same ``to_dict``/``from_dict`` as the gateway's records.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

ROLE_DEVELOPER = "developer"
ROLE_ADMIN = "admin"
ROLES = (ROLE_DEVELOPER, ROLE_ADMIN)


def new_id(prefix: str) -> str:
    """A random, url-safe, prefixed id (``key_3hG…``): 128 bits, unguessable."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


@dataclass(frozen=True, slots=True)
class Account:
    """A developer's log-in. ``password_hash`` is an argon2id PHC string."""

    id: str
    email: str
    password_hash: str
    consumer_id: str
    role: str = ROLE_DEVELOPER
    created_at: float = 0.0
    #: Sessions carry the epoch they were issued in; "log out everywhere" increments it,
    #: so every earlier session of this account is refused at once.
    session_epoch: int = 0
    #: The address the developer proved to control (a verification or reset link), or "".
    #: Verified means it is the current ``email``: a changed address is unverified again.
    verified_email: str = ""

    @property
    def email_verified(self) -> bool:
        return bool(self.verified_email) and self.verified_email == self.email


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which record, when, with snapshots before and after.

    Snapshots are the public views of the record: never a key hash or plaintext, never a
    password hash."""

    id: str
    at: float
    actor: str  # account id, or "admin-token"
    actor_role: str
    action: str  # "key.create", "plan.retire", ...
    target_type: str
    target_id: str
    consumer_id: str = ""  # whose resource, when there is one
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, as recorded in the audit log."""

    id: str  # account id, or "admin-token" for the configured admin credential
    role: str


ADMIN_TOKEN_ACTOR = Actor("admin-token", ROLE_ADMIN)
