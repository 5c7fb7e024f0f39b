"""The upstream time budget on AWS (issue 10 item 4): the router knows the invocation's
remaining time; forwarding clamps each attempt and the retries to it and answers a metered
504 problem when it runs out, instead of Lambda killing the invocation."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import httpx
import pytest

from shared.adapters import log_usage
from shared.management import records
from tests.functional.aws.conftest import UPSTREAM, LambdaContext, catalog, emf_metrics
from tests.functional.aws.conftest import usage_lines as lines_of


@dataclass
class Context(LambdaContext):
    remaining_ms: int = 29_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def without_authorizer(monkeypatch, handlers):
    monkeypatch.setattr(
        handlers["router"], "settings",
        replace(handlers["router"].settings, authorizer_in_front=False),
    )


@pytest.fixture
def slow_catalog(world):
    """demo v2 as the catalog allowed it before: 60 s per attempt, 6 attempts."""
    (v2,) = [a for a in catalog(UPSTREAM) if a.id == "demo-v2"]
    records.save_unaudited(
        world.store, [records.put_api_write(replace(v2, timeout_seconds=60.0, retries=5))]
    )
    sent = []
    upstream = world.upstream_handler

    def recording(request):
        sent.append(request)
        return upstream(request)

    world.upstream_handler = recording
    return sent


@pytest.fixture
def seen(handlers, monkeypatch):
    """The UpstreamRequests the router's gateway hands to the upstream port."""
    got = []
    gw = handlers["router"].gateway
    real = gw.upstream.send

    def send(request):
        got.append(request)
        return real(request)

    monkeypatch.setattr(gw.upstream, "send", send)
    return got


def test_each_attempt_and_the_retries_fit_the_remaining_time(world, handlers, slow_catalog, seen):
    resp = handlers["router"].handler(world.proxy(key=world.keys["a"]), Context(remaining_ms=3_000))
    assert resp["statusCode"] == 200
    (up,) = seen
    budget = 3.0 - handlers["router"].BUDGET_MARGIN_SECONDS
    assert up.deadline is not None
    assert 0 < up.timeout <= budget  # not the API's 60 s
    assert up.timeout * (up.retries + 1) <= budget + 0.01  # not 6 x 60 s


def test_504_problem_metered_when_the_budget_is_already_spent(
    world, handlers, slow_catalog, seen, capsys
):
    capsys.readouterr()
    resp = handlers["router"].handler(world.proxy(key=world.keys["a"]), Context(remaining_ms=400))
    out = capsys.readouterr().out
    assert resp["statusCode"] == 504
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(resp["body"])["status"] == 504
    assert seen == [] and slow_catalog == []  # no attempt that could not finish
    (line,) = lines_of(out)
    usage = log_usage.parse(line)
    assert usage is not None and usage.status == 504 and usage.cost == 0
    assert emf_metrics(out)["BudgetExhausted"] == 1


def test_504_metered_when_the_upstream_uses_up_the_budget(world, handlers, slow_catalog, capsys):
    def slow(request):
        raise httpx.ReadTimeout("no answer within the clamped timeout", request=request)

    world.upstream_handler = slow
    capsys.readouterr()
    resp = handlers["router"].handler(world.proxy(key=world.keys["a"]), Context(remaining_ms=2_000))
    assert resp["statusCode"] == 504
    (line,) = lines_of(capsys.readouterr().out)
    assert log_usage.parse(line).status == 504


def test_router_timeout_stays_under_the_http_api_integration_cap():
    from tests.functional.aws.test_fixtures import resources

    res = resources()
    cap = res["RouterIntegration"]["Properties"]["TimeoutInMillis"] / 1000
    router = res["RouterFunction"]["Properties"]["Timeout"]
    assert cap <= 30 and router < cap


def test_management_budget_is_the_routers_timeout_less_its_margin(handlers):
    from tests.functional.aws.test_fixtures import resources

    res = resources()
    env = res["ManagementFunction"]["Properties"]["Environment"]["Variables"]
    router = res["RouterFunction"]["Properties"]["Timeout"]
    margin = handlers["router"].BUDGET_MARGIN_SECONDS
    assert float(env["TOLLWAY_UPSTREAM_BUDGET"]) == router - margin


@pytest.mark.parametrize(("timeout", "retries", "status"), [
    (60.0, 5, 422),  # 360 s: what the catalog used to accept
    (29.0, 0, 422),  # one attempt past the router's budget
    (10.0, 2, 422),  # 30 s in all
    (9.5, 2, 201),   # 28.5 s: fits exactly
    (28.5, 0, 201),
])
def test_422_for_an_api_whose_attempts_the_cloud_cannot_honour(timeout, retries, status):
    from tests.functional.api.harness import harness

    with harness(upstream_budget=28.5) as h:
        body = {"name": "slow", "version": "v1", "base_path": "/slow/v1",
                "upstreams": [{"url": "http://upstream.test"}],
                "timeout_seconds": timeout, "retries": retries}
        got = h.admin("POST", "/v1/admin/apis", json=body, status=status)
        if status == 422:
            assert "28.5 s" in got["detail"]


def test_422_when_an_update_would_exceed_the_budget_and_none_without_a_budget():
    from tests.functional.api.harness import harness

    with harness(upstream_budget=28.5) as h:
        api = h.create_api(timeout_seconds=10.0, retries=1)
        h.admin("PATCH", f"/v1/admin/apis/{api['id']}", json={"retries": 2}, status=422)
        h.admin("PATCH", f"/v1/admin/apis/{api['id']}", json={"timeout_seconds": 9.0,
                                                              "retries": 2})
    with harness() as h:  # the local stack: no cloud cap
        h.create_api(timeout_seconds=60.0, retries=5)
