"""DynamoDB adapter under faults, and its round trips.

Every backend failure becomes ``StoreUnavailable`` (never a botocore exception, never a
hang), the SDK retry budget is small and bounded, and ``hit`` costs exactly one request in
steady state, window rollover included.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import ANY, Stubber
from moto import mock_aws

from shared.adapters.dynamodb import DynamoStore, create_table
from shared.adapters.dynamodb_http import DynamoHttpClient, TransportError
from shared.core.clock import ManualClock
from shared.core.models import Algorithm
from shared.core.ratelimit import Guard, Limit, Slot, Unit, decide, plan_counters
from shared.ports import Delete, Increment, Item, Put, StoreUnavailable

TABLE = "tollway-faults"
REGION = "us-east-1"
NOWHERE = "http://127.0.0.1:9"  # hooks answer before anything is sent


def client(attempts: int = 1, endpoint: str | None = NOWHERE, **config: Any) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}, **config),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def offline() -> Iterator[Any]:
    c = client()
    yield c
    c.close()


# Each store operation, and the DynamoDB call it makes first.
OPERATIONS: dict[str, tuple[str, Callable[[DynamoStore, float], object]]] = {
    "hit": ("update_item", lambda s, now: s.hit("b", [Slot("m1", 5, now + 60)], [], 1)),
    "hit-guards-only": ("get_item", lambda s, now: s.hit("b", [], [Guard("m1", 5)], 1)),
    "get": ("get_item", lambda s, now: s.get("p", "s")),
    "query": ("query", lambda s, now: s.query("p", "k#")),
    "put": ("update_item", lambda s, now: s.transact([Put(Item("p", "s", {"n": 1}))])),
    "put-if-absent": (
        "put_item",
        lambda s, now: s.transact([Put(Item("p", "s", {}), if_absent=True)]),
    ),
    "delete": ("delete_item", lambda s, now: s.transact([Delete("p", "s")])),
    "batch": (
        "transact_write_items",
        lambda s, now: s.transact([Put(Item("p", "a", {})), Increment("p", "b", {"n": 1})]),
    ),
}

SERVICE_ERRORS = [
    ("ThrottlingException", 400),
    ("ProvisionedThroughputExceededException", 400),
    ("RequestLimitExceeded", 400),
    ("InternalServerError", 500),
    ("ServiceUnavailable", 503),
    ("ResourceNotFoundException", 400),
    ("ValidationException", 400),
]


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(("code", "status"), SERVICE_ERRORS, ids=[c for c, _ in SERVICE_ERRORS])
def test_service_errors_become_store_unavailable(offline, clock, operation, code, status):
    # GIVEN DynamoDB answers the call with an error
    method, run = OPERATIONS[operation]
    store = DynamoStore(TABLE, offline, clock)
    with Stubber(offline) as stub:
        stub.add_client_error(method, service_error_code=code, http_status_code=status)

        # WHEN the store is used, THEN it says "unavailable" and nothing of botocore escapes
        with pytest.raises(StoreUnavailable) as raised:
            run(store, clock.now())
        stub.assert_no_pending_responses()
    assert not isinstance(raised.value, ClientError | BotoCoreError)
    assert code in str(raised.value)


def test_cancelled_transaction_for_throttling_is_unavailable_not_a_condition(offline, clock):
    store = DynamoStore(TABLE, offline, clock)
    with Stubber(offline) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            response_meta={},
            modeled_fields={"CancellationReasons": [{"Code": "None"}, {"Code": "ThrottlingError"}]},
        )
        with pytest.raises(StoreUnavailable):
            store.transact([Put(Item("p", "a", {})), Put(Item("p", "b", {}))])


def raising(exc: Exception) -> Callable[..., None]:
    def hook(**kwargs: Any) -> None:
        raise exc

    return hook


TRANSPORT_ERRORS = {
    "read-timeout": ReadTimeoutError(endpoint_url=NOWHERE),
    "connect-timeout": ConnectTimeoutError(endpoint_url=NOWHERE),
    "no-connection": EndpointConnectionError(endpoint_url=NOWHERE),
}


@pytest.mark.parametrize("operation", ["hit", "get", "query", "put", "batch"])
@pytest.mark.parametrize("error", TRANSPORT_ERRORS)
def test_transport_errors_become_store_unavailable(offline, clock, operation, error):
    offline.meta.events.register("before-send.dynamodb.*", raising(TRANSPORT_ERRORS[error]))
    store = DynamoStore(TABLE, offline, clock)

    with pytest.raises(StoreUnavailable) as raised:
        OPERATIONS[operation][1](store, clock.now())

    assert isinstance(raised.value.__cause__, TransportError)
    assert isinstance(raised.value.__cause__.__cause__, BotoCoreError)


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without the SDK's jittered sleep, so counting them takes no time."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *_: 0)


@pytest.mark.usefixtures("no_backoff")
@pytest.mark.parametrize("attempts", [1, 2, 3])
def test_retry_budget_is_exactly_max_attempts_tries(clock, attempts):
    # GIVEN DynamoDB throttles every request
    sent: list[str] = []

    def throttled(request, **kwargs):
        sent.append(request.url)
        body = b'{"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}'
        return AWSResponse(request.url, 400, {}, _Raw(body))

    c = client(attempts)
    try:
        c.meta.events.register("before-send.dynamodb.UpdateItem", throttled)
        store = DynamoStore(TABLE, c, clock)

        # WHEN a hit is made, THEN it gives up after exactly `attempts` requests
        with pytest.raises(StoreUnavailable):
            store.hit("b", [Slot("m1", 5, clock.now() + 60)], [], 1)
    finally:
        c.close()
    assert len(sent) == attempts


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def test_store_built_without_a_client_has_a_short_retry_budget_and_timeouts(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    store = DynamoStore(TABLE, max_attempts=2, connect_timeout=0.5, read_timeout=0.75)
    try:
        wire = store._client
        assert isinstance(wire, DynamoHttpClient)  # its own client, not botocore
        assert wire.max_attempts == 2
        assert (wire.connect_timeout, wire.read_timeout) == (0.5, 0.75)
    finally:
        store.close()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.fixture
def refused() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("endpoint", ["black_hole", "refused"])
@pytest.mark.parametrize("operation", ["hit", "get"])
def test_unresponsive_endpoint_is_unavailable_within_the_timeout(
    request, monkeypatch, clock, endpoint, operation
):
    # GIVEN a store configured only from the environment, pointing at a dead endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", request.getfixturevalue(endpoint))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = DynamoStore(TABLE, None, clock, max_attempts=1, connect_timeout=0.3, read_timeout=0.3)
    try:
        assert store._client is not None  # built first: reading the environment is not I/O
        started = time.monotonic()

        # WHEN it is used, THEN it fails fast with StoreUnavailable
        with pytest.raises(StoreUnavailable) as raised:
            OPERATIONS[operation][1](store, clock.now())

        assert time.monotonic() - started < 5, "the request timeouts were not applied"
        assert isinstance(raised.value.__cause__, TransportError)
    finally:
        store.close()


# --- round trips, against moto ------------------------------------------------------------


@pytest.fixture
def moto_client() -> Iterator[Any]:
    with mock_aws():
        c = client(endpoint=None)
        try:
            create_table(c, TABLE)
            yield c
        finally:
            c.close()


def count_calls(c: Any) -> list[str]:
    calls: list[str] = []
    c.meta.events.register("before-call.dynamodb.*", lambda model, **kw: calls.append(model.name))
    return calls


def counter_attributes(c: Any, bucket: str) -> set[str]:
    raw = c.get_item(TableName=TABLE, Key={"pk": {"S": f"RL#{bucket}"}, "sk": {"S": "RL"}})
    return {a for a in raw["Item"] if a.startswith(("c:", "e:"))}


def test_fixed_window_hit_is_one_request_each_time_including_rollover(moto_client, clock):
    # GIVEN a plan of 3/second, 100/minute and 1000/day on a fixed window
    limits = (
        Limit("per-second", Unit.SECOND, 3, False),
        Limit("per-minute", Unit.MINUTE, 100, False),
        Limit("per-day", Unit.DAY, 1000, True),
    )
    clock.set(1_767_225_600.0 + 58)  # two seconds before a minute boundary
    store = DynamoStore(TABLE, moto_client, clock)
    calls = count_calls(moto_client)

    # WHEN 4 requests arrive in each of 4 seconds, crossing into the next minute
    decisions = []
    for _ in range(4):
        for _ in range(4):
            before = len(calls)
            cp = plan_counters(limits, Algorithm.FIXED, clock.now(), 1, {})
            decisions.append(decide(cp, store.hit("consumer", cp.slots, cp.guards, cp.cost)))

            # THEN every hit, admitted or denied, is exactly one request
            assert calls[before:] == ["UpdateItem"]
        clock.advance(1)

    assert [d.admitted for d in decisions] == [True, True, True, False] * 4
    assert {d.exceeded.name for d in decisions if not d.admitted} == {"per-second"}

    # AND the counters of past windows were removed as the windows rolled over
    current = {s.name for s in cp.slots}
    assert counter_attributes(moto_client, "consumer") == {
        p + n for n in current for p in ("c:", "e:")
    }


def test_sliding_window_hit_with_a_warm_cache_is_one_request(moto_client, clock):
    from shared.core.ratelimit import learn

    limits = (Limit("per-minute", Unit.MINUTE, 10, False),)
    store = DynamoStore(TABLE, moto_client, clock)
    known: dict[str, int] = {}
    calls = count_calls(moto_client)
    for step in range(30):
        before = len(calls)
        cp = plan_counters(limits, Algorithm.SLIDING, clock.now(), 1, known)
        result = store.hit("c", cp.slots, cp.guards, cp.cost)
        learn(cp, result, known)
        assert calls[before:] == ["UpdateItem"], step
        clock.advance(7)


def test_reusing_an_expired_counter_is_one_request_when_this_process_saw_it(moto_client, clock):
    store = DynamoStore(TABLE, moto_client, clock)
    store.hit("b", [Slot("m1", 2, clock.now() + 10)], [], 2)
    clock.advance(10)
    calls = count_calls(moto_client)

    result = store.hit("b", [Slot("m1", 2, clock.now() + 10)], [], 1)

    assert (result.admitted, result.counts["m1"]) == (True, 1)
    assert calls == ["UpdateItem"]


class WithoutOldItem:
    """A client whose backend ignores ReturnValuesOnConditionCheckFailure (older emulators)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def update_item(self, **kw: Any) -> Any:
        try:
            return self._inner.update_item(**kw)
        except ClientError as e:
            e.response.pop("Item", None)
            raise


def test_denied_hit_reads_counts_once_when_the_backend_does_not_return_the_old_item(
    moto_client, clock
):
    store = DynamoStore(TABLE, WithoutOldItem(moto_client), clock)
    slot = Slot("m1", 2, clock.now() + 60)
    store.hit("b", [slot], [], 2)
    calls = count_calls(moto_client)

    denied = store.hit("b", [slot], [], 1)

    assert (denied.admitted, denied.counts["m1"]) == (False, 2)
    assert calls == ["UpdateItem", "GetItem"]


def test_denied_hit_is_one_request_with_the_old_item(moto_client, clock):
    store = DynamoStore(TABLE, moto_client, clock)
    slot = Slot("m1", 2, clock.now() + 60)
    store.hit("b", [slot], [], 2)
    calls = count_calls(moto_client)

    denied = store.hit("b", [slot], [], 1)

    assert (denied.admitted, denied.counts["m1"]) == (False, 2)
    assert calls == ["UpdateItem"]


def test_batch_uses_one_transaction_with_an_idempotency_token(offline, clock):
    store = DynamoStore(TABLE, offline, clock)
    with Stubber(offline) as stub:
        stub.add_response(
            "transact_write_items",
            {},
            {"TransactItems": ANY, "ClientRequestToken": ANY},
        )
        store.transact([Put(Item("p", "a", {})), Delete("p", "b")])
        stub.assert_no_pending_responses()
