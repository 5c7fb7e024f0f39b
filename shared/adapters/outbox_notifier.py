"""The local notifier: each notice goes to an outbox in the store (``OUTBOX / <at>#<key
digest>``, listed by ``GET /v1/admin/notifications``) and to the log. Nothing is sent."""

from __future__ import annotations

import hashlib
import logging

from shared.core.clock import Clock
from shared.core.models import to_dict
from shared.ports import Item, Notice, NotifyFailed, Put, Store, StoreError

OUTBOX = "OUTBOX"
log = logging.getLogger("tollway.notify")


class OutboxNotifier:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def send(self, notice: Notice) -> str:
        digest = hashlib.sha256(notice.dedup_key.encode()).hexdigest()[:24]
        sk = f"{self.clock.now():020.6f}#{digest}"
        try:
            self.store.transact([Put(Item(OUTBOX, sk, to_dict(notice)))])
        except StoreError as e:
            raise NotifyFailed(f"outbox unavailable: {e}") from e
        log.info("notice %s to %s: %s", notice.kind, notice.recipient, notice.subject)
        return sk
