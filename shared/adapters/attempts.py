"""The attempt rules both upstream clients share (``http_upstream`` for the clouds,
``loop_upstream`` for the local front door): how many tries a request gets and how long
each may take within the caller's deadline; and the pause before a retry that every
adapter takes (:func:`full_jitter`)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from shared.ports import UpstreamRequest, UpstreamTimeout

#: Methods retried after a failure without a response (others only once: docs/policies.md).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def attempts_of(request: UpstreamRequest) -> int:
    """The first try plus the retries an idempotent method may use."""
    return 1 + (request.retries if request.method in IDEMPOTENT else 0)


def full_jitter(
    retry: int,
    first: float,
    largest: float = math.inf,
    rand: Callable[[], float] = random.random,
) -> float:
    """The pause before retry number ``retry`` (0 for the first): uniform between 0 and
    ``first * 2**retry``, at most ``largest`` (exponential backoff with "full jitter")."""
    return rand() * min(largest, first * 2.0**retry)


def attempt_timeout(request: UpstreamRequest) -> float:
    """This attempt's timeout: the request's, cut to the time left before its deadline;
    ``UpstreamTimeout`` when none is left (no attempt starts after the deadline)."""
    timeout = request.timeout
    if request.deadline is not None:
        timeout = min(timeout, request.deadline - time.monotonic())
        if timeout <= 0:
            raise UpstreamTimeout("the time budget ran out before this attempt")
    return timeout
