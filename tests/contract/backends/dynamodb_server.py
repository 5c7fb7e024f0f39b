"""Contract backend: a DynamoDB-compatible server in its own process, over real HTTP,
spoken to by the store's own client (``DynamoHttpClient``), as in a deployment.

The server is moto's DynamoDB app (``pip`` installs it with the dev extras) behind
werkzeug's threaded HTTP server on 127.0.0.1 and a port the kernel picks. It is started once
per test session, on first use, and killed by PID at exit; it also exits by itself when this
process dies (it watches its stdin). If it cannot start, ``make`` raises: the tests fail.

One thing is added to moto: requests are applied one at a time. moto's DynamoDB checks a
condition and writes the item with no lock, so two server threads can both pass the same
condition (measured: 103-104 admitted for a ceiling of 100). DynamoDB serialises the writes
to an item; the lock gives the emulator that guarantee, so the exactly-N concurrency tests
check the adapter's single conditional update, not moto's threading. HTTP handling stays
concurrent, so 64 clients really do race.

Each ``make`` creates a fresh, uniquely named table and deletes it afterwards.
"""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
from botocore.config import Config

from shared.adapters.dynamodb import DynamoStore, create_table
from shared.adapters.dynamodb_http import DynamoHttpClient
from shared.core.clock import Clock

NAME = "dynamodb-server"
CONCURRENT = True
MODULE = "tests.contract.backends.dynamodb_server"
ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 60.0


class _Server:
    def __init__(self) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="tollway-dynamodb-server-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, "serve"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        atexit.register(self.stop)
        self.endpoint = f"http://127.0.0.1:{self._read_port()}"

    def _read_port(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n") and self.proc.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if select.select([self.proc.stdout], [], [], left)[0]:
                line += os.read(self.proc.stdout.fileno(), 64)
        if not line.strip().isdigit():
            log = Path(self.log.name).read_text(errors="replace")[-4000:]
            self.stop()
            raise RuntimeError(f"DynamoDB emulator did not start (said {line!r}):\n{log}")
        return int(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


_server: _Server | None = None
_start_lock = threading.Lock()


def endpoint() -> str:
    """The session's server, started on first use."""
    global _server
    with _start_lock:
        if _server is None or _server.proc.poll() is not None:
            _server = _Server()
        return _server.endpoint


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[DynamoStore]:
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint(),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            # No SDK retries: a lost or repeated request must show up as a failure here.
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=10,
            read_timeout=30,
            max_pool_connections=64,
        ),
    )
    table = f"tollway-{uuid.uuid4().hex[:12]}"
    try:
        create_table(client, table)
        # The store talks to the server as a deployed function does: its own client
        # (DynamoDB's JSON protocol, no botocore); dynamodb-moto covers a botocore client.
        wire = DynamoHttpClient(
            endpoint_url=endpoint(),
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            max_attempts=1,  # a lost or repeated request must show up as a failure here
            connect_timeout=10,
            read_timeout=30,
            max_pool_connections=64,
        )
        try:
            yield DynamoStore(table, wire, clock)
        finally:
            wire.close()
    finally:
        try:
            client.delete_table(TableName=table)
        finally:
            client.close()


def _serve() -> None:
    """Child process: moto's app, one request at a time, on a free port printed to stdout."""
    import logging

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return list(app(environ, start_response))  # the whole body, under the lock

    server = make_server(
        "127.0.0.1", 0, one_at_a_time, threaded=True, request_handler=MotoRequestHandler
    )

    def exit_with_parent() -> None:
        sys.stdin.buffer.read()  # EOF: the test process has gone
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr  # nothing else goes to the pipe
    server.serve_forever()


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    _serve()
