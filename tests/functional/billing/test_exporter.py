"""The usage exporter against a fake OpenMeter that speaks OpenMeter's documented ingest API
(api/openapi.yaml of github.com/openmeterio/openmeter, ``POST /api/v1/events``): it checks
every request (content type, bearer token, the CloudEvents attributes of each event, RFC 3339
times, ``data`` an object), answers 400 with a reason when anything is off, 204 when not,
deduplicates by source + id, and can fail on purpose (500s, 429 with Retry-After, a dropped
connection, a response lost after it applied the batch)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import urllib3

from shared.adapters.openmeter_exporter import OpenMeterExporter
from shared.core import usage_export as ue
from shared.core.models import UsageEvent
from shared.management import export
from shared.management.billing import hourly_usage
from shared.metering.aggregate import record_batch
from tests.functional.api.harness import ADMIN, Harness, harness

TOKEN = "om_test_token_123"
SOURCE = "tollway/test"
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
HOURS = 30
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
ATTRIBUTE = re.compile(r"^[a-z0-9]{1,20}$")  # CloudEvents 1.0: attribute names


def invalid(event: Any) -> str | None:
    """Why an event breaks OpenMeter's ``Event`` schema (CloudEvents 1.0), or None."""
    if not isinstance(event, dict):
        return "an event must be a JSON object"
    for name in ("id", "source", "specversion", "type", "subject"):
        if not isinstance(event.get(name), str) or not event[name]:
            return f"{name} is required (a non-empty string)"
    if event["specversion"] != "1.0":
        return f"specversion {event['specversion']!r} is not supported"
    if any(c.isspace() for c in event["source"]):
        return "source must be a URI reference"
    bad = [k for k in event if not ATTRIBUTE.match(k)]
    if bad:
        return f"invalid attribute name {bad[0]!r}"
    t = event.get("time")
    if t is not None:
        if not isinstance(t, str) or not RFC3339.match(t):
            return f"time {t!r} is not RFC 3339"
        datetime.fromisoformat(t.replace("Z", "+00:00"))
    if event.get("datacontenttype") not in (None, "application/json"):
        return "datacontenttype must be application/json"
    if event.get("data") is not None and not isinstance(event["data"], dict):
        return "data must be a JSON object"
    return None


class FakeOpenMeter:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.events: dict[tuple[str, str], dict[str, Any]] = {}  # (source, id) -> first seen
        self.requests: list[list[str]] = []  # ids of every well-formed request, in order
        self.duplicates = 0
        self.script: list[tuple[str, Any]] = []  # failures to answer, in order
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- failures on purpose ---------------------------------------------------------------

    def fail(self, status: int, times: int = 1, retry_after: str | None = None,
             detail: str = "injected") -> None:
        self.script += [("status", (status, retry_after, detail))] * times

    def drop(self, times: int = 1) -> None:
        """Close the connection without an answer, having applied nothing."""
        self.script += [("drop", None)] * times

    def apply_then_drop(self) -> None:
        """Apply the batch, then lose the answer: the client cannot know it landed."""
        self.script.append(("apply_then_drop", None))

    # --- the API ----------------------------------------------------------------------------

    def _answer(self, h: BaseHTTPRequestHandler, status: int, detail: str = "",
                headers: dict[str, str] | None = None) -> None:
        body = b"" if status == 204 else json.dumps(
            {"type": "about:blank", "title": "error", "status": status, "detail": detail}).encode()
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if body:
            h.send_header("Content-Type", "application/problem+json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _check(self, h: BaseHTTPRequestHandler, raw: bytes) -> tuple[int, str, list[Any]]:
        if h.path != "/api/v1/events":
            return 404, f"no route {h.path}", []
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, "missing or invalid bearer token", []
        ctype = h.headers.get("Content-Type")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            return 400, f"invalid JSON: {exc}", []
        if ctype == "application/cloudevents+json":
            events = [doc]
        elif ctype == "application/cloudevents-batch+json":
            if not isinstance(doc, list) or not doc:
                return 400, "a batch is a non-empty JSON array of events", []
            events = doc
        else:
            return 400, f"invalid content type: {ctype}", []
        for n, e in enumerate(events):
            reason = invalid(e)
            if reason:
                return 400, f"event {n}: {reason}", []
        return 204, "", events

    def _apply(self, events: list[dict[str, Any]]) -> None:
        for e in events:
            key = (e["source"], e["id"])
            if key in self.events:
                self.duplicates += 1
            else:
                self.events[key] = e

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        with self.lock:
            status, detail, events = self._check(h, raw)
            if status != 204:
                self._answer(h, status, detail)
                return
            self.requests.append([e["id"] for e in events])
            action, arg = self.script.pop(0) if self.script else ("ok", None)
            if action == "status":
                code, retry_after, why = arg
                self._answer(h, code, why, {"Retry-After": retry_after} if retry_after else {})
                return
            if action == "drop":
                h.close_connection = True
                return
            self._apply(events)
            if action == "apply_then_drop":
                h.close_connection = True
                return
            self._answer(h, 204)

    # --- what the target now counts ----------------------------------------------------------

    def totals(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(subject, api id, hour) -> (requests, units), summed as an OpenMeter SUM meter."""
        out: Counter[tuple[str, str, str, str]] = Counter()
        for e in self.events.values():
            key = (e["subject"], e["data"]["api_id"], e["data"]["hour"])
            out[(*key, "r")] += e["data"]["requests"]
            out[(*key, "u")] += e["data"]["units"]
        keys = {k[:3] for k in out}
        return {k: (out[(*k, "r")], out[(*k, "u")]) for k in keys}


@pytest.fixture
def fake() -> Iterator[FakeOpenMeter]:
    server = FakeOpenMeter()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join()


class Waits:
    """The exporter's sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


def exporter(fake: FakeOpenMeter, waits: Waits | None = None, **kw: Any) -> OpenMeterExporter:
    return OpenMeterExporter(fake.url, kw.pop("token", TOKEN), sleep=waits or Waits(),
                             jitter=lambda: 0.5, read_timeout=5.0, **kw)


# --- usage ------------------------------------------------------------------------------------


def usage(h: Harness, consumers: list[str], apis: list[str], hours: int = HOURS,
          start: int = T0, seed: int = 1) -> int:
    """Requests spread over consumers x APIs x hours, recorded by metering."""
    events = []
    n = 0
    for hour in range(hours):
        for ci, c in enumerate(consumers):
            for ai, a in enumerate(apis):
                for k in range((seed + hour + 2 * ci + 3 * ai) % 5):
                    n += 1
                    events.append(UsageEvent(f"r{seed}-{n}", start + hour * 3600 + 60 * k, c,
                                             "key", a, "/x", "GET", 200, 10, 100, 1.0,
                                             cost=1 + ai))
    record_batch(h.store, events, now=h.clock.now())
    return len(events)


def aggregates(h: Harness, consumers: list[str], through: str) -> dict[tuple[str, str, str],
                                                                        tuple[int, int]]:
    end = ue.hour_start(through) + 3600
    return {(c, str(a["api_id"]), str(a["hour"])): (int(a["requests"]), int(a["cost"]))
            for c in consumers for a in hourly_usage(h.store, c, 0, end)}


@pytest.fixture
def world() -> Iterator[tuple[Harness, list[str], list[str]]]:
    with harness(export_url="", export_source=SOURCE) as h:
        apis = [h.create_api(name)["id"] for name in ("orders", "search")]
        consumers = [h.signup().consumer_id for _ in range(3)]
        h.clock.set(T0 + HOURS * 3600 + 2 * 3600)  # every hour closed, the last one just
        usage(h, consumers, apis)
        yield h, consumers, apis


LAST = ue.hours_after("2026-01-01T00", HOURS - 1)


# --- the fake is strict ---------------------------------------------------------------------


def test_the_fake_refuses_what_openmeter_refuses(fake):
    http = urllib3.PoolManager()
    good = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "subject": "c",
            "time": "2026-01-01T00:00:00Z", "data": {"requests": 1}}

    def post(body, ctype="application/cloudevents-batch+json", token=TOKEN):
        headers = {"Content-Type": ctype, "Authorization": f"Bearer {token}"}
        r = http.request("POST", fake.url + "/api/v1/events", body=json.dumps(body),
                         headers=headers)
        return r.status, (json.loads(r.data)["detail"] if r.data else "")

    assert post([good]) == (204, "")
    assert post(good, "application/cloudevents+json") == (204, "")
    assert post([good], token="wrong")[0] == 401
    assert post([good], "application/json; charset=utf-8") == (
        400, "invalid content type: application/json; charset=utf-8")
    assert post([]) == (400, "a batch is a non-empty JSON array of events")
    for name in ("id", "source", "specversion", "type", "subject"):
        assert post([{k: v for k, v in good.items() if k != name}]) == (
            400, f"event 0: {name} is required (a non-empty string)")
    assert post([{**good, "time": "2026-01-01 00:00"}])[1] == (
        "event 0: time '2026-01-01 00:00' is not RFC 3339")
    assert post([{**good, "data": [1]}])[1] == "event 0: data must be a JSON object"
    assert post([{**good, "specversion": "0.3"}])[0] == 400
    assert len(fake.events) == 1  # the good one, once (source + id)
    http.clear()


# --- exporting ---------------------------------------------------------------------------------


def test_exported_totals_equal_metering_aggregates_in_batches_of_at_most_100(world, fake):
    h, consumers, _ = world
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.error is None, run.error
    assert run.cursor == LAST and not run.more and run.pending == 0
    assert fake.totals() == aggregates(h, consumers, LAST)
    assert run.planned == run.sent == len(fake.events) > 100
    assert max(len(r) for r in fake.requests) <= 100 and len(fake.requests) == run.batches > 1
    assert fake.duplicates == 0
    e = next(iter(fake.events.values()))
    assert e["type"] == "tollway.api.requests" and e["source"] == SOURCE
    assert e["subject"] in consumers and e["time"].endswith(":00:00Z")
    # Nothing new: a second run sends nothing and keeps the cursor
    again = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert (again.sent, again.cursor, again.error) == (0, LAST, None)


def test_only_closed_hours_are_exported(world, fake):
    h, consumers, apis = world
    h.clock.set(T0 + HOURS * 3600 + 2 * 3600 - 1)  # the last hour is a second short of closed
    usage(h, consumers, apis, hours=1, start=T0 + HOURS * 3600, seed=7)  # the current hour
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.cursor == ue.hours_after(LAST, -1)
    assert {k[2] for k in fake.totals()} == {ue.hours_after("2026-01-01T00", n)
                                             for n in range(HOURS - 1)}


def test_retries_resend_the_same_ids_and_the_target_counts_each_event_once(world, fake):
    h, consumers, _ = world
    fake.apply_then_drop()  # the first batch lands but its answer is lost
    fake.fail(500, times=2)
    fake.fail(429, retry_after="3")
    fake.drop()
    waits = Waits()
    run = export.run_export(h.store, h.clock, exporter(fake, waits, attempts=6), source=SOURCE)
    assert run.error is None, run.error
    assert fake.totals() == aggregates(h, consumers, LAST)
    first = fake.requests[0]
    assert all(r == first for r in fake.requests[1:6])  # five retries, the very same ids
    assert fake.duplicates == len(first)  # the retry after the lost answer: dropped
    assert 3.0 in waits.seen  # Retry-After honoured
    backoffs = [w for w in waits.seen if w != 3.0]
    assert len(backoffs) == 4 and all(0 < w <= 20 for w in backoffs)


def test_a_crash_after_the_post_before_the_cursor_moves_resends_without_double_counting(
        world, fake):
    h, consumers, _ = world

    class Crash(Exception):
        pass

    class CrashAfterSecondPost:
        name = "openmeter"

        def __init__(self) -> None:
            self.inner, self.calls = exporter(fake), 0

        def send(self, events):
            self.inner.send(events)
            self.calls += 1
            self.last = len(events)
            if self.calls == 2:
                raise Crash  # the process dies: the target has the batch, the store does not know

    crashing = CrashAfterSecondPost()
    with pytest.raises(Crash):
        export.run_export(h.store, h.clock, crashing, source=SOURCE)
    assert export.read_cursor(h.store, "openmeter")[0] is None
    landed = len(fake.events)
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.error is None and run.cursor == LAST
    # the second batch, resent and dropped; the first left the outbox before the crash
    assert fake.duplicates == crashing.last and landed == 100 + crashing.last
    assert fake.totals() == aggregates(h, consumers, LAST)


def test_a_refused_batch_stops_the_run_and_the_cursor_stays(world, fake):
    h, consumers, _ = world
    fake.fail(400, detail="event 3: time is not RFC 3339")
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.refused and run.cursor is None and run.sent == 0
    assert "refused the batch with 400: event 3: time is not RFC 3339" in (run.error or "")
    assert run.pending == run.planned
    again = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert again.error is None and again.cursor == LAST and again.planned == 0
    assert fake.totals() == aggregates(h, consumers, LAST)


def test_a_wrong_token_is_refused_and_not_retried(world, fake):
    h, _, _ = world
    waits = Waits()
    run = export.run_export(h.store, h.clock, exporter(fake, waits, token="wrong"), source=SOURCE)
    assert run.refused and "401: missing or invalid bearer token" in (run.error or "")
    assert waits.seen == [] and fake.events == {}


def test_an_unreachable_target_ends_the_run_and_a_later_one_catches_up(world, fake):
    h, consumers, _ = world
    fake.fail(503, times=3)
    run = export.run_export(h.store, h.clock, exporter(fake, attempts=3), source=SOURCE)
    assert not run.refused and "503" in (run.error or "") and run.cursor is None
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.cursor == LAST and fake.totals() == aggregates(h, consumers, LAST)


def test_a_late_batch_for_an_exported_hour_is_sent_as_a_correction(world, fake):
    h, consumers, apis = world
    export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    h.clock.advance(86_400)  # a day later, a redelivered batch for hour 5 arrives
    late = [UsageEvent(f"late-{n}", T0 + 5 * 3600 + n, consumers[0], "key", apis[1], "/x",
                       "GET", 200, 1, 1, 1.0, cost=2) for n in range(4)]
    assert record_batch(h.store, late, now=h.clock.now()).events == 4
    run = export.run_export(h.store, h.clock, exporter(fake), source=SOURCE)
    assert run.error is None and run.corrections == 1
    correction = [e for e in fake.events.values() if e["data"]["correction"]]
    assert len(correction) == 1 and correction[0]["data"]["requests"] == 4
    assert correction[0]["data"]["units"] == 8 and correction[0]["time"] == "2026-01-01T05:00:00Z"
    assert fake.totals() == aggregates(h, consumers, ue.last_closed_hour(h.clock.now()))


def test_a_first_run_catches_up_a_week_at_a_time(fake):
    with harness() as h:
        api = h.create_api("orders")["id"]
        consumer = h.signup().consumer_id
        h.clock.set(T0 + 10 * 86_400)
        usage(h, [consumer], [api], hours=9 * 24)
        first = export.run_export(h.store, h.clock, exporter(fake), max_hours=7 * 24)
        assert first.more and first.cursor == ue.hours_after("2026-01-01T00", 7 * 24 - 1)
        second = export.run_export(h.store, h.clock, exporter(fake), max_hours=7 * 24)
        last = ue.last_closed_hour(h.clock.now())
        assert not second.more and second.cursor == last
        assert fake.totals() == aggregates(h, [consumer], last)


# --- the management route ---------------------------------------------------------------------


def test_the_export_route_is_for_admins_and_runs_the_export(fake):
    with harness(export_url=fake.url, export_token=TOKEN, export_source=SOURCE) as h:
        h.clock.set(T0 + 5 * 3600)  # before signing in: sessions last an hour
        api = h.create_api("orders")["id"]
        dev = h.signup()
        usage(h, [dev.consumer_id], [api], hours=3)
        h.ok("POST", "/v1/admin/billing/export", headers=dev.headers, status=403)
        h.ok("POST", "/v1/admin/billing/export", status=401)
        out = h.admin("POST", "/v1/admin/billing/export")
        assert out["cursor"] == "2026-01-01T02" and out["source"] == SOURCE
        assert out["sent"] == len(fake.events) > 0 and out["pending"] == 0
        assert fake.totals() == aggregates(h, [dev.consumer_id], "2026-01-01T02")
        fake.fail(400, detail="bad event")
        h.clock.advance(3600)
        usage(h, [dev.consumer_id], [api], hours=1, start=T0 + 3 * 3600, seed=3)
        problem = h.admin("POST", "/v1/admin/billing/export", status=409)
        assert "refused the batch with 400: bad event" in problem["detail"]
        assert "2026-01-01T02" in problem["detail"]  # the cursor did not move
        fake.fail(503, times=5)
        resp = h.client.post("/v1/admin/billing/export", headers=ADMIN)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "60"
        ops = h.client.get("/v1/openapi.json").json()["paths"]["/v1/admin/billing/export"]
        assert ops["post"]["operationId"] == "exportUsage"


def test_without_a_target_the_route_says_what_to_configure():
    with harness() as h:
        problem = h.admin("POST", "/v1/admin/billing/export", status=409)
        assert "TOLLWAY_EXPORT_URL" in problem["detail"]


def test_the_hourly_job_exports_and_reports_a_refusal_as_a_failure(world, fake):
    from shared.management import jobs

    h, consumers, _ = world
    scheduled = jobs.with_export(exporter(fake), SOURCE)
    assert jobs.with_export(None) == jobs.JOBS  # nothing configured: no job
    fake.fail(400, detail="bad event")
    report = jobs.run_due(h.store, h.clock, None, only=["usage_export"],  # type: ignore[arg-type]
                          jobs=scheduled)
    assert "400: bad event" in report["failed"]["usage_export"]
    report = jobs.run_due(h.store, h.clock, None, only=["usage_export"],  # type: ignore[arg-type]
                          jobs=scheduled)
    assert report["ran"]["usage_export"]["cursor"] == LAST
    assert fake.totals() == aggregates(h, consumers, LAST)
