"""The cloud notifiers against their services' documented wire formats: SES v2 SendEmail
on moto, Azure Communication Services e-mail on a fake server that checks the request
shape and the HMAC-SHA256 signature the ACS documentation specifies."""

import base64
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
import pytest
from moto import mock_aws

from shared.adapters.acs_notifier import AcsNotifier
from shared.adapters.ses_notifier import SesNotifier
from shared.core.clock import ManualClock
from shared.ports import Notice, NotifyFailed

NOTICE = Notice("dev@example.com", "deprecation", "demo v1 is deprecated", "Move to v2.",
                "deprecation:api_1:con_1", {"api_id": "api_1"})


@pytest.fixture
def ses():
    with mock_aws():
        client = botocore.session.get_session().create_client(
            "sesv2", region_name="eu-west-1", aws_access_key_id="testing",
            aws_secret_access_key="testing")
        client.create_email_identity(EmailIdentity="noreply@tollway.dev")
        yield client


def test_ses_sends_a_simple_email(ses):
    message_id = SesNotifier(ses, "noreply@tollway.dev").send(NOTICE)
    assert message_id
    v1 = botocore.session.get_session().create_client(
        "ses", region_name="eu-west-1", aws_access_key_id="testing",
        aws_secret_access_key="testing")
    assert v1.get_send_quota()["SentLast24Hours"] == 1


def test_ses_refusal_is_notify_failed(ses):
    with pytest.raises(NotifyFailed):
        SesNotifier(ses, "unverified@elsewhere.test").send(NOTICE)


KEY = base64.b64encode(b"acs-access-key-for-tests-0123456789").decode()


class FakeAcs(BaseHTTPRequestHandler):
    """POST /emails:send?api-version=2023-03-31 as documented; 202 with an operation id.
    A repeated repeatability-request-id is answered with the first answer, not resent."""

    sent: dict = {}
    fail_next = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        problems = self.check(body)
        if problems or FakeAcs.fail_next:
            FakeAcs.fail_next = max(0, FakeAcs.fail_next - 1)
            self.send_response(400 if problems else 500)
            self.end_headers()
            self.wfile.write(json.dumps({"error": problems}).encode())
            return
        rid = self.headers["repeatability-request-id"]
        first = FakeAcs.sent.setdefault(rid, {"id": str(uuid.uuid4()), "body": json.loads(body)})
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Operation-Location", f"http://x/emails/operations/{first['id']}")
        self.end_headers()
        self.wfile.write(json.dumps({"id": first["id"], "status": "Running"}).encode())

    def check(self, body):
        p = []
        if self.path != "/emails:send?api-version=2023-03-31":
            p.append("path")
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if self.headers["x-ms-content-sha256"] != digest:
            p.append("content hash")
        signed = f"POST\n{self.path}\n{self.headers['x-ms-date']};{self.headers['Host']};{digest}"
        sig = base64.b64encode(hmac.new(base64.b64decode(KEY), signed.encode(),
                                        hashlib.sha256).digest()).decode()
        want = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={sig}"
        if self.headers["Authorization"] != want:
            p.append("signature")
        try:
            uuid.UUID(self.headers["repeatability-request-id"])
        except (TypeError, ValueError):
            p.append("repeatability-request-id")
        if not self.headers.get("repeatability-first-sent"):
            p.append("repeatability-first-sent")
        doc = json.loads(body)
        if not (doc.get("senderAddress") and doc["recipients"]["to"][0]["address"]
                and doc["content"]["subject"] and doc["content"].get("plainText")):
            p.append("body")
        return p


@pytest.fixture
def acs():
    FakeAcs.sent, FakeAcs.fail_next = {}, 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAcs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_acs_request_matches_the_documented_shape_and_signature(acs):
    notifier = AcsNotifier(acs, KEY, "DoNotReply@tollway.dev", ManualClock())
    first = notifier.send(NOTICE)
    again = notifier.send(NOTICE)  # a retry of the same notice: ACS drops the repeat
    assert first == again and len(FakeAcs.sent) == 1
    body = next(iter(FakeAcs.sent.values()))["body"]
    assert body["recipients"]["to"] == [{"address": "dev@example.com"}]
    assert body["content"]["subject"] == "demo v1 is deprecated"


def test_acs_failure_is_notify_failed_and_a_wrong_key_is_refused(acs):
    FakeAcs.fail_next = 1
    with pytest.raises(NotifyFailed):
        AcsNotifier(acs, KEY, "DoNotReply@tollway.dev", ManualClock()).send(NOTICE)
    wrong = base64.b64encode(b"another-key").decode()
    with pytest.raises(NotifyFailed):
        AcsNotifier(acs, wrong, "DoNotReply@tollway.dev", ManualClock()).send(NOTICE)
    assert FakeAcs.sent == {}
