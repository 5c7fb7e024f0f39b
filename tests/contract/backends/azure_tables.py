"""Contract backend: Azure Table Storage, emulated by Azurite (npm, ``make azurite``).

``azurite-table`` runs in memory on 127.0.0.1 and a free port, once per test process
(``tests/support/azurite.py``). If it cannot start, ``make`` raises: the tests fail, they
do not skip. Each ``make`` creates a fresh, uniquely named table and
deletes it afterwards.

Azurite applies requests to an entity one at a time, as the service does, so the exactly-N
concurrency tests check the adapter's ETag loop against a real HTTP server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from shared.adapters.azure_tables import AzureTableStore
from shared.core.clock import Clock
from tests.support import azurite

NAME = "azure-tables"
CONCURRENT = True


def connection_string() -> str:
    """The process's Azurite table service (tests/support/azurite.py)."""
    return azurite.connection_string("table")


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[AzureTableStore]:
    store = AzureTableStore(
        f"t{uuid.uuid4().hex[:16]}",
        clock,
        connection_string=connection_string(),
        # No SDK retries: a lost or repeated request must show up as a failure here. Long
        # timeouts: 64 clients share 2 cores with the emulator.
        retry_total=0,
        timeout=30.0,
        max_connections=64,
        hit_budget=60.0,  # 64 clients on one entity take seconds here; they must all finish
    )
    try:
        store.create_table_if_missing()
        yield store
    finally:
        try:
            store.delete_table()
        finally:
            store.close()
