"""Notices through the local outbox: deprecation to exactly the recent callers, quota
alerts at 80 % and 100 %, approval results; each sent once."""

import itertools

from shared.core.models import UsageEvent
from shared.metering.analytics import record_all
from tests.functional.api.harness import ADMIN

T0 = 1_767_225_600.0
_ids = itertools.count()


def called(h, dev, api_id, n=3):
    record_all(h.store, [UsageEvent(f"n{next(_ids)}", T0 + 60, dev.consumer_id, "k", api_id,
                                    "/*", "GET", 200, 1, 1, 2.0) for _ in range(n)])


def outbox(h, kind):
    return [(i["recipient"], i["subject"]) for i in
            h.admin("GET", "/v1/admin/notifications/outbox")["items"] if i["kind"] == kind]


def test_deprecation_goes_to_the_caller_and_nobody_else_once_200(h):
    v1, v2 = h.create_api("demo", "v1"), h.create_api("demo", "v2")
    for api in (v1, v2):
        h.publish(api["id"])
    caller, modern, idle = h.signup(), h.signup(), h.signup()
    called(h, caller, v1["id"])
    called(h, modern, v2["id"])
    h.admin("POST", f"/v1/admin/apis/{v1['id']}/lifecycle",
            json={"state": "deprecated", "sunset_at": "2026-06-01T00:00:00Z"})

    first = h.admin("POST", f"/v1/admin/notifications/deprecation?api_id={v1['id']}")
    again = h.admin("POST", f"/v1/admin/notifications/deprecation?api_id={v1['id']}")

    assert outbox(h, "deprecation") == [(caller.email, "demo v1 is deprecated")]
    assert (first["sent"], again["sent"], again["already"]) == (1, 0, 1)
    assert all(d.email not in str(outbox(h, "deprecation")) for d in (modern, idle))


def test_deprecation_of_a_published_version_is_409(h):
    api = h.create_api()
    h.publish(api["id"])
    resp = h.client.post(f"/v1/admin/notifications/deprecation?api_id={api['id']}",
                         headers=ADMIN)
    assert resp.status_code == 409


def test_quota_alerts_at_80_and_100_percent_each_once_200(h):
    api = h.create_api()
    h.publish(api["id"])
    plan = h.create_plan("Small", quota_per_month=10)
    dev = h.signup()
    h.subscribe(dev, plan["id"])
    key = h.create_key(dev)["key"]
    for _ in range(8):
        h.through_gateway(key)
    h.admin("POST", "/v1/admin/notifications/run")
    h.admin("POST", "/v1/admin/notifications/run")
    assert outbox(h, "quota") == [(dev.email, "80 % of this month's demo quota used")]
    for _ in range(5):  # two admitted, then refused at the quota
        h.through_gateway(key)
    h.admin("POST", "/v1/admin/notifications/run")
    assert sorted(outbox(h, "quota")) == [(dev.email, "100 % of this month's demo quota used"),
                                          (dev.email, "80 % of this month's demo quota used")]


def test_an_approval_result_is_sent_once_200(h):
    h.publish(h.create_api()["id"])
    plan = h.create_plan("Gold", requires_approval=True)
    dev = h.signup()
    sub = h.subscribe(dev, plan["id"])
    h.admin("POST", f"/v1/admin/subscriptions/{sub['id']}/approve")
    h.admin("POST", "/v1/admin/notifications/run")
    h.admin("POST", "/v1/admin/notifications/run")
    assert outbox(h, "subscription") == [(dev.email, "Your subscription to Gold was approved")]
