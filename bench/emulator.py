"""A DynamoDB-compatible server (moto) in its own process on a free loopback port, for the
benchmarks (started on first use, killed by PID at exit, and it exits when we do)."""

from __future__ import annotations

import atexit
import os
import select
import subprocess
import sys
import threading
import time

from bench.common import ROOT

_proc: subprocess.Popen[bytes] | None = None
_endpoint = ""
_lock = threading.Lock()


def endpoint() -> str:
    global _proc, _endpoint
    with _lock:
        if _proc is not None and _proc.poll() is None:
            return _endpoint
        _proc = subprocess.Popen(
            [sys.executable, "-m", "bench.emulator", "serve"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(_stop, _proc)
        assert _proc.stdout is not None
        line, deadline = b"", time.monotonic() + 60
        while not line.endswith(b"\n") and _proc.poll() is None and time.monotonic() < deadline:
            if select.select([_proc.stdout], [], [], 1)[0]:
                line += os.read(_proc.stdout.fileno(), 64)
        if not line.strip().isdigit():
            raise RuntimeError(f"DynamoDB emulator did not start (said {line!r})")
        _endpoint = f"http://127.0.0.1:{int(line)}"
        return _endpoint


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def _serve() -> None:
    import logging

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)

    def exit_with_parent() -> None:
        sys.stdin.buffer.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    sys.stdout.write(f"{server.server_port}\n")
    sys.stdout.flush()
    sys.stdout = sys.stderr
    server.serve_forever()


if __name__ == "__main__" and sys.argv[1:] == ["serve"]:
    _serve()
