"""One stack per data directory, and how other shells find the running one.

``tollway local`` holds an exclusive ``flock`` on ``<data dir>/stack.lock`` for as long as
it runs, and writes its PID and URLs into that file. The lock belongs to the open file, so
the kernel drops it when the process ends, however it ends (Ctrl-C, kill -9, a crash): a
stale file never blocks the next start. A second stack on the same directory is refused
with the first one's PID and URLs.

``tollway env`` prints the running stack's ``local.json`` as shell exports; it finds the
data directory from ``--data-dir``, else ``TOLLWAY_DATA_DIR``, else ``./.tollway`` when
that holds a stack, else the checkout's own ``.tollway`` (where ``make run`` keeps it) — so
it works from any directory.
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, one stack is the user's job
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "stack.lock"
STATE_NAME = "local.json"
DEFAULT_DIR = Path(".tollway")
#: The checkout's data directory: where ``make run`` (run from the repository root) keeps it.
CHECKOUT_DIR = Path(__file__).resolve().parents[2] / ".tollway"
#: local.json fields that become shell variables (upper-cased), in this order.
EXPORTS = ("gateway_url", "management_url", "portal_url", "upstream_url", "admin_token",
           "demo_key", "demo_url")


class DataDirError(Exception):
    """Something the user must act on: the directory is busy, or no stack runs on it."""


class DataDirBusy(DataDirError):
    """Another live process holds the data directory."""


def _describe(holder: dict[str, Any]) -> str:
    pid = holder.get("pid", "unknown")
    urls = ", ".join(f"{name} {holder[f'{name}_url']}"
                     for name in ("gateway", "management", "portal", "upstream")
                     if holder.get(f"{name}_url"))
    return f"PID {pid}" + (f": {urls}" if urls else "")


def read_holder(data_dir: Path) -> dict[str, Any]:
    try:
        holder = json.loads((data_dir / LOCK_NAME).read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


class StackLock:
    """The exclusive lock a running stack holds on its data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._file: IO[str] | None = None

    def acquire(self, info: dict[str, Any], wait: float = 1.0) -> None:
        """Take the lock (waiting up to ``wait`` seconds: a ``tollway env`` probe holds it
        for microseconds) and write ``info`` (PID, URLs) into the lock file."""
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        f = os.fdopen(fd, "r+")
        if fcntl is not None:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        f.close()
                        holder = read_holder(self.data_dir)
                        raise DataDirBusy(
                            f"{self.data_dir}/ is in use by a running Tollway stack "
                            f"({_describe(holder)}). Use that stack (`tollway env` prints its "
                            f"settings), stop it (Ctrl-C in its terminal, or kill "
                            f"{holder.get('pid', '<pid>')}), or start this one with another "
                            "--data-dir."
                        ) from None
                    time.sleep(0.05)
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), **info}) + "\n")
        f.flush()
        self._file = f  # kept open: closing it (or the process ending) releases the lock

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def is_running(data_dir: Path) -> bool:
    """True if a live process holds ``data_dir``'s lock."""
    if fcntl is None:  # pragma: no cover
        return (data_dir / LOCK_NAME).exists()
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the probe's shared lock, if it got one
    return False


def find(explicit: Path | None, env_dir: str | None) -> Path:
    """The data directory ``tollway env`` reads (see the module docstring)."""
    if explicit is not None:
        return explicit
    if env_dir:
        return Path(env_dir)
    if (DEFAULT_DIR / STATE_NAME).exists() or not (CHECKOUT_DIR / STATE_NAME).exists():
        return DEFAULT_DIR
    return CHECKOUT_DIR


def exports(data_dir: Path) -> str:
    """``export NAME='value'`` lines for the running stack on ``data_dir``."""
    state_path = data_dir / STATE_NAME
    if not is_running(data_dir):
        where = data_dir.resolve()
        raise DataDirError(
            f"no Tollway stack is running on {where}/: start one with `make run` (or "
            "`tollway local`), or point --data-dir / TOLLWAY_DATA_DIR at its data directory"
        )
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError) as exc:
        raise DataDirError(f"cannot read {state_path}: {exc}") from None
    lines = [f"export {name.upper()}={shlex.quote(str(state[name]))}"
             for name in EXPORTS if isinstance(state.get(name), str)]
    lines.append(f"export TOLLWAY_DATA_DIR={shlex.quote(str(data_dir.resolve()))}")
    return "\n".join(lines) + "\n"
