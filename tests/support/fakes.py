"""Fakes for tests (never shipped in the package)."""

from __future__ import annotations

from shared.core.models import UsageEvent


class ListSink:
    """Collects usage events in memory."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []

    def emit(self, event: UsageEvent) -> None:
        self.events.append(event)
