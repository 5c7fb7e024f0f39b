"""The gateway's own request ids (shared/core/request.py ``_Ids``): what metering
deduplicates by, so two requests must never share one — across threads and forked
workers (the local stack's gateway processes) too."""

from __future__ import annotations

import multiprocessing
import re
import threading

from shared.core.request import GatewayRequest, new_request_id, request_id

_FORM = re.compile(r"[0-9a-f]{32}")


def test_ids_are_32_hex_digits_and_never_repeat():
    ids = [new_request_id() for _ in range(10_000)]
    assert all(_FORM.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    # the platform's id is kept when the front door has one
    assert request_id(GatewayRequest("GET", "/", request_id="apigw-1")) == "apigw-1"
    assert _FORM.fullmatch(request_id(GatewayRequest("GET", "/")))


def test_threads_sharing_the_counter_get_distinct_ids():
    out: list[list[str]] = [[] for _ in range(4)]

    def draw(mine: list[str]) -> None:
        for _ in range(5_000):
            mine.append(new_request_id())

    threads = [threading.Thread(target=draw, args=(o,)) for o in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for o in out for i in o]
    assert len(set(every)) == 20_000


def _child_ids(q) -> None:  # runs in a forked child
    q.put([new_request_id() for _ in range(3)])


def test_a_forked_worker_draws_another_prefix():
    # GIVEN ids drawn in this process, THEN a forked child (same counter state at fork)
    # draws ids with another random prefix: none equal to the parent's next ones
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    before = new_request_id()
    p = ctx.Process(target=_child_ids, args=(q,))
    p.start()
    child = q.get(timeout=30)
    p.join(timeout=30)
    after = [new_request_id() for _ in range(3)]
    assert all(_FORM.fullmatch(i) for i in child)
    assert {i[:16] for i in child} != {before[:16]}
    assert not set(child) & set(after)
