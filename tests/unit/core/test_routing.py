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
