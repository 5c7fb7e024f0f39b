"""Runs every contract test against every store backend.

A backend is a module in ``tests/contract/backends/`` with ``NAME`` and a context manager
``make(clock, tmp_path)`` yielding a fresh, empty store that reads time from ``clock``.
A backend that needs an external server starts it itself (session-scoped) and must not
skip silently: if its server cannot start, its tests fail.
"""

import importlib
import pkgutil

import pytest

from shared.core.clock import ManualClock
from tests.contract import backends

BACKENDS = [
    importlib.import_module(f"{backends.__name__}.{m.name}")
    for m in pkgutil.iter_modules(backends.__path__)
]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=BACKENDS, ids=lambda b: b.NAME)
def backend(request):
    return request.param


@pytest.fixture
def store(backend, clock, tmp_path):
    with backend.make(clock, tmp_path) as s:
        yield s
