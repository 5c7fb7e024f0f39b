"""Azure Communication Services e-mail: ``POST {endpoint}/emails:send?api-version=2023-03-31``
with HMAC-SHA256 request signing (access key), plain HTTP from the standard library.

The notice's ``dedup_key`` becomes the ``repeatability-request-id`` (a UUID derived from it)
with ``repeatability-first-sent``, so ACS itself drops a repeated send. 202 Accepted
answers with the operation id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from email.utils import formatdate
from urllib.parse import urlsplit

from shared.core.clock import Clock
from shared.ports import Notice, NotifyFailed

API_VERSION = "2023-03-31"
_NAMESPACE = uuid.UUID("6f1c1f0e-6a43-4c7e-9d0e-0d9c3d7b1a14")


class AcsNotifier:
    def __init__(self, endpoint: str, access_key: str, sender: str, clock: Clock,
                 timeout: float = 5.0) -> None:
        """``endpoint``: https://<resource>.communication.azure.com; ``access_key``: the
        resource's base64 key (from the connection string); ``sender``: a verified
        DoNotReply@<domain> address."""
        if urlsplit(endpoint).scheme not in ("https", "http"):
            raise ValueError("the ACS endpoint is an https:// URL")
        self.endpoint, self.key = endpoint.rstrip("/"), base64.b64decode(access_key)
        self.sender, self.clock, self.timeout = sender, clock, timeout

    def _headers(self, path_and_query: str, body: bytes, first_sent: str) -> dict[str, str]:
        host = urlsplit(self.endpoint).netloc
        date = formatdate(self.clock.now(), usegmt=True)
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        to_sign = f"POST\n{path_and_query}\n{date};{host};{digest}"
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest())
        return {
            "Content-Type": "application/json", "x-ms-date": date,
            "x-ms-content-sha256": digest,
            "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
                             f"&Signature={sig.decode()}",
            "repeatability-first-sent": first_sent,
        }

    def send(self, notice: Notice) -> str:
        body = json.dumps({
            "senderAddress": self.sender,
            "recipients": {"to": [{"address": notice.recipient}]},
            "content": {"subject": notice.subject, "plainText": notice.text},
            "headers": {"x-tollway-kind": notice.kind},
        }).encode()
        path = f"/emails:send?api-version={API_VERSION}"
        headers = self._headers(path, body, formatdate(self.clock.now(), usegmt=True))
        headers["repeatability-request-id"] = str(uuid.uuid5(_NAMESPACE, notice.dedup_key))
        req = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.endpoint + path, body, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                answer = json.loads(resp.read() or b"{}")
                return str(answer.get("id") or resp.headers.get("Operation-Location", ""))
        except urllib.error.HTTPError as e:
            e.close()
            raise NotifyFailed(f"Azure Communication Services answered {e.code}") from e
        except (urllib.error.URLError, TimeoutError, ValueError) as e:
            raise NotifyFailed(f"Azure Communication Services refused the notice: {e}") from e
