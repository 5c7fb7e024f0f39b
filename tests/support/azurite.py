"""Azurite (npm, ``make azurite``) for the tests: one server per service and test process.

Each service (``table``, ``queue``) runs in memory on 127.0.0.1 and a free port, started
on first use (so each pytest-xdist worker has its own), killed by PID at exit and, on
Linux, told to die with this process. If it cannot start, the caller raises: the tests
fail, they do not skip.
"""

from __future__ import annotations

import atexit
import ctypes
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.servers import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
# Azurite's well-known development account (public, in Microsoft's documentation).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class _Server:
    def __init__(self, service: str) -> None:
        binary = ROOT / "node_modules" / ".bin" / f"azurite-{service}"
        if not binary.exists():
            raise RuntimeError(f"{binary} is missing: run `make azurite` (npm ci)")
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"tollway-azurite-{service}-", suffix=".log", delete=False
        )
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(binary), "--inMemoryPersistence", "--disableTelemetry",
             "--skipApiVersionCheck", f"--{service}Host", "127.0.0.1",
             f"--{service}Port", str(self.port)],
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
            raise RuntimeError(f"Azurite {service} did not start ({exc}):\n{log}") from None
        self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if not self.log.closed:
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


_servers: dict[str, _Server] = {}
_lock = threading.Lock()


def endpoint(service: str) -> str:
    """The process's Azurite ``service`` endpoint, started on first use (again if it died)."""
    with _lock:
        server = _servers.get(service)
        if server is None or server.proc.poll() is not None:
            server = _servers[service] = _Server(service)
        return server.endpoint


def connection_string(*services: str) -> str:
    """A connection string naming the endpoints of ``services`` (default: table)."""
    parts = [f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"]
    for service in services or ("table",):
        parts.append(f"{service.capitalize()}Endpoint={endpoint(service)};")
    return "".join(parts)
