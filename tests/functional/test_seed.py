"""The local stack's first-start data is a valid catalog the management API respects."""

import pytest

from functions.local import seed
from shared.adapters.memory import MemoryStore
from shared.core.clock import ManualClock
from shared.management import plans, records
from shared.management.entities import ADMIN_TOKEN_ACTOR
from shared.management.errors import Conflict


@pytest.fixture
def seeded():
    clock = ManualClock()
    store = MemoryStore(clock)
    seed.seed(store, "http://127.0.0.1:9", clock.now())
    return store, clock


def test_the_demo_plan_in_use_cannot_be_deleted(seeded):
    store, clock = seeded
    with pytest.raises(Conflict):
        plans.delete(store, clock, ADMIN_TOKEN_ACTOR, seed.FREE.id)


def test_seed_is_idempotent_to_detect_and_repoints_the_upstream(seeded):
    store, _ = seeded
    assert seed.is_seeded(store)
    seed.point_demo_upstream(store, "http://127.0.0.1:10")
    urls = {a.upstreams[0].url for a in records.list_apis(store)}
    assert urls == {"http://127.0.0.1:10"}


def test_seeded_apis_have_openapi_documents(seeded):
    store, _ = seeded
    assert records.read_doc(store, "demo-v2") is not None
