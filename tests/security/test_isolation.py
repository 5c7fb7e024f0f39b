"""Developer A against developer B, generated from the OpenAPI document: every developer
route that takes an id answers 404 to A for B's ids, byte-identical to the 404 for an id
that does not exist, and changes nothing of B's; list routes show A only A's items."""

import pytest

from tests.security.routes import by_role, fill, has_body, ids, path_params

DEVELOPER_OPS = by_role("developer")
WITH_IDS = [(m, p) for m, p in DEVELOPER_OPS if path_params(p)]
LISTS = [(m, p) for m, p in DEVELOPER_OPS if m == "GET" and not path_params(p)]
BODIES = {"/v1/me/keys/{key_id}/rotate": {"grace_seconds": 60},
          # the plan the parties' subscriptions already have: a no-op change for B
          "/v1/me/subscriptions/{subscription_id}/change-plan": lambda h: {"plan_id": next(
              p["id"] for p in h.admin("GET", "/v1/admin/plans")["items"] if p["name"] == "Free")}}


def call(h, method, path, dev, values):
    body = BODIES.get(path, {})
    kwargs = {"json": body(h) if callable(body) else body} if has_body(method, path) else {}
    return h.client.request(method, fill(path, values), headers=dev.headers, **kwargs)


def snapshot(h, party):
    """Everything B can see of B's own resources."""
    headers = party.dev.headers
    return {
        "me": h.ok("GET", "/v1/me", headers=headers),
        "keys": h.ok("GET", "/v1/me/keys", headers=headers),
        "subscriptions": h.ok("GET", "/v1/me/subscriptions", headers=headers),
        "usage": h.ok("GET", "/v1/me/usage", headers=headers),
    }


def test_every_developer_id_route_is_covered_by_an_id_kind(pair):
    for method, path in WITH_IDS:
        unknown = set(path_params(path)) - set(pair.b.ids)
        assert not unknown, f"{method} {path}: give Party an id for {unknown}"
    assert len(WITH_IDS) >= 5


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=ids(WITH_IDS))
def test_a_calling_with_bs_ids_404_reveals_nothing_and_changes_nothing(sec, pair, method, path):
    before = snapshot(sec, pair.b)
    nonexistent = {name: value[:4] + "doesnotexist0000000000" for name, value in
                   pair.b.ids.items()}

    theirs = call(sec, method, path, pair.a.dev, pair.b.ids)
    missing = call(sec, method, path, pair.a.dev, nonexistent)

    assert theirs.status_code == 404, theirs.text
    assert theirs.content == missing.content
    assert theirs.headers["content-type"] == "application/problem+json"
    assert not any(i in theirs.text for i in pair.b.identifiers)
    assert snapshot(sec, pair.b) == before


@pytest.mark.parametrize(("method", "path"), WITH_IDS, ids=ids(WITH_IDS))
def test_b_calling_with_bs_own_ids_is_not_404(sec, pair, method, path):
    resp = call(sec, method, path, pair.b.dev, pair.b.ids)

    assert resp.status_code < 400, resp.text


@pytest.mark.parametrize(("method", "path"), LISTS, ids=ids(LISTS))
def test_list_routes_show_a_only_as_items(sec, pair, method, path):
    resp = sec.client.get(path, headers=pair.a.dev.headers)

    assert resp.status_code == 200
    leaked = [i for i in pair.b.identifiers if i in resp.text]
    assert not leaked, leaked


def test_lists_contain_all_of_as_items_and_only_a_counts_as_usage(sec, pair):
    headers = pair.a.dev.headers

    keys = {k["id"] for k in sec.ok("GET", "/v1/me/keys", headers=headers)["items"]}
    subs = {s["id"] for s in sec.ok("GET", "/v1/me/subscriptions", headers=headers)["items"]}
    usage = sec.ok("GET", "/v1/me/usage", headers=headers)

    assert {pair.a.key_id, pair.a.rotated_key_id} <= keys and len(keys) == 3
    assert subs == {pair.a.subscription_id, pair.a.pending_subscription_id}
    assert usage["consumer_id"] == pair.a.dev.consumer_id
    assert usage["total"]["requests"] == pair.a.requests


def test_no_developer_route_takes_a_consumer_or_account_id(pair):
    from tests.security.routes import DOC

    for method, path in DEVELOPER_OPS:
        op = DOC["paths"][path][method.lower()]
        names = {p["name"] for p in op.get("parameters", [])}
        assert not names & {"consumer_id", "account_id", "owner"}, (method, path)
