"""The store's own DynamoDB client against a scripted server over real HTTP: what it
sends, how it reads answers and errors, and which failures it tries again (and how often).
The full store contract runs on it against moto's server (tests/contract, dynamodb-server)."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.adapters.dynamodb import DynamoStore
from shared.adapters.dynamodb_http import DynamoHttpClient, ServiceError, TransportError
from shared.core.clock import ManualClock
from shared.core.ratelimit import Slot
from shared.ports import StoreUnavailable

Reply = tuple[int, bytes, dict[str, str]]


class Scripted:
    """Answers requests from a list of replies, in order, and records each request."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.peers: list[tuple[str, int]] = []
        self.hang_up = False
        self.clients: list[DynamoHttpClient] = []  # closed after the test
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive unless a reply says otherwise

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                scripted.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
                scripted.peers.append(self.client_address)
                status, payload, headers = scripted.replies.pop(0)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
                if scripted.hang_up:  # close without saying so, as an idle timeout does
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def shutdown_request(self, request: Any) -> None:
                super().shutdown_request(request)
                scripted.closed.release()  # a connection is closed on the server's side

        self.closed = threading.Semaphore(0)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, status: int, doc: Any, crc: bool = True, raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(doc).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        if crc:
            headers["x-amz-crc32"] = str(zlib.crc32(payload))
        self.replies.append((status, payload, headers))

    def error(self, status: int, code: str, **fields: Any) -> None:
        self.reply(
            status, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "m", **fields}
        )


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    for c in s.clients:
        c.close()
    s.server.shutdown()
    s.server.server_close()


def wire(
    server: Scripted, attempts: int = 3, pauses: list[float] | None = None
) -> DynamoHttpClient:
    c = DynamoHttpClient(
        endpoint_url=server.url,
        region_name="eu-west-1",
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
        aws_session_token="tok",
        max_attempts=attempts,
        sleep=(pauses.append if pauses is not None else lambda _: None),
    )
    server.clients.append(c)
    return c


def test_a_call_is_one_signed_json_post_and_its_answer_comes_back_as_botocore_gives_it(server):
    server.reply(200, {"Item": {"pk": {"S": "a"}, "n": {"N": "3"}}})
    c = wire(server)
    answer = c.get_item(TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True)
    assert answer == {"Item": {"pk": {"S": "a"}, "n": {"N": "3"}}}
    ((headers, body),) = server.seen
    assert json.loads(body) == {"TableName": "t", "Key": {"pk": {"S": "a"}}, "ConsistentRead": True}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amz-security-token"] == "tok"
    assert headers["host"] == server.url.removeprefix("http://")
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
    assert "/eu-west-1/dynamodb/aws4_request" in headers["authorization"]


def test_error_answers_carry_botocores_response_shape(server):
    server.error(400, "ConditionalCheckFailedException", Item={"pk": {"S": "a"}})
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "x"}]
    server.reply(
        400,
        {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": "Transaction cancelled",
            "CancellationReasons": reasons,
        },
    )
    c = wire(server)
    with pytest.raises(ServiceError) as first:
        c.update_item(TableName="t")
    assert first.value.code == "ConditionalCheckFailedException"
    assert first.value.response == {
        "Error": {"Code": "ConditionalCheckFailedException", "Message": "m"},
        "Item": {"pk": {"S": "a"}},
    }
    with pytest.raises(ServiceError) as second:
        c.transact_write_items(TransactItems=[])
    assert second.value.response["CancellationReasons"] == reasons
    assert second.value.response["Error"]["Message"] == "Transaction cancelled"
    assert len(server.seen) == 2  # neither is tried again


@pytest.mark.parametrize(
    "fail",
    [
        lambda s: s.error(400, "ProvisionedThroughputExceededException"),
        lambda s: s.error(400, "ThrottlingException"),
        lambda s: s.error(500, "InternalServerError"),
        lambda s: s.reply(503, None, raw=b"<html>busy</html>"),
        lambda s: s.reply(200, {"Item": {}}, crc=False, raw=b'{"Item": {}}  '),
    ],
    ids=["throughput", "throttling", "500", "503-html", "bad-crc"],
)
def test_transient_failures_are_tried_again_with_short_growing_pauses(server, fail):
    for _ in range(3):
        fail(server)
    # a wrong checksum: say so in the header
    for i, (status, payload, headers) in enumerate(server.replies):
        if "x-amz-crc32" not in headers and status == 200:
            server.replies[i] = (status, payload, {**headers, "x-amz-crc32": "1"})
    pauses: list[float] = []
    c = wire(server, attempts=3, pauses=pauses)
    with pytest.raises((ServiceError, TransportError)):
        c.get_item(TableName="t")
    assert len(server.seen) == 3
    assert len(pauses) == 2 and 0 <= pauses[0] <= 0.025 and 0 <= pauses[1] <= 0.05


def test_a_retry_that_succeeds_answers(server):
    server.error(400, "ThrottlingException")
    server.reply(200, {"Attributes": {"c:m": {"N": "1"}}})
    assert wire(server).update_item(TableName="t") == {"Attributes": {"c:m": {"N": "1"}}}
    assert len(server.seen) == 2


def test_validation_errors_are_not_tried_again_and_the_store_says_unavailable(server):
    server.error(400, "ValidationException")
    store = DynamoStore("t", wire(server), ManualClock())
    with pytest.raises(StoreUnavailable, match="ValidationException"):
        store.hit("b", [Slot("m1", 5, 10**10)], [], 1)
    assert len(server.seen) == 1


def test_a_store_hit_reads_its_counters_from_the_answer(server):
    clock = ManualClock()
    server.reply(200, {"Attributes": {"c:m1": {"N": "2"}, "e:m1": {"N": "9999999999"}}})
    store = DynamoStore("t", wire(server), clock)
    result = store.hit("b", [Slot("m1", 5, 9999999999)], [], 1)
    assert result.admitted and result.counts["m1"] == 2
    sent = json.loads(server.seen[0][1])
    assert sent["TableName"] == "t" and sent["ReturnValues"] == "ALL_NEW"


def test_connections_are_kept_alive_and_one_the_server_closed_is_replaced_unseen(server):
    c = wire(server, attempts=1)  # no retries: a stale connection must not cost an error
    for _ in range(3):
        server.reply(200, {})
        c.get_item(TableName="t")
    assert len(set(server.peers)) == 1  # one connection for three calls

    server.hang_up = True
    for _ in range(3):
        server.reply(200, {})
        c.get_item(TableName="t")
        assert server.closed.acquire(timeout=10)  # the server has closed it by now
    # the first of these went on the kept connection, which the server then closed; each
    # next call noticed the close before sending and connected again, without an error
    assert server.peers[3] == server.peers[0]
    assert len(set(server.peers)) == 3
    c.close()


def test_an_answer_that_says_close_is_not_reused(server):
    c = wire(server, attempts=1)
    for _ in range(2):
        server.replies.append((200, b"{}", {"Connection": "close"}))
        c.get_item(TableName="t")
    assert len(set(server.peers)) == 2
