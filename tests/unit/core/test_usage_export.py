"""The pure side of the usage export: hours, ids, events, batches (shared/core/usage_export.py)
and the OpenMeter adapter's header parsing (no network)."""

import json
import re

import pytest

from shared.adapters.openmeter_exporter import events_url, retry_after
from shared.core import usage_export as ue
from shared.core.usage_export import Totals

H = "2026-01-05T13"
T0 = 1_767_618_000  # 2026-01-05T13:00:00Z
AGG = {"hour": H, "api_id": "api_1", "requests": 7, "cost": 14, "bytes_in": 100,
       "bytes_out": 900, "latency_ms": 12.5, "s2xx": 6, "s4xx": 1}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def test_hour_labels_and_rfc3339():
    assert ue.hour_start(H) == T0
    assert ue.hour_label(T0 + 3599) == H
    assert ue.next_hour("2026-01-31T23") == "2026-02-01T00"
    assert ue.hours_after(H, 24) == "2026-01-06T13"
    assert ue.rfc3339(H) == "2026-01-05T13:00:00Z"
    assert RFC3339.match(ue.rfc3339(H))


def test_an_hour_is_closed_once_it_ended_plus_the_settle_delay():
    # 13:00-14:00 ends at 14:00; with 2 h to settle it is exportable from 16:00:00 on
    end = T0 + 3600
    assert ue.last_closed_hour(end + 2 * 3600, 2 * 3600) == H
    assert ue.last_closed_hour(end + 2 * 3600 - 1, 2 * 3600) == "2026-01-05T12"
    assert ue.last_closed_hour(end, 0) == H


def test_totals_come_from_metering_aggregates():
    assert Totals.of_aggregate(AGG) == Totals(7, 14, 100, 900)
    assert Totals.of_aggregate({"requests": 1}) == Totals(1, 0, 0, 0)
    assert Totals.of_record(Totals(7, 14, 100, 900).as_dict()) == Totals(7, 14, 100, 900)


def test_the_first_event_of_an_hour_carries_its_whole_aggregate():
    e = ue.usage_event("tollway/prod", "con_1", "api_1", "orders", H, Totals.of_aggregate(AGG))
    assert e is not None
    assert e["specversion"] == "1.0"
    assert e["type"] == "tollway.api.requests"
    assert e["source"] == "tollway/prod"
    assert e["subject"] == "con_1"
    assert e["time"] == "2026-01-05T13:00:00Z"
    assert e["datacontenttype"] == "application/json"
    assert e["data"] == {"api": "orders", "api_id": "api_1", "hour": H, "requests": 7,
                         "units": 14, "bytes_in": 100, "bytes_out": 900, "correction": False}
    assert json.loads(json.dumps(e)) == e  # plain JSON


def test_ids_are_deterministic_and_change_with_the_state_of_the_hour():
    t = Totals(7, 14, 100, 900)
    one = ue.event_id("tollway", "con_1", "api_1", H, t)
    assert one == ue.event_id("tollway", "con_1", "api_1", H, Totals(7, 14, 100, 900))
    others = {
        ue.event_id("tollway/eu", "con_1", "api_1", H, t),
        ue.event_id("tollway", "con_2", "api_1", H, t),
        ue.event_id("tollway", "con_1", "api_2", H, t),
        ue.event_id("tollway", "con_1", "api_1", "2026-01-05T14", t),
        ue.event_id("tollway", "con_1", "api_1", H, Totals(8, 16, 100, 900)),
    }
    assert one not in others and len(others) == 5
    assert re.fullmatch(r"[0-9a-f]{32}", one)


def test_growth_after_an_export_is_a_correction_with_only_the_difference():
    before, now = Totals(7, 14, 100, 900), Totals(10, 20, 130, 1200)
    e = ue.usage_event("tollway", "con_1", "api_1", "orders", H, now, before)
    assert e is not None
    assert e["data"]["requests"] == 3 and e["data"]["units"] == 6
    assert e["data"]["bytes_in"] == 30 and e["data"]["bytes_out"] == 300
    assert e["data"]["correction"] is True
    assert e["id"] == ue.event_id("tollway", "con_1", "api_1", H, now)
    assert e["time"] == "2026-01-05T13:00:00Z"  # lands in the hour it belongs to


def test_no_event_without_growth_or_when_totals_went_down():
    t = Totals(7, 14, 100, 900)
    assert ue.usage_event("tollway", "c", "a", "a", H, t, t) is None
    assert ue.usage_event("tollway", "c", "a", "a", H, Totals(6, 12, 100, 900), t) is None
    assert Totals(6, 12, 100, 900).minus(t).shrunk


def test_batches_hold_at_most_100_events_in_order():
    events = [{"id": str(n)} for n in range(250)]
    got = list(ue.batches(events))
    assert [len(b) for b in got] == [100, 100, 50]
    assert [e["id"] for b in got for e in b] == [str(n) for n in range(250)]
    assert list(ue.batches([])) == []


@pytest.mark.parametrize("bad", ["", "has space", "x" * 201])
def test_a_source_is_a_uri_reference(bad):
    with pytest.raises(ValueError, match="source"):
        ue.check_source(bad)
    assert ue.check_source("tollway/prod") == "tollway/prod"


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("3", 0.0) == 3.0
    assert retry_after("Thu, 01 Jan 2026 00:00:10 GMT", 1_767_225_600.0) == 10.0
    assert retry_after("Thu, 01 Jan 2026 00:00:10 GMT", 1_767_225_700.0) == 0.0
    assert retry_after(None, 0.0) is None
    assert retry_after("soon", 0.0) is None


def test_the_events_url_is_openmeters_ingest_path():
    assert events_url("https://openmeter.cloud") == "https://openmeter.cloud/api/v1/events"
    assert events_url("http://127.0.0.1:8888/") == "http://127.0.0.1:8888/api/v1/events"
    assert events_url("http://om/api/v1/events") == "http://om/api/v1/events"
    with pytest.raises(ValueError, match="http"):
        events_url("openmeter.cloud")
