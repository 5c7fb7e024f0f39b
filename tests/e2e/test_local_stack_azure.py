"""`TOLLWAY_STORE=azure TOLLWAY_AZURE_CONNECTION_STRING=<Azurite's> make run`: the whole local
stack (gateway, management, portal, metering) on Table Storage, emulated by Azurite."""

from __future__ import annotations

import time
import uuid

import pytest

from shared.adapters.azure_tables import AzureTableStore
from shared.core.clock import SystemClock
from shared.metering.aggregate import read_usage
from tests.contract.backends import azure_tables as azurite
from tests.servers import client, local_stack

pytestmark = pytest.mark.slow


def test_the_local_stack_runs_on_azure_tables_from_the_environment(tmp_path, monkeypatch):
    conn = azurite.connection_string()
    table = f"local{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("TOLLWAY_STORE", "azure")
    monkeypatch.setenv("TOLLWAY_AZURE_CONNECTION_STRING", conn)
    monkeypatch.setenv("TOLLWAY_TABLE", table)
    store = AzureTableStore(table, SystemClock(), connection_string=conn, timeout=10.0)
    try:
        with local_stack(tmp_path / "data") as state:
            assert state["store"] == "azure"
            assert not (tmp_path / "data" / "tollway.db").exists()  # no SQLite anywhere
            with client() as c:
                r = c.get(state["demo_url"], headers={"X-Api-Key": state["demo_key"]})
                assert r.status_code == 200, r.text
                assert r.headers["ratelimit-policy"].startswith('"per-second"')
                r = c.get(f"{state['management_url']}/v1/catalog")
                assert r.status_code == 200
                assert any(a["name"] == "demo" for a in r.json()["items"])
                r = c.get(f"{state['portal_url']}/")
                assert r.status_code == 200
            # the seed and the metered request live in the Azure table
            deadline = time.monotonic() + 20
            usage = []
            while time.monotonic() < deadline and not usage:
                usage = read_usage(store, "con_demo")
                time.sleep(0.2)
            assert usage and usage[0]["requests"] >= 1
    finally:
        try:
            store.delete_table()
        finally:
            store.close()


def test_a_store_setting_error_is_a_clear_message_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from tests.servers import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "functions.local.cli", "local", "--data-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "TOLLWAY_STORE": "azure"},
    )
    assert out.returncode == 2
    assert "TOLLWAY_AZURE_CONNECTION_STRING" in out.stderr
    assert "Traceback" not in out.stderr
