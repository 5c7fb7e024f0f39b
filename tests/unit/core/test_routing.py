import pytest

from shared.core.models import Api, Lifecycle, Route, Upstream
from shared.core.outcomes import Outcome
from shared.core.routing import RouteTable, lifecycle_headers, pick_upstream


def api(id_, base, state=Lifecycle.PUBLISHED, routes=(Route("*", "/*"),), **kw):
    return Api(id_, "demo", id_, base, (Upstream("http://u"),), routes, state, **kw)


def test_longest_base_path_on_whole_segments():
    t = RouteTable([api("a", "/demo"), api("b", "/demo/v1")])
    assert t.match("GET", "/demo/v1/x").api.id == "b"
    assert t.match("GET", "/demo/v10/x").api.id == "a"
    assert t.match("GET", "/demox").outcome is Outcome.ROUTE_NOT_FOUND


def test_templates_params_and_rest():
    t = RouteTable([api("a", "/d", routes=(Route("GET", "/items/{id}"), Route("POST", "/up/*")))])
    m = t.match("GET", "/d/items/42")
    assert m.outcome is Outcome.OK and m.rest == "/items/42"
    assert t.match("GET", "/d/items/42/more").outcome is Outcome.ROUTE_NOT_FOUND
    assert t.match("POST", "/d/up").outcome is Outcome.OK
    assert t.match("POST", "/d/up/a/b").outcome is Outcome.OK
    wrong = t.match("DELETE", "/d/items/1")
    assert wrong.outcome is Outcome.METHOD_NOT_ALLOWED and wrong.allow == ("GET",)


def test_drafts_are_invisible_and_retired_is_gone():
    t = RouteTable([api("a", "/draft", Lifecycle.DRAFT), api("b", "/old", Lifecycle.RETIRED)])
    assert t.match("GET", "/draft/x").outcome is Outcome.ROUTE_NOT_FOUND
    assert t.match("GET", "/old/x").outcome is Outcome.API_RETIRED


def test_deprecation_and_sunset_headers():
    a = api("a", "/d", Lifecycle.DEPRECATED, deprecated_at=1_767_225_600, sunset_at=1_775_001_600)
    h = lifecycle_headers(a)
    assert h["Deprecation"] == "@1767225600"
    assert h["Sunset"] == "Wed, 01 Apr 2026 00:00:00 GMT"
    assert lifecycle_headers(api("b", "/x")) == {}


def test_weighted_upstreams_are_deterministic_and_proportional():
    ups = (Upstream("a", 3), Upstream("b", 1), Upstream("c", 0))
    picks = [pick_upstream(ups, seed).url for seed in range(400)]
    assert picks.count("a") == 300 and picks.count("b") == 100 and "c" not in picks


# --- canonical paths (issue 9) ------------------------------------------------------------

SCOPED = RouteTable([api("v2", "/demo/v2", routes=(
    Route("*", "/admin/*", ("admin",)), Route("*", "/*", ("read",)),
))])


@pytest.mark.parametrize(
    "raw", ["/demo/v2/%61dmin/x", "/demo/v2/%61%64%6D%69%6E/x", "/demo/v%32/admin/x",
            "/demo/v2/admin/x"],
)
def test_encoded_unreserved_characters_match_the_route_they_spell(raw):
    m = SCOPED.match("GET", raw)
    assert m.outcome is Outcome.OK and m.route.scopes == ("admin",) and m.rest == "/admin/x"


@pytest.mark.parametrize(
    "raw", ["/demo/v2//admin", "/demo/v2/admin;x=1", "/demo/v2/x/%2e%2e/admin",
            "/demo/v2/x%2F..%2Fadmin", "/demo/v2/x/..;/admin", "/demo/v2/x/.%2e/admin",
            "/demo/v2/x%5cadmin", "/demo/v2/x/../admin"],
)
def test_paths_without_a_canonical_form_are_400_and_reach_no_route(raw):
    m = SCOPED.match("GET", raw)
    assert m.outcome is Outcome.BAD_REQUEST and m.route is None and m.api is None


def test_rest_is_the_canonical_path_below_the_base():
    m = SCOPED.match("GET", "/demo/v2/%7Eme/a%3fb")
    assert m.outcome is Outcome.OK and m.route.scopes == ("read",) and m.rest == "/~me/a%3Fb"
