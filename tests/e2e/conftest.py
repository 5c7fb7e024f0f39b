"""Fixtures every portal browser test shares: one Chromium per module and fresh tabs on the
module's own ``stack`` (each module starts its own ``tollway local``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.e2e.portal_support import Tab, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def tab(browser: Browser, stack: dict[str, Any]) -> Iterator[Callable[..., Tab]]:
    """Fresh tabs (each its own sessionStorage), closed after the test."""
    opened: list[Tab] = []

    def make(**options: Any) -> Tab:
        opened.append(Tab(browser, stack, **options))
        return opened[-1]

    yield make
    for t in opened:
        t.close()
