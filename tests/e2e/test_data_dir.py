"""One stack per data directory (a lock that dies with its process), the base port, and
``tollway env`` from any directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from functions.local.cli import parser, ports_of
from tests.servers import ROOT, client, free_port, local_stack, wait_for_port

CLI = [sys.executable, "-m", "functions.local.cli"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TOLLWAY_DATA_DIR"}
    return {**env, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **extra}


def _free_run(n: int = 4) -> int:
    """A base port with n free ports from it."""
    for _ in range(50):
        base = free_port()
        if base > 65535 - n:
            continue
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return base
    raise RuntimeError("no run of free ports")


def test_base_port_moves_all_four_and_a_port_flag_still_wins():
    args = parser().parse_args(["local", "--base-port", "9080"])
    assert ports_of(args) == [9080, 9081, 9082, 9083]
    args = parser().parse_args(["local", "--base-port", "9080", "--portal-port", "7000"])
    assert ports_of(args) == [9080, 9081, 7000, 9083]
    assert ports_of(parser().parse_args(["local"])) == [8080, 8081, 8082, 8083]
    with pytest.raises(SystemExit):
        parser().parse_args(["local", "--base-port", "65533"])


def test_a_second_stack_on_the_same_data_dir_is_refused_naming_the_first(tmp_path):
    data = tmp_path / "data"
    with local_stack(data) as state:
        before = (data / "local.json").read_text()
        base = _free_run()
        second = subprocess.run(
            [*CLI, "local", "--data-dir", str(data), "--base-port", str(base)],
            cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=60,
        )
        assert second.returncode == 2, second
        err = second.stderr
        assert "in use by a running Tollway stack" in err, err
        assert f"PID {state['pid']}" in err and state["gateway_url"] in err, err
        assert state["management_url"] in err, err
        # the first stack is untouched: same state, demo API still reaches its upstream
        assert (data / "local.json").read_text() == before
        with client() as c:
            r = c.get(state["demo_url"], headers={"X-Api-Key": state["demo_key"]})
            assert r.status_code in (200, 429)


def test_a_crashed_stack_leaves_no_lock_behind(tmp_path):
    data = tmp_path / "data"
    base = _free_run()
    cmd = [*CLI, "local", "--data-dir", str(data), "--base-port", str(base)]
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(cmd, cwd=tmp_path, env=_env(), stdout=log,
                                 stderr=subprocess.STDOUT)
        try:
            for p in range(base, base + 4):
                wait_for_port(p, proc=first)
        finally:
            os.kill(first.pid, signal.SIGKILL)  # no clean-up code runs
            first.wait()
    assert json.loads((data / "stack.lock").read_text())["pid"] == first.pid  # stale file
    with local_stack(data) as state, client() as c:
        assert c.get(state["management_url"] + "/healthz").status_code == 200
        assert json.loads((data / "stack.lock").read_text())["pid"] == state["pid"]


def _tollway_env(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "env", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=30)


def test_tollway_env_prints_the_running_stacks_exports_from_anywhere(tmp_path):
    data = tmp_path / "data"
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    with local_stack(data) as state:
        by_flag = _tollway_env(elsewhere, "--data-dir", str(data))
        by_env = _tollway_env(elsewhere, TOLLWAY_DATA_DIR=str(data))
        assert by_flag.returncode == 0 and by_env.returncode == 0, (by_flag, by_env)
        assert by_flag.stdout == by_env.stdout
        # what a shell gets after eval
        shown = subprocess.run(
            ["sh", "-c", 'eval "$1"; printf "%s\\n" "$DEMO_KEY" "$DEMO_URL" "$ADMIN_TOKEN" '
             '"$MANAGEMENT_URL" "$TOLLWAY_DATA_DIR"', "sh", by_flag.stdout],
            capture_output=True, text=True, check=True,
        ).stdout.split()
        assert shown == [state["demo_key"], state["demo_url"], state["admin_token"],
                         state["management_url"], str(data.resolve())]
    stopped = _tollway_env(elsewhere, "--data-dir", str(data))
    assert stopped.returncode == 1 and stopped.stdout == ""
    assert "no Tollway stack is running" in stopped.stderr and "make run" in stopped.stderr


def test_tollway_env_without_a_stack_says_what_to_do(tmp_path):
    result = _tollway_env(tmp_path, "--data-dir", str(tmp_path / "nothing"))
    assert result.returncode == 1 and "start one with `make run`" in result.stderr


def test_port_in_use_names_the_base_port_flag(tmp_path):
    base = _free_run()
    with socket.socket() as s:
        s.bind(("127.0.0.1", base + 1))
        s.listen()
        r = subprocess.run([*CLI, "local", "--data-dir", str(tmp_path / "d"), "--base-port",
                            str(base)], cwd=tmp_path, env=_env(), capture_output=True,
                           text=True, timeout=60)
    assert r.returncode == 2 and "--base-port" in r.stderr, r.stderr


def test_tollway_env_looks_in_the_checkout_when_here_has_no_stack(tmp_path, monkeypatch):
    from functions.local import datadir

    checkout = tmp_path / "checkout" / ".tollway"
    checkout.mkdir(parents=True)
    (checkout / "local.json").write_text("{}")
    monkeypatch.setattr(datadir, "CHECKOUT_DIR", checkout)
    monkeypatch.chdir(tmp_path)
    assert datadir.find(None, None) == checkout  # nothing here: the checkout's
    assert datadir.find(None, "/x") == Path("/x")  # TOLLWAY_DATA_DIR
    assert datadir.find(tmp_path / "y", "/x") == tmp_path / "y"  # --data-dir
    (tmp_path / ".tollway").mkdir()
    (tmp_path / ".tollway" / "local.json").write_text("{}")
    assert datadir.find(None, None) == Path(".tollway")  # a stack started here
