"""Suite-wide collection rule for pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``).

Plain load distribution hands a module's tests to whichever worker is free, so a
module-scoped fixture (a ``tollway local`` stack, Chromium, a month of metered traffic, a
generated client) was built once per worker that got a piece of the module, and a module
whose tests follow one another (the portal journey) could be cut in two. A module in which
any test uses a module-scoped fixture is therefore one xdist group: one worker runs all of
it, in file order, and builds each of its module fixtures once. Every other test is still
handed out one by one. Without ``--dist loadgroup`` (or without ``-n``) the mark does nothing.

xdist groups by the suffix ``@<group>`` on each test id that its worker adds from the mark,
but pytest 9 keeps a node's id in ``_id`` (a NodeId) and xdist 3.8 still writes ``_nodeid``:
the suffix never appears and every test is its own group. So the suffix is set here, once,
in the form xdist reads (``nodeid@group``), and only on an xdist worker under loadgroup.
"""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId

from tests.support import moto_backup

moto_backup.install()  # moto's transactions back a table up once, not once per item


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(defs and defs[-1].scope == "module" for defs in info.name2fixturedefs.values())


# Ungrouped tests known to take seconds each (make test's --durations), run first among the
# ungrouped ones. xdist hands out groups first (largest first), then each test alone in
# collection order, and a worker whose queue is empty stops: a 10 s test handed out last
# keeps the other worker idle for 10 s. Started early, these balance out.
SLOW_FIRST = (
    "tests/functional/aws/test_metering.py::test_1000_line",
    "tests/contract/test_crash_injection.py",
    "tests/e2e/",
    "tests/functional/test_schemathesis.py",
    "tests/functional/aws/test_origin.py",
)


def _slow_rank(item: pytest.Item) -> int:
    return next((i for i, p in enumerate(SLOW_FIRST) if item.nodeid.startswith(p)),
                len(SLOW_FIRST))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouped = {item.nodeid.split("::")[0] for item in items if _uses_a_module_fixture(item)}
    suffix = bool(getattr(config.option, "loadgroup", False))  # set by xdist on its workers
    if suffix:  # the workers' order is the one xdist schedules; sorted() keeps file order
        items[:] = sorted(items, key=lambda it: -1 if it.nodeid.split("::")[0] in grouped
                          else _slow_rank(it))
    for item in items:
        module = item.nodeid.split("::")[0]
        if module in grouped:
            item.add_marker(pytest.mark.xdist_group(module))
            if suffix and not item.nodeid.endswith(f"@{module}") and hasattr(item, "_id"):
                item._id = NodeId.parse(f"{item.nodeid}@{module}")
