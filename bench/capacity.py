"""Hot consumers: a capacity model of one subscription on DynamoDB, with and without
sharded counters (issue 11 item 5).

Simulated clock, no I/O: the memory store's ``hit`` behind a wrapper that gives every
store item (one counter bucket = one item) DynamoDB's per-partition-key write ceiling of
1,000 writes/s; a hit past it is throttled (``StoreUnavailable``: the plan fails closed,
503). Every hit counts against the item, admitted or not (a failed conditional write
consumes write capacity too). One consumer offers more than its plan's 10,000 req/s;
the model reports admitted requests/s, the most any one window admitted (the bound
``N * ceil(limit / N) <= limit + N - 1``) and the busiest item's writes/s."""

from __future__ import annotations

from collections import Counter

from bench.common import row
from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.core.models import Plan
from shared.core.ratelimit import schedule_of
from shared.gateway.throttle import Limiter, Throttled
from shared.ports import StoreUnavailable

ITEM_WRITES_PER_SECOND = 1_000  # DynamoDB's per-partition-key write throughput
LIMIT = 10_000  # the plan: requests per second
SECONDS = 5


class ItemThroughput:
    """A store whose items each take at most ``per_second`` writes per second."""

    def __init__(self, inner: MemoryStore, clock: ManualClock, per_second: int) -> None:
        self._inner, self._clock, self._per_second = inner, clock, per_second
        self.writes: Counter[tuple[str, int]] = Counter()
        self.throttled = 0

    def hit(self, bucket, slots, guards, cost):
        second = int(self._clock.now())
        self.writes[(bucket, second)] += 1
        if self.writes[(bucket, second)] > self._per_second:
            self.throttled += 1
            raise StoreUnavailable("ProvisionedThroughputExceededException")
        return self._inner.hit(bucket, slots, guards, cost)


def simulate(shards: int, offered_per_second: int) -> dict[str, float]:
    clock = ManualClock(1_767_225_600.0)
    store = ItemThroughput(MemoryStore(clock), clock, ITEM_WRITES_PER_SECOND)
    limiter = Limiter(store, clock)  # type: ignore[arg-type]
    plan = Plan("hot", "Hot", apis=("demo",), rate_per_second=LIMIT, counter_shards=shards)
    schedule = schedule_of(plan)
    admitted: Counter[int] = Counter()
    unavailable = 0
    step = 1.0 / offered_per_second
    for _ in range(offered_per_second * SECONDS):
        charged = limiter.charge("CON#hot#API#demo", schedule)
        if isinstance(charged, dict):
            admitted[int(clock.now())] += 1
        elif isinstance(charged, Throttled) and charged.decision is None:
            unavailable += 1
        clock.advance(step)
    return {
        "admitted_per_second": sum(admitted.values()) / SECONDS,
        "max_window": max(admitted.values()),
        "busiest_item": max(store.writes.values()),
        "unavailable_per_second": unavailable / SECONDS,
        "bound": shards * -(-LIMIT // shards),
    }


def run() -> list[str]:
    offered = 11_000
    one = simulate(1, offered)
    n = 16
    many = simulate(n, offered)
    ok = many["admitted_per_second"] >= 10_000 and many["max_window"] <= LIMIT + n - 1
    return [
        f"Hot consumer capacity model (simulated clock; {ITEM_WRITES_PER_SECOND:,} writes/s per "
        f"item as DynamoDB; plan {LIMIT:,} req/s; {offered:,} req/s offered for {SECONDS} s)",
        row(
            "1 counter item: admitted req/s",
            f"{one['admitted_per_second']:,.0f}",
            f"{one['unavailable_per_second']:,.0f}/s throttled by the item (503)",
        ),
        row(
            f"{n} shards: admitted req/s",
            f"{many['admitted_per_second']:,.0f}",
            f"goal >= 10,000: {'met' if ok else 'not met'}; busiest item "
            f"{many['busiest_item']:,} writes/s",
        ),
        row(
            f"{n} shards: most admitted in one window",
            f"{many['max_window']:,}",
            f"bound N*ceil(limit/N) = {many['bound']:,} <= limit + N - 1 = {LIMIT + n - 1:,}",
        ),
    ]


if __name__ == "__main__":
    print("\n".join(run()))
