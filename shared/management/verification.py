"""E-mail verification and password reset: links sent once, each usable once.

Tokens are ``account_tokens`` (random, stored only as SHA-256, bound to the account and the
address they were sent to, expiring: verification 24 h, reset 30 min). Each notice goes
through ``notifications.send_once`` with a dedup key made from the token's hash, so a retry
never mails the same link twice.

Redeeming a token is a change whose primary is the account (``ACCOUNT / <id>``, under the
version read): the account is what the link changes, and the conditions live there. A reset
moves the account's session epoch on (every session is refused at once) and requires the
epoch the token was issued in, so the first reset kills every other reset link of the
account atomically with the new password. The token is marked used as a follow-up, with
the audit entry; until that lands, a second verification is harmless (the account is
verified already) and a second reset is refused by the epoch.

A reset request answers the same whether or not the address has an account (the router
says 202 either way); both rate limits are counted before the lookup.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.core.clock import Clock
from shared.management import account_tokens, audit, notifications, password_policy, records
from shared.management.account_tokens import RESET, VERIFY, Found
from shared.management.accounts import Passwords, _limit, account_view, normalise_email
from shared.management.changes import Change
from shared.management.entities import Account, Actor
from shared.management.errors import Conflict, Invalid, commit
from shared.ports import Notice, Notifier, NotifyFailed, Store

log = logging.getLogger("tollway.accounts")

#: (bucket prefix, attempts, window seconds), as ``accounts``' log-in limits
RESEND_PER_ACCOUNT = ("VERIFYMAIL#", 5, 3600)
RESET_PER_EMAIL = ("RESET#", 5, 3600)
RESET_PER_IP = ("RESETIP#", 30, 3600)

NOT_VALID = ("This link is not valid: check that the whole link was copied from the e-mail, "
             "or ask for a new one.")
EXPIRED = "This link has expired. Ask for a new one."
USED = "This link was used already: each link works once. Ask for a new one if you need it."
SUPERSEDED = ("This link no longer applies: the account changed since it was sent (its "
              "password was reset, or every session was logged out). Ask for a new one.")
ALREADY_VERIFIED = "This e-mail address is verified already."


def link(portal_url: str, route: str, token: str) -> str:
    """``<portal>/#/<route>?token=…``: the portal reads the token from the fragment, which
    browsers never send to a server (nor in a Referer)."""
    return f"{portal_url.rstrip('/')}/#/{route}?token={token}"


def _deliver(store: Store, clock: Clock, notifier: Notifier, notice: Notice) -> bool:
    """Send once; a refused send is logged, not raised: the link can be asked for again."""
    try:
        return notifications.send_once(store, clock, notifier, notice)
    except NotifyFailed as exc:
        log.warning("%s notice not sent: %s", notice.kind, exc)
        return False


def send_verification(store: Store, clock: Clock, notifier: Notifier, portal_url: str,
                      account: Account, token: str) -> bool:
    """The verification notice for ``token`` (made by sign-up or :func:`resend`)."""
    url = link(portal_url, "verify", token)
    notice = Notice(
        account.email, "verify-email", "Confirm your e-mail address for Tollway",
        f"Open this link to confirm that {account.email} is yours:\n\n{url}\n\n"
        "It works once, for 24 hours. If you did not sign up, ignore this message.",
        f"verify-email:{account_tokens.digest(token)}", {"url": url})
    return _deliver(store, clock, notifier, notice)


def resend(store: Store, clock: Clock, notifier: Notifier, portal_url: str,
           account: Account) -> bool:
    """A new verification link (earlier ones keep working until they expire)."""
    if account.email_verified:
        raise Conflict(ALREADY_VERIFIED)
    _limit(store, clock, RESEND_PER_ACCOUNT, account.id)
    token, token_hash, pending = account_tokens.new(VERIFY, account, clock.now())
    target = audit.Target("account", account.id, account.consumer_id)
    commit(store, clock, Change(
        [account_tokens.write(token_hash, pending)],
        [audit.write(clock, Actor(account.id, account.role), "account.verification-sent",
                     target)],
    ))
    return send_verification(store, clock, notifier, portal_url, account, token)


def _redeem(store: Store, clock: Clock, purpose: str, token: str) -> tuple[Found, Account, int]:
    """The token and its account (with the account's version), or the specific refusal."""
    found = account_tokens.load(store, token)
    if found is None or found.record.purpose != purpose:
        raise Invalid(NOT_VALID, field="body.token")
    record = found.record
    if record.used_at is not None:
        raise Conflict(USED)
    if clock.now() >= record.expires_at:
        raise Invalid(EXPIRED, field="body.token")
    current = records.get_versioned(store, Account, records.ACCOUNT, record.account_id)
    if current is None or current[0].email != record.email:
        raise Conflict(SUPERSEDED)
    account, version = current
    if purpose == RESET and account.session_epoch != record.epoch:
        raise Conflict(SUPERSEDED)
    return found, account, version


def verify(store: Store, clock: Clock, token: str) -> Account:
    """Mark the account's current address verified; the token is spent."""
    found, before, version = _redeem(store, clock, VERIFY, token)
    after = replace(before, verified_email=before.email)
    return _redeemed(store, clock, found, (before, version), after, "account.verify")


def request_reset(store: Store, clock: Clock, notifier: Notifier, portal_url: str, *,
                  email: str, client: str) -> None:
    """Mail a reset link if ``email`` has an account; nothing tells the caller whether it
    has (limits are counted first, for known and unknown addresses alike)."""
    email = normalise_email(email)
    _limit(store, clock, RESET_PER_IP, client)
    _limit(store, clock, RESET_PER_EMAIL, email)
    account = records.account_by_email(store, email)
    if account is None:
        return
    token, token_hash, pending = account_tokens.new(RESET, account, clock.now())
    target = audit.Target("account", account.id, account.consumer_id)
    commit(store, clock, Change(
        [account_tokens.write(token_hash, pending)],
        [audit.write(clock, Actor(account.id, account.role), "account.password-reset-request",
                     target, note=f"requested from {client}")],
    ))
    url = link(portal_url, "reset", token)
    _deliver(store, clock, notifier, Notice(
        account.email, "password-reset", "Reset your Tollway password",
        f"Someone (hopefully you) asked to reset the password of {account.email}. Open this "
        f"link to choose a new one:\n\n{url}\n\nIt works once, for 30 minutes, and logs out "
        "every session of the account. If you did not ask, ignore this message: your "
        "password stays as it is.",
        f"password-reset:{token_hash}", {"url": url}))


def confirm_reset(store: Store, clock: Clock, passwords: Passwords, *, token: str,
                  new_password: str) -> Account:
    """Set the new password, log out every session, mark the address verified (the
    developer proved control of it), spend the token."""
    found, before, version = _redeem(store, clock, RESET, token)
    weak = password_policy.refusal(new_password)
    if weak is not None:
        raise Invalid(f"This password {weak}. Choose one that is hard to guess: several "
                      "unrelated words work well.", field="body.new_password")
    after = replace(before, password_hash=passwords.hash(new_password),
                    session_epoch=before.session_epoch + 1, verified_email=before.email)
    return _redeemed(store, clock, found, (before, version), after, "account.password-reset")


def _redeemed(store: Store, clock: Clock, found: Found, read: tuple[Account, int],
              after: Account, action: str) -> Account:
    """The account rewritten under the version it was read at (the primary), then the
    token spent and the audit entry (follow-ups): one change, whatever the token was for."""
    before, version = read
    target = audit.Target("account", before.id, before.consumer_id)
    commit(store, clock, Change(
        [records.put_account_write(after, if_version=version)],
        [account_tokens.spent_write(found, clock.now()),
         audit.write(clock, Actor(before.id, before.role), action, target,
                     before=account_view(before), after=account_view(after))],
    ))
    return after
