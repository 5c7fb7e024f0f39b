"""moto's TransactWriteItems, with one rollback backup per table instead of one per item.

moto 5.2 (``moto/dynamodb/models/__init__.py``, ``transact_write_items``) backs up each table
a transaction touches before applying it, so it can restore it if an item fails; but it
deep-copies the whole table once per ITEM of the transaction, each copy replacing the last.
The copies are all taken, one after another, before the first write, so they are equal: the
cost is (items in the transaction) x (items in the table). Metering writes transactions of
up to 100 items into a table that grows by thousands of dedup markers: one 1000-line batch
test spent ~60 s in those copies.

Here the first copy of a table in a transaction is kept and handed out again for that
transaction, so the backup moto restores on a failure is the same state it was. Nothing
else changes: every other deepcopy (and any outside a transaction) is the real one, and the
memo is per thread and per call. Installed once per test process by tests/conftest.py.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_local = threading.local()


class _Copy:
    """Stands in for the ``copy`` module inside moto's DynamoDB models module."""

    def __init__(self, table_type: type) -> None:
        self._table_type = table_type

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        backups = getattr(_local, "backups", None)
        if backups is None or not isinstance(obj, self._table_type):
            return copy.deepcopy(obj, memo)
        if id(obj) not in backups:
            backups[id(obj)] = (obj, copy.deepcopy(obj, memo))  # obj kept: its id stays its
        return backups[id(obj)][1]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    """Idempotent; does nothing where moto's layout differs from the one described above."""
    try:
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table
    except ImportError:
        return
    backend = getattr(models, "DynamoDBBackend", None)
    if backend is None or getattr(backend.transact_write_items, "_one_backup", False):
        return
    if getattr(models, "copy", None) is not copy:
        return
    real = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        _local.backups = {}
        try:
            return real(self, transact_items)
        finally:
            _local.backups = None

    transact_write_items._one_backup = True  # type: ignore[attr-defined]
    models.copy = _Copy(Table)  # type: ignore[assignment]
    backend.transact_write_items = transact_write_items
