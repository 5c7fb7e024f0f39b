"""Problem details everywhere: unknown routes, wrong methods, bad JSON, invalid fields,
an unavailable store and unexpected failures. Plus health and CORS."""

import logging

import pytest

from shared.ports import StoreUnavailable
from tests.functional.api.harness import ADMIN, PORTAL, harness

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def is_problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert set(body) >= PROBLEM_FIELDS and body["status"] == status
    return body


def test_healthz_200(h):
    assert h.ok("GET", "/healthz") == {"status": "ok"}


def test_unknown_route_404_problem(h):
    is_problem(h.client.get("/v1/nowhere"), 404)
    is_problem(h.client.get("/v1/me/keys/"), 404)  # no redirect on a trailing slash


def test_wrong_method_405_problem_with_allow(h):
    resp = h.client.put("/v1/catalog")

    is_problem(resp, 405)
    assert resp.headers["allow"] == "GET"


def test_malformed_json_400_problem(h):
    resp = h.client.post("/v1/auth/login", content=b'{"email": ',
                         headers={"content-type": "application/json"})

    assert is_problem(resp, 400)["type"].endswith("/malformed-json")


def test_invalid_fields_422_problem_lists_each_field(h):
    resp = h.client.post("/v1/admin/apis", headers=ADMIN,
                         json={"name": "Bad Name", "version": "v1", "upstreams": []})

    body = is_problem(resp, 422)
    assert {e["field"] for e in body["errors"]} == {"body.name", "body.base_path",
                                                    "body.upstreams"}


def test_cursor_not_issued_by_the_api_422(h):
    resp = h.client.get("/v1/catalog?cursor=A")

    assert is_problem(resp, 422)["errors"][0]["field"] == "query.cursor"


def test_store_unavailable_503_problem_with_retry_after(h, monkeypatch):
    def down(*a, **k):
        raise StoreUnavailable("boom")

    monkeypatch.setattr(h.store, "query", down)

    resp = h.client.get("/v1/catalog")

    is_problem(resp, 503)
    assert resp.headers["retry-after"] == "1"


def test_unexpected_failure_500_problem_without_details_or_trace(monkeypatch, caplog):
    from shared.management import catalog

    def broken(*a, **k):
        raise RuntimeError("internal detail tw_secret")

    monkeypatch.setattr(catalog, "list_page", broken)
    with harness(raise_app_exceptions=False) as h, caplog.at_level(logging.ERROR):
        resp = h.client.get("/v1/catalog")

    body = is_problem(resp, 500)
    assert "tw_secret" not in resp.text and "Traceback" not in resp.text
    assert body["detail"].startswith("Something went wrong")
    assert any("unhandled RuntimeError" in r.getMessage() for r in caplog.records)


def test_cors_preflight_from_the_portal_origin_200(h):
    resp = h.client.options("/v1/me/keys", headers={
        "Origin": PORTAL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})

    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] == PORTAL


@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_cors_refuses_other_origins_400(h, origin):
    resp = h.client.options("/v1/me/keys", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})

    assert resp.status_code == 400
    assert "access-control-allow-origin" not in resp.headers


def test_responses_are_not_cached_200(h):
    resp = h.client.get("/healthz")

    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["x-content-type-options"] == "nosniff"


def test_openapi_document_is_served_under_v1_200(h):
    doc = h.ok("GET", "/v1/openapi.json")

    assert doc["openapi"].startswith("3.")
    assert "/v1/me/keys/{key_id}/rotate" in doc["paths"]


def test_unknown_query_parameter_422_names_it(h):
    resp = h.client.get("/v1/catalog?limt=10&limit=5")

    body = is_problem(resp, 422)
    assert body["errors"][0]["field"] == "query.limt"
