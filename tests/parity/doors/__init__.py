"""Front doors for the parity suite: one module per door (see tests/parity/README.md).

A door module has ``NAME``, ``STORE`` (what it stores in, for reports), a context manager
``make(world)`` yielding ``send(wire) -> Observed`` over a fresh store seeded from the
world, and optionally a context manager ``session()`` for what is expensive to start
(a server, an emulator), entered once for the whole parity package.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

REFERENCE = "in-process"


def discover() -> list[ModuleType]:
    """Every door module in this package, the reference door (the service in process)
    first."""
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
    return sorted(mods, key=lambda m: (m.NAME != REFERENCE, m.NAME))
