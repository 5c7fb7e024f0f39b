"""Issue 9 through the local stack's HTTP front doors (``tollway local`` as a subprocess)."""

from __future__ import annotations

import pytest

from functions.local.stack import Options, server_config
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("secstack") / "data"
    with local_stack(data) as state:
        state["data_dir"] = data
        yield state


# --- client address: X-Forwarded-For is not believed from loopback ---------------------------


def test_rotating_x_forwarded_for_does_not_dodge_the_signup_limit(stack):
    mgmt = stack["management_url"]
    with client() as c:
        statuses = []
        for n in range(21):  # the limit is 20 sign-ups per address per hour
            r = c.post(f"{mgmt}/v1/auth/signup",
                       json={"email": f"xff{n}@example.com", "password": "a long and unusual "
                             "passphrase"},
                       headers={"X-Forwarded-For": f"203.0.113.{n}",
                                "Forwarded": f"for=198.51.100.{n}", "X-Real-IP": f"192.0.2.{n}"})
            statuses.append(r.status_code)
    assert statuses[:20] == [201] * 20 and statuses[20] == 429, statuses


def test_servers_believe_forwarding_headers_only_from_configured_proxies():
    default = server_config(Options(), "management", 1, None)
    assert default.proxy_headers is False and default.forwarded_allow_ips == ""
    behind = server_config(Options(trusted_proxies=("10.0.0.0/8",)), "gateway", 1, None)
    assert behind.proxy_headers is True and behind.forwarded_allow_ips == "10.0.0.0/8"
