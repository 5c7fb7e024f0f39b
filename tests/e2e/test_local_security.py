"""Issue 9 through the local stack's HTTP front doors (``tollway local`` as a subprocess)."""

from __future__ import annotations

import json
import os
import time

import jwt
import pytest

from functions.local.stack import Options, server_config
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow

JWT_SECRET = "local-stack-jwt-secret-" + "s" * 24
ENV_SECRET = "env-issuer-jwt-secret-" + "e" * 24


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    data = tmp_path_factory.mktemp("secstack") / "data"
    env_issuer = [{"issuer": "https://env.example", "audience": "tollway",
                   "algorithms": ["HS256"], "secret": ENV_SECRET}]
    os.environ["TOLLWAY_JWT_ISSUERS"] = json.dumps(env_issuer)  # read by the subprocess
    try:
        with local_stack(data, "--jwt-issuer", "https://local.example", "--jwt-audience",
                         "tollway-local", "--jwt-secret", JWT_SECRET) as state:
            state["data_dir"] = data
            yield state
    finally:
        del os.environ["TOLLWAY_JWT_ISSUERS"]


def bearer(secret: str = JWT_SECRET, **claims) -> dict[str, str]:
    body = {"iss": "https://local.example", "aud": "tollway-local", "sub": "con_demo",
            "exp": time.time() + 300, **claims}
    return {"Authorization": f"Bearer {jwt.encode(body, secret, algorithm='HS256')}"}


# --- JWT bearer tokens on the local stack ----------------------------------------------------


def test_a_token_signed_with_the_flag_secret_reaches_the_demo_upstream_200(stack):
    with client() as c:
        r = c.get(stack["demo_url"], headers=bearer())
    assert r.status_code == 200, r.text
    assert r.json()["path"] == "/echo/hello"
    assert "authorization" not in r.json()["headers"]


def test_a_token_from_the_issuer_in_tollway_jwt_issuers_is_accepted_200(stack):
    with client() as c:
        r = c.get(stack["demo_url"], headers=bearer(ENV_SECRET, iss="https://env.example",
                                                    aud="tollway"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("bad", [
    {"secret": "an-attacker-chosen-secret-" + "x" * 20},
    {"exp": float("nan")},
    {"exp": "9999999999"},
    {"aud": "someone-else"},
    {"sub": "con_nobody"},
])
def test_bad_tokens_get_the_gateway_401(stack, bad):
    secret = bad.pop("secret", JWT_SECRET)
    with client() as c:
        r = c.get(stack["demo_url"], headers=bearer(secret, **bad))
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_the_jwt_secret_is_not_written_to_local_json(stack):
    text = (stack["data_dir"] / "local.json").read_text()
    assert JWT_SECRET not in text and ENV_SECRET not in text
    assert json.loads(text)["jwt_issuers"][-1]["issuer"] == "https://local.example"


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


# --- portal and stack hygiene ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/index.html", "/js/app.js", "/config.js"])
def test_portal_responses_forbid_framing_and_sniffing(stack, path):
    with client() as c:
        r = c.get(stack["portal_url"] + path)
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert stack["management_url"] in csp and stack["gateway_url"] in csp


@pytest.mark.parametrize("path", ["/missing.js", "/js/nope/deeper.css", "/..%2f..%2fetc/passwd"])
def test_a_missing_portal_file_is_a_404_without_a_traceback(stack, path):
    with client() as c:
        r = c.get(stack["portal_url"] + path)
    assert r.status_code == 404
    assert r.headers["x-frame-options"] == "DENY"
    log = next(stack["data_dir"].parent.glob("stack-*.log")).read_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log


def test_the_data_directory_and_sqlite_files_are_private(stack):
    import stat

    data = stack["data_dir"]
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = list(data.glob("tollway.db*"))
    assert files
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600
                                                                        for f in files}


def test_the_management_api_refuses_a_body_over_1_mib_with_a_413_problem(stack):
    big = b'{"name":"' + b"x" * (1024 * 1024) + b'"}'
    with client() as c:
        r = c.post(f"{stack['management_url']}/v1/auth/login", content=big,
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 413

        def chunks():  # no Content-Length: the limit holds for a streamed body too
            for _ in range(20):
                yield b"x" * (64 * 1024)

        r = c.post(f"{stack['management_url']}/v1/auth/login", content=chunks(),
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        ok = c.post(f"{stack['management_url']}/v1/auth/login",
                    json={"email": "nobody@example.com", "password": "whatever it is"})
        assert ok.status_code == 401  # ordinary bodies pass through untouched
