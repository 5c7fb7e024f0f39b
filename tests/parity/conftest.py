"""Fixtures for the parity suite: each door's ``session()`` is entered on first use and
left when the parity package is done (so moto's mock never outlives it); the reference
door's runs are cached per scenario."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from types import ModuleType

import pytest

from tests.parity.doors import REFERENCE, discover
from tests.parity.normalise import Run, run
from tests.parity.spec import Scenario

DOORS = discover()


@pytest.fixture(scope="package")
def open_door() -> Iterator[Callable[[ModuleType], ModuleType]]:
    with ExitStack() as stack:
        opened: set[str] = set()

        def get(door: ModuleType) -> ModuleType:
            if door.NAME not in opened:
                session = getattr(door, "session", None)
                if session is not None:
                    stack.enter_context(session())
                opened.add(door.NAME)
            return door

        yield get


@pytest.fixture(scope="package")
def reference_run(open_door) -> Callable[[Scenario], Run]:
    (ref,) = [d for d in DOORS if d.NAME == REFERENCE]
    cache: dict[str, Run] = {}

    def get(scenario: Scenario) -> Run:
        if scenario.id not in cache:
            cache[scenario.id] = run(open_door(ref), scenario)
        return cache[scenario.id]

    return get
