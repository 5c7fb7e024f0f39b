"""Contract backend: Azure Table Storage, emulated by Azurite (npm, ``make azurite``).

``azurite-table`` runs in memory on 127.0.0.1 and a free port. It is started once per test
process on first use (so each pytest-xdist worker has its own), and killed by PID at exit;
on Linux it is also told to die with this process. If it cannot start, ``make`` raises: the
tests fail, they do not skip. Each ``make`` creates a fresh, uniquely named table and
deletes it afterwards.

Azurite applies requests to an entity one at a time, as the service does, so the exactly-N
concurrency tests check the adapter's ETag loop against a real HTTP server.
"""

from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.adapters.azure_tables import AzureTableStore
from shared.core.clock import Clock
from tests.servers import free_port, wait_for_port

NAME = "azure-tables"
CONCURRENT = True
ROOT = Path(__file__).resolve().parents[3]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite-table"
START_TIMEOUT = 30.0
# Azurite's well-known development account (public, in Microsoft's documentation).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Azurite:
    def __init__(self) -> None:
        if not AZURITE.exists():
            raise RuntimeError(f"{AZURITE} is missing: run `make azurite` (npm ci)")
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="tollway-azurite-", suffix=".log", delete=False
        )
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                str(AZURITE),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.port),
            ],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        atexit.register(self.stop)
        try:
            wait_for_port(self.port, START_TIMEOUT, self.proc)
        except (RuntimeError, TimeoutError) as exc:
            log = Path(self.log.name).read_text(errors="replace")[-4000:]
            self.stop()
            raise RuntimeError(f"Azurite did not start ({exc}):\n{log}") from None
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if not self.log.closed:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


_server: _Azurite | None = None
_start_lock = threading.Lock()


def connection_string() -> str:
    """The process's Azurite, started on first use (again if it died)."""
    global _server
    with _start_lock:
        if _server is None or _server.proc.poll() is not None:
            _server = _Azurite()
        return _server.connection_string


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[AzureTableStore]:
    store = AzureTableStore(
        f"t{uuid.uuid4().hex[:16]}",
        clock,
        connection_string=connection_string(),
        # No SDK retries: a lost or repeated request must show up as a failure here. Long
        # timeouts: 64 clients share 2 cores with the emulator.
        retry_total=0,
        timeout=30.0,
        max_connections=64,
        hit_budget=60.0,  # 64 clients on one entity take seconds here; they must all finish
    )
    try:
        store.create_table_if_missing()
        yield store
    finally:
        try:
            store.delete_table()
        finally:
            store.close()
