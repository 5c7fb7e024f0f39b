"""The audit log: every admin action and every key action, who/what/when/before/after.

An entry is written in the same ``store.transact`` as the change it describes, so the log
never claims a change that did not happen and no change goes unrecorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.core.clock import Clock
from shared.management import records
from shared.management.entities import Actor, AuditEntry, new_id
from shared.ports import Put, Store


@dataclass(frozen=True, slots=True)
class Target:
    type: str
    id: str
    consumer_id: str = ""


def write(
    clock: Clock,
    actor: Actor,
    action: str,
    target: Target,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> Put:
    """The audit entry for one action, as a write to add to that action's transaction."""
    entry = AuditEntry(
        id=new_id("aud"),
        at=clock.now(),
        actor=actor.id,
        actor_role=actor.role,
        action=action,
        target_type=target.type,
        target_id=target.id,
        consumer_id=target.consumer_id,
        before=before,
        after=after,
        note=note,
    )
    return records.audit_write(entry)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # exact ("key.create") or a family ("key")
    target_id: str | None = None
    consumer_id: str | None = None

    def accepts(self, data: dict[str, Any]) -> bool:
        action = str(data.get("action", ""))
        return (
            (self.actor is None or data.get("actor") == self.actor)
            and (
                self.action is None
                or action == self.action
                or action.startswith(self.action + ".")
            )
            and (self.target_id is None or data.get("target_id") == self.target_id)
            and (self.consumer_id is None or data.get("consumer_id") == self.consumer_id)
        )


def list_entries(
    store: Store, flt: AuditFilter, *, limit: int, after: str | None
) -> tuple[list[AuditEntry], str | None]:
    """Newest first."""
    items, nxt = records.page(
        store,
        records.AUDIT,
        limit=limit,
        after=after,
        keep=lambda i: flt.accepts(dict(i.data)),
        descending=True,
    )
    return records.load_all(AuditEntry, items), nxt
