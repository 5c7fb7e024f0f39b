"""Issue 9: a consumer name may contain NUL and other control characters.

Names and other free-text fields of the management schemas refuse NUL, C0/C1 controls,
DEL and invisible bidi/zero-width formatting with a 422 naming the field; descriptions
keep tabs and line breaks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functional.api.harness import ADMIN, Harness, harness


@pytest.fixture
def h() -> Iterator[Harness]:
    with harness() as world:
        yield world

BAD = ["evil\x00name", "line\nbreak", "bell\x07", "del\x7f", "c1\x85", "rtl\u202eoverride",
       "zero\u200bwidth", "bom\ufeff"]


@pytest.mark.parametrize("name", BAD)
def test_renaming_my_consumer_to_a_name_with_controls_422(h, name):
    dev = h.signup(name="Before")

    resp = h.client.patch("/v1/me", headers=dev.headers, json={"name": name})

    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "body.name"
    assert name not in resp.text  # not echoed
    assert h.ok("GET", "/v1/me", headers=dev.headers)["consumer"]["name"] == "Before"


@pytest.mark.parametrize("name", BAD[:3])
def test_signup_name_and_key_name_with_controls_422(h, name):
    resp = h.client.post("/v1/auth/signup", json={
        "email": "nul@example.com", "password": "a long and unusual passphrase", "name": name})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.name"

    dev = h.signup()
    resp = h.client.post("/v1/me/keys", json={"name": name}, headers=dev.headers)
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.name"


def test_plan_description_keeps_line_breaks_but_not_nul(h):
    h.create_plan("Lines", apis=(), description="first line\n\tsecond line")

    resp = h.client.post("/v1/admin/plans", headers=ADMIN,
                         json={"name": "Nul", "apis": [], "description": "a\x00b"})
    assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "body.description"


def test_ordinary_unicode_names_pass(h):
    dev = h.signup()
    got = h.ok("PATCH", "/v1/me", headers=dev.headers, json={"name": "Zoë's Café — 東京"})
    assert got["consumer"]["name"] == "Zoë's Café — 東京"
