"""Catalog: API versions, lifecycle, OpenAPI documents, and what reaches the gateway."""

import pytest

from shared.management import records
from tests.functional.api.harness import ADMIN

FUTURE = "2026-06-30T00:00:00Z"


def test_create_api_is_a_draft_invisible_in_the_public_catalog_201(h):
    api = h.create_api(description="Echo")

    assert api["lifecycle"] == "draft" and api["id"].startswith("api_")
    assert api["routes"] == [{"method": "*", "path": "/*", "scopes": [], "policies": None}]
    assert h.ok("GET", "/v1/catalog")["items"] == []
    assert h.client.get(f"/v1/catalog/{api['id']}").status_code == 404


def test_create_api_with_a_taken_name_and_version_or_base_path_409(h):
    h.create_api("demo", "v1")

    twin = h.client.post("/v1/admin/apis", headers=ADMIN, json=_body("demo", "v1", "/other/v1"))
    same_path = h.client.post("/v1/admin/apis", headers=ADMIN,
                              json=_body("other", "v1", "/demo/v1"))

    assert twin.status_code == same_path.status_code == 409


def test_two_versions_run_side_by_side_200(h):
    v1, v2 = h.create_api("demo", "v1"), h.create_api("demo", "v2")
    h.publish(v1["id"])
    h.publish(v2["id"])

    listed = h.ok("GET", "/v1/catalog?name=demo")["items"]

    assert sorted((a["version"], a["base_path"]) for a in listed) == [
        ("v1", "/demo/v1"), ("v2", "/demo/v2")]
    assert all("upstreams" not in a for a in listed)


def test_lifecycle_moves_draft_published_deprecated_retired_200(h):
    api = h.create_api()
    path = f"/v1/admin/apis/{api['id']}/lifecycle"

    published = h.admin("POST", path, json={"state": "published"})
    deprecated = h.admin("POST", path, json={"state": "deprecated", "sunset_at": FUTURE})
    retired = h.admin("POST", path, json={"state": "retired"})

    assert published["lifecycle"] == "published"
    assert deprecated["lifecycle"] == "deprecated"
    assert deprecated["sunset_at"] == FUTURE
    assert deprecated["deprecated_at"] == "2026-01-01T00:00:00Z"
    assert retired["lifecycle"] == "retired" and retired["sunset_at"] == FUTURE
    actions = [e["action"] for e in h.admin("GET", f"/v1/admin/audit?target_id={api['id']}")[
        "items"]]
    assert sorted(actions) == ["api.create", "api.deprecated", "api.published", "api.retired"]


@pytest.mark.parametrize(("walk", "bad"), [
    ([], "retired"),
    ([], "deprecated"),
    (["published"], "published"),
    (["published", "deprecated", "retired"], "published"),
])
def test_lifecycle_rejects_moves_outside_the_transitions_409(h, walk, bad):
    api = h.create_api()
    path = f"/v1/admin/apis/{api['id']}/lifecycle"
    for state in walk:
        body = {"state": state} | ({"sunset_at": FUTURE} if state == "deprecated" else {})
        h.admin("POST", path, json=body)

    resp = h.client.post(path, headers=ADMIN, json={"state": bad} | (
        {"sunset_at": FUTURE} if bad == "deprecated" else {}))

    assert resp.status_code == 409
    assert "can move to" in resp.json()["detail"]


@pytest.mark.parametrize("sunset", [None, "2025-12-31T00:00:00Z"])
def test_deprecating_needs_a_future_sunset_date_422(h, sunset):
    api = h.world()["api"]

    resp = h.client.post(f"/v1/admin/apis/{api['id']}/lifecycle", headers=ADMIN,
                         json={"state": "deprecated", "sunset_at": sunset})

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "body.sunset_at"


def test_published_changes_reach_the_gateway_within_the_cache_ttl_without_restart(h):
    api = h.create_api()
    plan = h.create_plan()
    dev = h.signup()
    h.subscribe(dev, plan["id"])
    key = h.create_key(dev)["key"]
    assert h.through_gateway(key) == 404  # a draft is invisible

    h.publish(api["id"])
    assert h.through_gateway(key) == 404  # the gateway's cache still holds the old catalog
    h.after_cache_ttl()
    assert h.through_gateway(key) == 200

    h.admin("PATCH", f"/v1/admin/apis/{api['id']}",
            json={"routes": [{"method": "GET", "path": "/only/this"}]})
    h.after_cache_ttl()
    assert h.through_gateway(key, "/demo/v1/anything") == 404
    assert h.through_gateway(key, "/demo/v1/only/this") == 200


def test_deprecation_headers_and_retirement_reach_the_gateway(h):
    world = h.world()
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    path = f"/v1/admin/apis/{world['api']['id']}/lifecycle"

    h.admin("POST", path, json={"state": "deprecated", "sunset_at": FUTURE})
    h.admin("POST", path, json={"state": "retired"})
    h.after_cache_ttl()

    assert h.through_gateway(key) == 410


def test_base_path_of_a_published_api_cannot_change_409(h):
    api = h.world()["api"]

    resp = h.client.patch(f"/v1/admin/apis/{api['id']}", headers=ADMIN,
                          json={"base_path": "/moved/v1"})

    assert resp.status_code == 409


def test_draft_base_path_change_frees_the_old_path_200(h):
    api = h.create_api()

    moved = h.admin("PATCH", f"/v1/admin/apis/{api['id']}", json={"base_path": "/moved/v1"})

    assert moved["base_path"] == "/moved/v1"
    h.create_api("other", "v1", base_path="/demo/v1")


def test_name_and_version_cannot_be_patched_422(h):
    api = h.create_api()

    resp = h.client.patch(f"/v1/admin/apis/{api['id']}", headers=ADMIN, json={"name": "x"})

    assert resp.status_code == 422
    assert resp.json()["errors"][0]["type"] == "extra_forbidden"


def test_delete_a_draft_204_but_a_published_api_409(h):
    draft, live = h.create_api("a"), h.create_api("b")
    h.publish(live["id"])

    assert h.client.delete(f"/v1/admin/apis/{draft['id']}", headers=ADMIN).status_code == 204
    assert h.client.delete(f"/v1/admin/apis/{live['id']}", headers=ADMIN).status_code == 409
    assert h.client.get(f"/v1/admin/apis/{draft['id']}", headers=ADMIN).status_code == 404


def test_openapi_document_is_stored_and_served_to_the_portal_200(h):
    api = h.world()["api"]
    big = {"openapi": "3.1.0", "info": {"title": "Demo", "version": "1"},
           "paths": {f"/p{n}": {"get": {"summary": "x" * 200}} for n in range(400)}}

    stored = h.admin("PUT", f"/v1/admin/apis/{api['id']}/openapi", json=big)

    assert stored["size"] > 60_000  # several chunks
    assert h.ok("GET", f"/v1/catalog/{api['id']}/openapi") == big
    small = {"openapi": "3.0.3", "info": {"title": "Demo", "version": "2"}, "paths": {}}
    h.admin("PUT", f"/v1/admin/apis/{api['id']}/openapi", json=small)
    assert h.ok("GET", f"/v1/catalog/{api['id']}/openapi") == small
    parts = h.store.query(records.apidoc_pk(api["id"]), "PART#")
    assert len(parts) == 1  # stale chunks deleted


def test_openapi_document_of_a_draft_is_not_public_404(h):
    api = h.create_api()
    h.admin("PUT", f"/v1/admin/apis/{api['id']}/openapi",
            json={"openapi": "3.1.0", "info": {"title": "t", "version": "1"}})

    assert h.client.get(f"/v1/catalog/{api['id']}/openapi").status_code == 404
    assert h.admin("GET", f"/v1/admin/apis/{api['id']}/openapi")["openapi"] == "3.1.0"


def test_openapi_document_that_is_not_openapi_3_422(h):
    api = h.create_api()

    resp = h.client.put(f"/v1/admin/apis/{api['id']}/openapi", headers=ADMIN,
                        json={"swagger": "2.0", "info": {}})

    assert resp.status_code == 422


def test_openapi_document_above_512_kib_422(h):
    api = h.create_api()
    huge = {"openapi": "3.1.0", "info": {}, "x-pad": "y" * (512 * 1024)}

    resp = h.client.put(f"/v1/admin/apis/{api['id']}/openapi", headers=ADMIN, json=huge)

    assert resp.status_code == 422


def test_admin_lists_apis_in_every_state_filtered_by_lifecycle_200(h):
    h.create_api("a")
    h.publish(h.create_api("b")["id"])

    drafts = h.admin("GET", "/v1/admin/apis?lifecycle=draft")["items"]

    assert [a["name"] for a in drafts] == ["a"]
    assert len(h.admin("GET", "/v1/admin/apis")["items"]) == 2


def _body(name, version, base_path):
    return {"name": name, "version": version, "base_path": base_path,
            "upstreams": [{"url": "http://upstream.test"}]}


def test_sunset_more_than_ten_years_ahead_422(h):
    api = h.world()["api"]

    resp = h.client.post(f"/v1/admin/apis/{api['id']}/lifecycle", headers=ADMIN,
                         json={"state": "deprecated", "sunset_at": "9999-12-31T23:59:00-23:59"})

    assert resp.status_code == 422


def test_an_api_written_straight_to_the_store_still_blocks_its_name_and_path_409(h):
    from shared.core.models import Api, Upstream

    records.save_unaudited(h.store, [records.put_api_write(
        Api("seeded", "demo", "v1", "/demo/v1", (Upstream("http://u.test"),)))])

    same_name = h.client.post("/v1/admin/apis", headers=ADMIN, json=_body("demo", "v1", "/x/v1"))
    same_path = h.client.post("/v1/admin/apis", headers=ADMIN, json=_body("x", "v1", "/demo/v1"))

    assert same_name.status_code == same_path.status_code == 409
