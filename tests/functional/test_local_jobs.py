"""The local stack's hourly jobs (functions/local/jobs.py, started by ``make run``): last
month's statements closed and a quota alert in the outbox once, with a manual clock; a
failing job (an export target refusing the token) logged and reported, never raised; the
loop runs at once, then after every wait, and goes on after a failure."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from functions.local import jobs as local_jobs
from shared.core.models import Consumer, Plan, Subscription
from shared.management import billing, notifications, records
from shared.management.entities import Account
from shared.metering import aggregate
from shared.settings import from_env

FEB_1 = 1_769_904_000.0  # 2026-02-01T00:00:00Z
QUOTA = Plan("quota", "Small", apis=("demo",), rate_per_minute=100, quota_per_month=5)
SETTINGS = from_env({"TOLLWAY_STORE": "memory"}, local=True)


@pytest.fixture
def developer(world):
    records.save_unaudited(world.store, [
        records.put_plan_write(QUOTA),
        records.put_account_write(Account("acc_q", "dev@example.com", "x", "con_q")),
        records.put_consumer_write(Consumer("con_q", "Q", owner="acc_q")),
        records.put_subscription_write(Subscription("sub_q", "con_q", "quota")),
    ])
    return world.add_key("con_q", "q")


def quota_notices(store):
    return [(n["recipient"], n["subject"]) for n in notifications.outbox(store, 100)
            if n["kind"] == "quota"]


def test_hourly_run_closes_last_months_statements_and_alerts_once(world, developer):
    world.clock.set(FEB_1 + billing.CLOSE_AFTER + 3_600)
    for _ in range(4):  # four of con_q's five this month: 80 %
        assert world.request(key=developer).status == 200

    first = local_jobs.run_hourly(SETTINGS, world.store, world.clock)
    second = local_jobs.run_hourly(SETTINGS, world.store, world.clock)

    assert first is not None and second is not None
    assert first["failed"] == second["failed"] == {}
    assert first["ran"]["statements"] == {"closed": 2}  # con_a and con_q
    assert second["ran"]["statements"] == {"closed": 0}
    for consumer in ("con_a", "con_q"):
        st = billing.stored(world.store, consumer, "2026-01")
        assert st is not None and st.status == "closed"
    assert quota_notices(world.store) == [
        ("dev@example.com", "80 % of this month's demo quota used")]
    assert second["ran"]["quota_alerts"]["already"] == 1
    assert "repair" not in first["ran"]  # the 30 s maintenance thread's
    assert "usage_export" not in first["ran"]  # no TOLLWAY_EXPORT_URL


@pytest.fixture
def refusing_target() -> Iterator[str]:
    """An OpenMeter that refuses every token (401, final: no retries)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            body = json.dumps({"title": "Unauthorized", "status": 401}).encode()
            self.send_response(401)
            self.send_header("content-type", "application/problem+json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_failing_export_is_reported_and_the_other_jobs_still_run(
    world, developer, refusing_target, caplog
):
    settings = dataclasses.replace(SETTINGS, export_url=refusing_target, export_token="bad")
    world.clock.set(FEB_1 + billing.CLOSE_AFTER + 3_600)
    world.request(key=developer)
    assert aggregate.record_batch(world.store, world.usage.events).groups == 1
    world.clock.advance(4 * 3_600)  # the hour has settled

    report = local_jobs.run_hourly(settings, world.store, world.clock)

    assert report is not None
    assert set(report["failed"]) == {"usage_export"}
    assert "401" in report["failed"]["usage_export"]
    assert report["ran"]["statements"] == {"closed": 2}
    assert any(r.name == "tollway.jobs" and "usage_export" in r.getMessage()
               for r in caplog.records)


def test_the_loop_runs_at_once_then_after_each_wait_and_survives_a_failure():
    runs: list[int] = []
    waits = iter([False, False, True])  # two more rounds, then stop

    def run() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("store hiccup")

    local_jobs.run_every(3_600, run, lambda seconds: next(waits))
    assert runs == [0, 1, 2]


def test_a_run_that_cannot_start_is_logged_not_raised(world, monkeypatch, caplog):
    def broken(*args, **kw):
        raise ValueError("no notifier")

    monkeypatch.setattr(local_jobs, "notifier_for", broken)
    assert local_jobs.run_hourly(SETTINGS, world.store, world.clock) is None
    assert "hourly jobs could not run" in caplog.text


def test_the_local_stack_runs_the_hourly_jobs_once_its_store_is_seeded(tmp_path, monkeypatch):
    from functions.local import seed, stack
    from tests.servers import free_port

    ran: list[tuple[bool, dict | None]] = []
    done = threading.Event()
    real = local_jobs.run_hourly

    def observed(settings, store, clock):
        report = real(settings, store, clock)
        ran.append((seed.is_seeded(store), report))
        done.set()
        return report

    monkeypatch.setattr(local_jobs, "run_hourly", observed)
    monkeypatch.delenv("TOLLWAY_EXPORT_URL", raising=False)
    opts = stack.Options(data_dir=tmp_path / "data", store="memory", gateway_workers=1,
                         gateway_port=free_port(), management_port=free_port(),
                         portal_port=free_port(), upstream_port=free_port())
    stack.prepare(opts)
    assert done.wait(30), "the start-up run did not happen"
    seeded, report = ran[0]
    assert seeded
    assert report is not None and report["failed"] == {}
    assert set(report["ran"]) == {"statements", "quota_alerts", "subscription_results"}
