"""A newcomer follows the README's tours word for word, from a directory that is not the
checkout, twice in a row, and both runs pass.

The shell snippets are read from README.md's code blocks, so the README and this test
cannot drift apart. The shell has the virtualenv on its PATH (as after
``. .venv/bin/activate``) and finds the stack with ``tollway env`` through
TOLLWAY_DATA_DIR, as the README says; ``make run ARGS=...`` lines become ``local_stack``
arguments.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT, local_stack

README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent


def _block(heading: str) -> str:
    """The first ```sh block after ``heading`` in README.md."""
    text = README.read_text()
    start = text.index(heading + "\n")
    found = re.search(r"^```sh\n(.*?)^```$", text[start:], re.S | re.M)
    assert found, f"no sh block after {heading!r}"
    return found.group(1)


FIVE_MINUTE = _block("## Five-minute tour")
MANAGEMENT = _block("### The management API: management decides, the gateway acts")
JWT = _block("### JWT bearer tokens")


def _sh(script: str, cwd: Path, data_dir: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
               VIRTUAL_ENV=str(VENV_BIN.parent), TOLLWAY_DATA_DIR=str(data_dir))
    done = subprocess.run(["sh", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stderr and "not found" not in done.stderr, done.stderr
    return done.stdout


def _statuses(out: str) -> list[int]:
    return [int(m) for m in re.findall(r"^HTTP/[\d.]+ (\d{3})", out, re.M)]


def _tours(cwd: Path, data_dir: Path) -> None:
    """Both tours in one shell session, as in one terminal."""
    out = _sh(FIVE_MINUTE + MANAGEMENT, cwd, data_dir)
    codes = _statuses(out)
    # demo 200; v1 deprecated 200; v0 410; unknown route 404; six calls at once; wrong key 401
    assert codes[:4] == [200, 200, 410, 404], out
    burst = codes[4:10]
    assert burst.count(429) >= 2 and set(burst) <= {200, 429}, out
    # then the management tour: the new key through the gateway 200, after revoking it 401
    assert codes[10:] == [401, 200, 401], out
    assert re.search(r'^ratelimit-policy: "per-second";q=2;w=1', out, re.M | re.I), out
    assert re.search(r"^deprecation: ", out, re.M | re.I), out
    assert re.search(r"^retry-after: 1\s*$", out, re.M | re.I), out
    flat = out.replace(" ", "")
    assert '"hint":"tw_' in flat, out  # the key list shows hints only
    assert '"name":"Partner"' in flat, out  # the admin created a plan
    assert '"state":"revoked"' in flat, out


def test_the_readme_tours_from_another_directory_twice_in_a_row(tmp_path):
    elsewhere = tmp_path / "my" / "projects"
    elsewhere.mkdir(parents=True)
    data = tmp_path / "data"
    with local_stack(data, cache_ttl=2.0):
        for _ in range(2):
            _tours(elsewhere, data)


def _make_run_args(block: str, variables: dict[str, str]) -> list[str]:
    line = next(x for x in block.splitlines() if x.startswith("make run ARGS="))
    args = shlex.split(line.split("ARGS=", 1)[1])[0]
    for name, value in variables.items():
        args = args.replace(f"${name}", value)
    return shlex.split(args)


def test_the_readme_jwt_tour_from_another_directory_twice(tmp_path):
    assignments = dict(re.findall(r"^([A-Z_]+)=(\S+)", JWT, re.M))
    secret = assignments["SECRET"]
    args = _make_run_args(JWT, {"SECRET": secret})
    # what the other terminal runs: everything but `make run`
    script = "\n".join(x for x in JWT.splitlines() if not x.startswith("make run"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = tmp_path / "data"
    with local_stack(data, *args):
        for _ in range(2):
            out = _sh('eval "$(tollway env)"\n' + script, elsewhere, data)
            assert _statuses(out) == [200], out
            assert '"x-tollway-consumer": "con_demo"' in out.lower().replace('":"', '": "'), out
