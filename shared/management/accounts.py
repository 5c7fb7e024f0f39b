"""Developer accounts: sign-up, log-in, roles.

Passwords are hashed with argon2id (argon2-cffi defaults: RFC 9106 low-memory profile).
Log-in is rate limited per e-mail and per client address with the store's ``hit``
counters, counted *before* the password is checked so guessing costs attempts, and an
unknown e-mail costs the same hash verification as a wrong password.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.core.clock import Clock
from shared.core.models import Consumer, ConsumerStatus
from shared.core.ratelimit import Slot
from shared.management import account_tokens, audit, password_policy, records
from shared.management.changes import Change
from shared.management.entities import ROLES, Account, Actor, new_id
from shared.management.errors import (
    Conflict,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    commit,
)
from shared.ports import Store

#: (bucket prefix, attempts, window seconds)
LOGIN_PER_EMAIL = ("LOGIN#", 10, 900)
LOGIN_PER_IP = ("LOGINIP#", 100, 900)
SIGNUP_PER_IP = ("SIGNUP#", 20, 3600)

BAD_LOGIN = "The e-mail address or password is wrong."


class Passwords:
    """A slow KDF behind two calls. Tests pass a cheap ``PasswordHasher``."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = ""  # made on first use: no slow hash at cold start

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Always costs one verification, so an unknown account is not faster to reject."""
        if stored is None and not self._dummy:
            self._dummy = self._hasher.hash("tollway-timing-equaliser")
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _limit(store: Store, clock: Clock, rule: tuple[str, int, int], who: str) -> None:
    prefix, attempts, window = rule
    now = clock.now()
    index = int(now // window)
    end = (index + 1) * window
    result = store.hit(f"{prefix}{who}", [Slot(f"w{index}", attempts, end + 60.0)], [], 1)
    if not result.admitted:
        retry = max(1, math.ceil(end - now))
        raise TooManyRequests(
            f"Too many attempts. Try again in {retry} seconds.", retry_after=retry
        )


@dataclass(frozen=True, slots=True)
class SignedUp:
    account: Account
    consumer: Consumer
    verification: str = ""  # the plaintext verification token, for the notice only


def signup(
    store: Store, clock: Clock, passwords: Passwords, *,
    email: str, password: str, name: str | None, client: str,
) -> SignedUp:
    """A new account and the one consumer it owns, written together."""
    _limit(store, clock, SIGNUP_PER_IP, client)
    weak = password_policy.refusal(password)
    if weak is not None:
        raise Invalid(f"This password {weak}. Choose one that is hard to guess: several "
                      "unrelated words work well.", field="body.password")
    email = normalise_email(email)
    if records.account_by_email(store, email) is not None:
        raise Conflict("An account with this e-mail address exists. Log in instead.")
    now = clock.now()
    account_id, consumer_id = new_id("acc"), new_id("con")
    account = Account(account_id, email, passwords.hash(password), consumer_id, created_at=now)
    consumer = Consumer(consumer_id, name or email, ConsumerStatus.ACTIVE, account_id, now)
    actor = Actor(account_id, account.role)
    token, token_hash, pending = account_tokens.new(account_tokens.VERIFY, account, now)
    # The e-mail claim decides; the account, its consumer, its verification token and the
    # audit entry follow.
    commit(store, clock, Change(
        [records.email_claim_write(account)],
        [records.put_account_write(account, if_absent=True),
         records.put_consumer_write(consumer, if_absent=True),
         account_tokens.write(token_hash, pending),
         audit.write(clock, actor, "account.create", audit.Target("account", account_id,
                     consumer_id), after=account_view(account))],
    ), "An account with this e-mail address exists. Log in instead.")
    return SignedUp(account, consumer, token)


def login(
    store: Store, clock: Clock, passwords: Passwords, *, email: str, password: str, client: str
) -> Account:
    email = normalise_email(email)
    _limit(store, clock, LOGIN_PER_IP, client)
    _limit(store, clock, LOGIN_PER_EMAIL, email)
    account = records.account_by_email(store, email)
    ok = passwords.verify(account.password_hash if account else None, password)
    if account is None or not ok:
        raise Unauthorized(BAD_LOGIN)
    return account


def logout(store: Store, session_id: str, expires_at: float) -> None:
    """Refuse this one session from now on (until it would have expired anyway)."""
    store.transact([records.revoke_session_write(session_id, expires_at)])


def logout_all(store: Store, clock: Clock, account_id: str) -> Account:
    """Refuse every session of this account issued so far: its epoch moves on."""
    found = records.get_versioned(store, Account, records.ACCOUNT, account_id)
    if found is None:
        raise NotFound("No account with this id.")
    before, version = found
    after = replace(before, session_epoch=before.session_epoch + 1)
    actor = Actor(account_id, before.role)
    commit(store, clock, Change(
        [records.put_account_write(after, if_version=version)],
        [audit.write(clock, actor, "account.logout-all",
                     audit.Target("account", account_id, before.consumer_id))],
    ))
    return after


def account_view(account: Account) -> dict[str, object]:
    """What the audit log and admins see of an account: never the password hash."""
    return {
        "id": account.id,
        "email": account.email,
        "role": account.role,
        "consumer_id": account.consumer_id,
        "created_at": account.created_at,
        "email_verified": account.email_verified,
    }


def get(store: Store, account_id: str) -> Account:
    account = records.get_account(store, account_id)
    if account is None:
        raise NotFound("No account with this id.")
    return account


def list_page(store: Store, *, limit: int, after: str | None) -> tuple[list[Account], str | None]:
    items, nxt = records.page(store, records.ACCOUNT, limit=limit, after=after)
    return records.load_all(Account, items), nxt


def set_role(store: Store, clock: Clock, actor: Actor, account_id: str, role: str) -> Account:
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="body.role")
    found = records.get_versioned(store, Account, records.ACCOUNT, account_id)
    if found is None:
        raise NotFound("No account with this id.")
    before, version = found
    after = replace(before, role=role)
    if after == before:
        return before
    target = audit.Target("account", account_id, before.consumer_id)
    commit(store, clock, Change(
        [records.put_account_write(after, if_version=version)],
        [audit.write(clock, actor, "account.role", target,
                     before=account_view(before), after=account_view(after))],
    ))
    return after
