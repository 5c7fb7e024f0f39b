"""Issue 9: route matching on non-canonical paths.

GIVEN an API whose ``/admin/*`` route requires ``admin`` and whose other routes require
``read``, and a key with only ``read``: no spelling of the admin path reaches the admin
upstream. Encoded unreserved characters are decoded and then denied (403) by the admin
route's scope; paths without a canonical form are refused (400); what is forwarded is the
canonical rest of the path that was matched. On the service and through the local HTTP
front door (raw request lines: an HTTP client library would normalise some of them).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from functions.local.demo_upstream import demo_upstream
from functions.local.gateway_asgi import GatewayApp
from shared.adapters.http_upstream import HttpUpstream
from shared.core.models import Api, Lifecycle, Route, Upstream
from shared.management import records
from tests.functional.conftest import World, make_world
from tests.servers import serve

SCOPED_ROUTES = (Route("*", "/admin/*", ("admin",)), Route("*", "/*", ("read",)))

#: (raw path, status): 403 = matched the admin route and denied by scope; 400 = refused.
ATTACKS = [
    ("/scoped/v1/%61dmin/x", 403),
    ("/scoped/v1/%61%64%6d%69%6e/x", 403),
    ("/scoped/v1/admin/x", 403),
    ("/scoped/v1//admin/x", 400),
    ("/scoped/v1/admin;x=1/x", 400),
    ("/scoped/v1/x/..;/admin/x", 400),
    ("/scoped/v1/x/%2e%2e/admin/x", 400),
    ("/scoped/v1/x/%2E%2e/admin/x", 400),
    ("/scoped/v1/x/.%2e/admin/x", 400),
    ("/scoped/v1/x%2F..%2Fadmin/x", 400),
    ("/scoped/v1/x%2fadmin", 400),
    ("/scoped/v1/x%5C..%5Cadmin", 400),
    ("/scoped/v1/x/../admin/x", 400),
    ("/scoped/v1/x/%00/admin", 400),
]


def scoped_world(upstream_url: str = "http://upstream.test") -> World:
    world = make_world()
    api = Api("scoped-v1", "demo", "scoped", "/scoped/v1", (Upstream(upstream_url),),
              SCOPED_ROUTES, Lifecycle.PUBLISHED)
    records.save_unaudited(world.store, [records.put_api_write(api)])
    world.add_key("con_a", "reader", scopes=("read",))
    world.add_key("con_a", "admin", scopes=("admin", "read"))
    return world


@pytest.mark.parametrize(("path", "status"), ATTACKS)
def test_service_no_spelling_of_the_admin_path_passes_a_read_key(path, status):
    world = scoped_world()

    resp = world.request(path=path, key=world.keys["reader"])

    assert resp.status == status
    assert world.upstream.requests == []


def test_service_forwards_exactly_the_canonical_path_that_was_matched():
    world = scoped_world()

    assert world.request(path="/scoped/v1/%61dmin/x%3bq", key=world.keys["admin"]).status == 200
    assert world.request(path="/scoped/v1/%7Eme/a%20b", key=world.keys["reader"]).status == 200

    urls = [r.url for r in world.upstream.requests]
    assert urls == ["http://upstream.test/admin/x%3Bq", "http://upstream.test/~me/a%20b"]


@pytest.fixture(scope="module")
def front_door() -> Iterator[tuple[World, str]]:
    with serve(demo_upstream) as upstream_url:
        world = scoped_world(upstream_url)
        world.gateway.upstream = HttpUpstream()
        with serve(GatewayApp(world.gateway), date_header=False) as url:
            yield world, url
        world.gateway.upstream.close()


def raw_get(base: str, path: str, key: str) -> tuple[int, bytes]:
    """One GET with ``path`` on the request line exactly as given."""
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.request("GET", path, headers={"X-Api-Key": key})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(("path", "status"), ATTACKS)
def test_http_front_door_no_spelling_of_the_admin_path_passes_a_read_key(
    front_door, path, status
):
    world, url = front_door
    world.clock.advance(60)  # a fresh rate-limit window for each case

    got, _ = raw_get(url, path, world.keys["reader"])

    assert got == status


def test_http_front_door_upstream_receives_the_canonical_rest(front_door):
    world, url = front_door
    world.clock.advance(60)

    status, body = raw_get(url, "/scoped/v1/%61dmin/x%3bq", world.keys["admin"])

    assert status == 200
    assert json.loads(body)["raw_path"] == "/admin/x%3Bq"
