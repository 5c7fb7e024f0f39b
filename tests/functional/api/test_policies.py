"""Policies through the management API: validated (422 naming the field), audited, shown
by GET, and enforced by a warm gateway within its cache TTL, without a redeploy."""

import pytest

from shared.core.request import GatewayRequest
from shared.management import catalog
from shared.management.entities import Actor
from shared.management.errors import Invalid
from shared.ports import UpstreamRequest, UpstreamResponse
from tests.functional.api.harness import ADMIN


class Echo:
    def __init__(self) -> None:
        self.requests: list[UpstreamRequest] = []

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        self.requests.append(request)
        return UpstreamResponse(200, (("content-type", "text/plain"),), b"ok")


def _key(h, plan_id):
    dev = h.signup()
    h.subscribe(dev, plan_id)
    return h.create_key(dev)["key"]


def test_policies_are_shown_and_audited_200(h):
    api = h.create_api(policies={"ip": {"deny": ["203.0.113.0/24"]}},
                       routes=[{"method": "GET", "path": "/*", "policies": {"cost": 5}}])
    assert api["policies"] == {"ip": {"deny": ["203.0.113.0/24"]}}
    assert api["routes"][0]["policies"] == {"cost": 5}

    patched = h.admin("PATCH", f"/v1/admin/apis/{api['id']}",
                      json={"policies": {"cache": {"ttl_seconds": 30}}})
    got = h.admin("GET", f"/v1/admin/apis/{api['id']}")

    assert patched["policies"] == got["policies"] == {
        "cache": {"ttl_seconds": 30, "vary_query": True, "shared": False, "private": False}}
    entries = h.admin("GET", f"/v1/admin/audit?target_id={api['id']}")["items"]
    update = next(e for e in entries if e["action"] == "api.update")
    assert update["before"]["policies"] == {"ip": {"deny": ["203.0.113.0/24"]}}
    assert update["after"]["policies"]["cache"]["ttl_seconds"] == 30


def test_empty_policies_clear_them_200(h):
    api = h.create_api(policies={"cost": 2})
    cleared = h.admin("PATCH", f"/v1/admin/apis/{api['id']}", json={"policies": {}})
    assert cleared["policies"] is None


def test_a_transform_that_would_add_credentials_is_refused_422(h):
    resp = h.client.post("/v1/admin/apis", headers=ADMIN, json={
        "name": "demo", "version": "v1", "base_path": "/demo/v1",
        "upstreams": [{"url": "http://upstream.test"}],
        "policies": {"transform": {"request_headers": {"set": {"Authorization": "Bearer x"}}}},
    })
    assert resp.status_code == 422
    assert "credentials" in resp.text and "transform.request_headers.set" in resp.text


def test_a_bad_cidr_and_a_cached_post_route_are_refused_422(h):
    api = h.create_api()
    bad_ip = h.client.patch(f"/v1/admin/apis/{api['id']}", headers=ADMIN,
                            json={"policies": {"ip": {"allow": ["10.0.0.0/33"]}}})
    cached_post = h.client.patch(f"/v1/admin/apis/{api['id']}", headers=ADMIN, json={
        "routes": [{"method": "POST", "path": "/*", "policies": {"cache": {"ttl_seconds": 5}}}]})
    assert bad_ip.status_code == cached_post.status_code == 422
    assert "CIDR" in bad_ip.text
    assert "routes[0].policies.cache" in cached_post.text


def test_a_route_timeout_beyond_the_budget_is_refused_422(h):
    api = h.create_api()
    with pytest.raises(Invalid) as e:
        catalog.update(h.store, h.clock, Actor("admin", "admin"), api["id"],
                       {"routes": [{"method": "GET", "path": "/*", "policies": {
                           "traffic": {"timeout_seconds": 20, "retries": 1}}}]}, budget=25)
    assert "40 s" in e.value.detail


def test_a_policy_change_takes_effect_at_the_gateway_within_the_cache_ttl(h):
    world = h.world()
    key = _key(h, world["plan"]["id"])
    echo = Echo()
    h.gateway.upstream = echo

    def call(ip: str = "203.0.113.9") -> int:
        return h.gateway.handle(GatewayRequest("GET", "/demo/v1/x", "",
                                               (("x-api-key", key),), source_ip=ip)).status

    assert call() == 200
    h.admin("PATCH", f"/v1/admin/apis/{world['api']['id']}",
            json={"policies": {"ip": {"deny": ["203.0.113.0/24"]},
                               "transform": {"request_headers": {"set": {"X-Env": "prod"}}}}})
    assert call() == 200  # the warm gateway still has the old catalog, for at most the TTL
    h.after_cache_ttl()
    assert call() == 403
    assert call("198.51.100.1") == 200
    assert ("x-env", "prod") in echo.requests[-1].headers


def test_plan_and_consumer_policies_are_shown_audited_and_enforced_200(h):
    world = h.world()
    plan = h.admin("PATCH", f"/v1/admin/plans/{world['plan']['id']}", json={"policies": {
        "ip": {"deny": ["203.0.113.0/24"]},
        "limits": [{"by": "header", "header": "X-Tenant", "rate_per_minute": 1}]}})
    assert plan["policies"]["ip"] == {"deny": ["203.0.113.0/24"]}
    assert plan["policies"]["limits"][0]["header"] == "x-tenant"
    dev = h.signup()
    h.subscribe(dev, world["plan"]["id"])
    key = h.create_key(dev)["key"]
    consumer_id = dev.consumer_id
    con = h.admin("PUT", f"/v1/admin/consumers/{consumer_id}/policies",
                  json={"ip": {"allow": ["198.51.100.0/24"]}})
    assert con["policies"] == {"ip": {"allow": ["198.51.100.0/24"]}}
    assert h.admin("GET", f"/v1/admin/consumers/{consumer_id}")["policies"] == con["policies"]
    actions = {e["action"] for e in h.admin("GET", "/v1/admin/audit")["items"]}
    assert {"plan.update", "consumer.policies"} <= actions

    h.gateway.upstream = Echo()
    h.after_cache_ttl()

    def call(ip: str, tenant: str = "t1") -> int:
        return h.gateway.handle(GatewayRequest(
            "GET", "/demo/v1/x", "", (("x-api-key", key), ("x-tenant", tenant)),
            source_ip=ip)).status

    assert call("192.0.2.1") == 403  # outside the consumer's allow list
    assert call("198.51.100.1") == 200
    assert call("198.51.100.1") == 429  # the plan's limit by header
    assert call("198.51.100.1", "t2") == 200


def test_plan_and_consumer_policies_refuse_other_kinds_422(h):
    world = h.world()
    plan = h.client.patch(f"/v1/admin/plans/{world['plan']['id']}", headers=ADMIN,
                          json={"policies": {"cache": {"ttl_seconds": 5}}})
    assert plan.status_code == 422 and "cache" in plan.text
    bad = h.client.put(f"/v1/admin/consumers/{h.signup().consumer_id}/policies",
                       headers=ADMIN, json={"ip": {"deny": ["300.1.1.1"]}})
    assert bad.status_code == 422 and "policies.ip.deny" in bad.text


def test_a_document_the_gateway_cannot_compile_is_refused_for_a_validating_api_422(h):
    api = h.create_api(routes=[{"method": "POST", "path": "/*",
                                "policies": {"validate": {"body": True}}}])
    broken = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
        "/x": {"post": {"requestBody": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}
    resp = h.client.put(f"/v1/admin/apis/{api['id']}/openapi", headers=ADMIN, json=broken)
    assert resp.status_code == 422 and "points nowhere" in resp.text
    fixed = {**broken, "components": {"schemas": {"Missing": {"type": "object"}}}}
    h.admin("PUT", f"/v1/admin/apis/{api['id']}/openapi", json=fixed)


def test_validate_policy_is_typed_in_the_openapi_document(h):
    schemas = h.client.get("/v1/openapi.json").json()["components"]["schemas"]
    assert set(schemas["PoliciesIO"]["properties"]) >= {
        "transform", "cors", "ip", "max_body_bytes", "anonymous", "limits", "cost",
        "traffic", "cache", "validate"}
    assert schemas["CacheIO"]["properties"]["ttl_seconds"]["maximum"] == 86400
    assert set(schemas["ScopedPoliciesIO"]["properties"]) == {"ip", "limits"}


def test_limits_round_trip_through_the_api_200(h):
    limits = [{"by": "ip", "rate_per_minute": 5},
              {"by": "header", "header": "X-Tenant", "quota_per_day": 9, "shadow": True}]
    api = h.create_api(policies={"limits": limits, "transform": {"add_prefix": "/v2"}})
    plan = h.admin("POST", "/v1/admin/plans", status=201,
                   json={"name": "P", "apis": ["demo"], "policies": {"limits": limits}})
    for got in (api["policies"]["limits"], plan["policies"]["limits"]):
        assert got[0] == {"by": "ip", "rate_per_minute": 5, "shadow": False}
        assert got[1]["header"] == "x-tenant" and got[1]["shadow"] is True
    again = h.admin("PATCH", f"/v1/admin/apis/{api['id']}", json={"policies": api["policies"]})
    assert again["policies"] == api["policies"]  # what GET shows, PATCH takes back
