"""A mergeable latency sketch: logarithmic buckets with a fixed relative accuracy.

Like DDSketch (Masson et al., VLDB 2019): a value ``x`` lands in bucket
``i = ceil(log_gamma(x / MIN_MS))`` with ``gamma = (1 + a) / (1 - a)``; every value of a
bucket is within ``a`` (relative) of the bucket's estimate ``2 * MIN_MS * gamma**i /
(gamma + 1)``. Buckets are plain counters, so two sketches merge by adding counts — which
is what the store's ``Increment`` does, in any order, exactly once per delivered batch.

``a`` = 5 %: from 0.1 ms to 10^6 ms (16 minutes) that is at most 162 buckets, under Azure
Tables' 252 properties per entity. Values outside are clamped to the ends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

ACCURACY = 0.05
GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
MIN_MS = 0.1
MAX_MS = 1_000_000.0
PREFIX = "l"  # bucket fields are "l<index>"
_LOG_GAMMA = math.log(GAMMA)


def bucket(ms: float) -> int:
    x = min(max(ms, MIN_MS), MAX_MS)
    return max(0, math.ceil(math.log(x / MIN_MS) / _LOG_GAMMA - 1e-9))


def field(index: int) -> str:
    return f"{PREFIX}{index}"


def counts(latencies: Iterable[float]) -> dict[str, int]:
    """The sketch of ``latencies`` as store fields."""
    out: dict[str, int] = {}
    for ms in latencies:
        key = field(bucket(ms))
        out[key] = out.get(key, 0) + 1
    return out


def merge(*sketches: Mapping[str, int | float]) -> dict[int, int]:
    """Bucket index -> count, from stored items (other fields ignored)."""
    out: dict[int, int] = {}
    for s in sketches:
        for key, n in s.items():
            if key.startswith(PREFIX) and key[1:].isdigit():
                out[int(key[1:])] = out.get(int(key[1:]), 0) + int(n)
    return out


def quantile(buckets: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) within ACCURACY, or None for an empty sketch."""
    total = sum(buckets.values())
    if total == 0:
        return None
    rank = q * (total - 1)
    seen = 0
    for index in sorted(buckets):
        seen += buckets[index]
        if seen > rank:
            return estimate(index)
    return estimate(max(buckets))


def estimate(index: int) -> float:
    return 2 * MIN_MS * GAMMA**index / (GAMMA + 1)
