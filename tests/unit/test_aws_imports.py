"""The gateway's Lambda cold path stays lean: importing the authorizer or the router loads
no web framework, no pydantic and no X-Ray SDK (each in a fresh interpreter, so nothing
imported by other tests can hide a regression)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("fastapi", "starlette", "pydantic", "pydantic_core", "mangum", "aws_xray_sdk")

CHECK = """
import sys, importlib
importlib.import_module({module!r})
loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r}))
print(','.join(loaded))
"""


def _loaded(module: str, **env: str) -> set[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    environ.update({"TOLLWAY_STORE": "memory", "AWS_DEFAULT_REGION": "us-east-1", **env})
    code = CHECK.format(module=module, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return {m for m in out.stdout.strip().split(",") if m}


@pytest.mark.parametrize("module", ["functions.aws.router", "functions.aws.authorizer"])
def test_gateway_handlers_import_nothing_heavy(module):
    assert _loaded(module) == set()


def test_the_authorizer_does_not_even_load_the_upstream_client():
    code = (
        "import sys, functions.aws.authorizer; "
        "sys.exit(1 if {'httpx', 'shared.adapters.http_upstream'} & set(sys.modules) else 0)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update({"TOLLWAY_STORE": "memory", "AWS_DEFAULT_REGION": "us-east-1"})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr


def test_tracing_on_does_load_the_xray_sdk():
    """The control for the test above: the check does see aws_xray_sdk when it is used."""
    assert "aws_xray_sdk" in _loaded("functions.aws.router", TOLLWAY_TRACING="true")


def test_the_dynamodb_store_path_loads_no_botocore():
    """With the deployed store (DynamoDB), importing a gateway handler and making a store call
    loads no botocore: the store speaks DynamoDB's protocol with its own client."""
    code = (
        "import sys, functions.aws.router as r, functions.aws.authorizer\n"
        "from shared.ports import StoreUnavailable\n"
        "from shared.wiring import build_store\n"
        "try:\n"
        "    build_store(r.settings).get('K#x', 'K')  # the store the handler built\n"
        "except StoreUnavailable:\n"
        "    pass\n"
        "else:\n"
        "    sys.exit('the call should have failed: nothing listens there')\n"
        "sys.exit(1 if any(m.split('.')[0] in ('botocore', 'boto3') for m in sys.modules) else 0)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOLLWAY_", "AWS_"))}
    env.update(
        {
            "TOLLWAY_STORE": "dynamodb",
            "TOLLWAY_TABLE": "t",
            "TOLLWAY_DYNAMODB_ENDPOINT": "http://127.0.0.1:9",  # discard: refused
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
