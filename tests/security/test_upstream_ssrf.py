"""Issue 9: admins can point upstreams at loopback, link-local metadata or the runtime API.

By default (no allowance) those upstream URLs are a 422 problem naming the field; with
TOLLWAY_ALLOW_PRIVATE_UPSTREAMS=on loopback and private ranges pass, but link-local
(cloud metadata) and the Lambda runtime API never do. Literal addresses only: names are not
resolved at write time.
"""

from __future__ import annotations

import pytest

from shared.management.upstreams import STRICT, UpstreamPolicy, refusal
from shared.settings import from_env
from tests.functional.api.harness import ADMIN, harness

ALWAYS_REFUSED = [
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.170.2/v2/credentials",  # ECS task credentials
    "http://[fe80::1]/",
    "http://[fe80::a9fe:a9fe]/",
    "http://0.0.0.0:8080/",
    "http://[::]/",
    "http://224.0.0.1/",
]
PRIVATE = [
    "http://127.0.0.1:8083/",
    "http://127.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",
    "http://[::1]:9000/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost:8081/",
    "http://api.localhost/",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
]
PUBLIC = ["https://api.example.com/v1", "http://upstream.test", "https://93.184.215.14/"]


def body(url: str, name: str = "demo") -> dict:
    return {"name": name, "version": "v1", "base_path": f"/{name}/v1",
            "upstreams": [{"url": "https://api.example.com"}, {"url": url}]}


@pytest.mark.parametrize("url", ALWAYS_REFUSED + PRIVATE)
def test_create_api_with_an_internal_upstream_is_a_422_problem(url):
    with harness() as h:
        resp = h.client.post("/v1/admin/apis", headers=ADMIN, json=body(url))

        assert resp.status_code == 422, resp.text
        doc = resp.json()
        assert resp.headers["content-type"] == "application/problem+json"
        assert doc["errors"][0]["field"] == "body.upstreams.1.url"
        assert "TOLLWAY_ALLOW_PRIVATE_UPSTREAMS" in doc["detail"]
        assert h.ok("GET", "/v1/admin/apis", headers=ADMIN)["items"] == []


@pytest.mark.parametrize("url", ALWAYS_REFUSED[:3] + PRIVATE[:1])
def test_update_api_to_an_internal_upstream_is_a_422_and_changes_nothing(url):
    with harness() as h:
        api = h.create_api()
        resp = h.client.patch(f"/v1/admin/apis/{api['id']}", headers=ADMIN,
                              json={"upstreams": [{"url": url}]})

        assert resp.status_code == 422
        got = h.ok("GET", f"/v1/admin/apis/{api['id']}", headers=ADMIN)
        assert got["upstreams"] == api["upstreams"]


@pytest.mark.parametrize("url", PUBLIC)
def test_public_upstreams_and_names_are_accepted(url):
    with harness() as h:
        h.admin("POST", "/v1/admin/apis", json=body(url), status=201)


@pytest.mark.parametrize("url", PRIVATE)
def test_the_allowance_admits_loopback_and_private_ranges(url):
    with harness(allow_private_upstreams=True) as h:
        h.admin("POST", "/v1/admin/apis", json=body(url), status=201)


@pytest.mark.parametrize("url", ALWAYS_REFUSED)
def test_the_allowance_never_admits_metadata_link_local_or_unspecified(url):
    with harness(allow_private_upstreams=True) as h:
        assert h.client.post("/v1/admin/apis", headers=ADMIN, json=body(url)).status_code == 422


def test_the_lambda_runtime_api_is_refused_even_with_the_allowance():
    conf = from_env({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                     "TOLLWAY_ALLOW_PRIVATE_UPSTREAMS": "on"})
    policy = UpstreamPolicy(conf.allow_private_upstreams, conf.forbidden_upstream_hosts)
    assert refusal("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next", policy)
    assert refusal("http://127.0.0.1:8083/", UpstreamPolicy(True)) is None


def test_the_default_setting_is_strict():
    assert from_env({}).allow_private_upstreams is False
    assert refusal("http://127.0.0.1/", STRICT) is not None
