"""Amazon SES (API v2) ``SendEmail`` through botocore: one simple text e-mail per notice.

SES has no idempotency key; the services send each ``dedup_key`` once, and the key goes
into an e-mail tag so that a duplicate is traceable in SES event logs.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.ports import Notice, NotifyFailed

_TAG = re.compile(r"[^A-Za-z0-9_-]")


class SesNotifier:
    def __init__(self, client: Any, sender: str, configuration_set: str = "") -> None:
        """``client``: a botocore ``sesv2`` client (its region and credentials)."""
        self.client, self.sender, self.configuration_set = client, sender, configuration_set

    def send(self, notice: Notice) -> str:
        params: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [notice.recipient]},
            "Content": {"Simple": {
                "Subject": {"Data": notice.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": notice.text, "Charset": "UTF-8"}},
            }},
            "EmailTags": [{"Name": "kind", "Value": _TAG.sub("_", notice.kind)[:256]},
                          {"Name": "dedup", "Value": _TAG.sub("_", notice.dedup_key)[:256]}],
        }
        if self.configuration_set:
            params["ConfigurationSetName"] = self.configuration_set
        try:
            return str(self.client.send_email(**params)["MessageId"])
        except (ClientError, BotoCoreError) as e:
            raise NotifyFailed(f"SES refused the notice: {e}") from e
