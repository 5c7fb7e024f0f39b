"""What a management use case can refuse, as exceptions the API layer maps to problems.

Services raise these; ``shared/api/errors.py`` turns each kind into one HTTP status and an
RFC 9457 body. Details are written for the caller: what was wrong and what to do. They
never echo secrets (passwords, keys, hashes) and never say whether someone else's id exists.
"""

from __future__ import annotations

from shared.core.clock import Clock
from shared.management import changes
from shared.management.changes import Change
from shared.ports import ConditionFailed, Store


class ServiceError(Exception):
    """Base: ``detail`` is safe to show to the caller."""

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field  # the request field at fault, for 422s ("body.plan_id")


class NotFound(ServiceError):
    """No such resource *for this caller*: absent and not-yours are indistinguishable."""


class Conflict(ServiceError):
    """The resource's current state forbids the action (or it changed concurrently)."""


class Invalid(ServiceError):
    """The request is well-formed but a value is unacceptable (unknown plan, past date)."""


class Forbidden(ServiceError):
    """The caller is known but may not do this (suspended consumer, wrong role)."""


class Unauthorized(ServiceError):
    """No valid credential, or wrong email/password."""


class TooManyRequests(ServiceError):
    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


RETRY = "The record changed while this request was being handled. Retry."


def commit(store: Store, clock: Clock, change: Change, conflict: str = RETRY) -> None:
    """Apply one action as a partition-scoped change (``changes.apply``); a failed
    condition on its primary partition becomes a 409 and leaves no effect."""
    try:
        changes.apply(store, clock, change)
    except ConditionFailed:
        raise Conflict(conflict) from None
