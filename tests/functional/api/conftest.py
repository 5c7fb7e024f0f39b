from collections.abc import Iterator

import pytest

from tests.functional.api.harness import Harness, harness


@pytest.fixture
def h() -> Iterator[Harness]:
    with harness() as world:
        yield world
