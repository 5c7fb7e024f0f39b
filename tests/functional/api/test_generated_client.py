"""A Python client generated from the management API's OpenAPI document works.

openapi-python-client (pinned in mk/clients.mk, in its own virtualenv) generates a client
from the live document; the test imports it and drives the app in process through it: the
operation ids become the function names (``signup``, ``create_key``...), a plan granting
``"*"`` passes the generated model, and errors parse as the documented ``Problem``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.adapters.memory import MemoryStore
from shared.api.app import create_app
from shared.core.clock import ManualClock
from tests.functional.api.harness import ADMIN_TOKEN, CHEAP_HASHER, PASSWORD, settings
from tests.servers import ROOT
from tests.support.management_client import management_client

TOOL_BIN = ROOT / ".venv-openapi" / "bin"
PACKAGE = "tollway_generated_client"


@pytest.fixture(scope="module")
def app() -> Any:
    clock = ManualClock()
    return create_app(store=MemoryStore(clock), clock=clock, settings=settings(),
                      password_hasher=CHEAP_HASHER)


@pytest.fixture(scope="module")
def generated(app: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not (TOOL_BIN / "openapi-python-client").exists():
        pytest.fail("openapi-python-client is not installed: `make test` installs it into "
                    ".venv-openapi (mk/clients.mk), or run `make openapi-client-tool`")
    where = tmp_path_factory.mktemp("client")
    spec = where / "openapi.json"
    spec.write_text(json.dumps(app.openapi()))
    env = {**os.environ, "PATH": f"{TOOL_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(TOOL_BIN / "openapi-python-client"), "generate", "--path", str(spec),
         "--output-path", str(where / PACKAGE), "--meta", "none"],
        cwd=where, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def clients(generated: Any, app: Any) -> Iterator[Any]:
    """``clients(token)``: a generated Client over an in-process httpx client to ``app``."""
    with contextlib.ExitStack() as stack:
        yield lambda token=None: _client(generated, stack.enter_context(management_client(app)),
                                         token)


def _client(generated: Any, http: Any, token: str | None) -> Any:
    if token:
        http.headers["Authorization"] = f"Bearer {token}"
    return generated.Client(base_url="http://testserver").set_httpx_client(http)


def _api(generated: Any, module: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{module}")


def test_the_operation_ids_are_the_client_s_function_names(generated: Any) -> None:
    root = Path(generated.__file__).parent / "api"
    names = {p.stem for p in root.rglob("*.py") if p.stem != "__init__"}
    assert {"signup", "login", "create_key", "list_keys", "subscribe", "create_plan",
            "list_plans", "list_consumer_subscriptions", "list_all_subscriptions"} <= names
    assert not [n for n in names if n.endswith(("_get", "_post", "_put", "_patch", "_delete"))]


def test_a_generated_client_signs_up_creates_a_key_and_subscribes(generated: Any,
                                                                  clients: Any) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    admin = clients(ADMIN_TOKEN)

    # a plan granting every API ("*") and one granting "demo" both pass the generated model
    everything = _api(generated, "admin_plans.create_plan").sync(
        client=admin, body=models.PlanCreateIn(name="All", apis=["*"], rate_per_second=5))
    assert isinstance(everything, models.PlanOut) and everything.apis == ["*"]
    api = _api(generated, "admin_apis.create_api").sync(client=admin, body=models.ApiCreateIn(
        name="demo", version="v1", base_path="/demo/v1",
        upstreams=[models.UpstreamIO(url="http://upstream.test")]))
    assert isinstance(api, models.ApiOut), api
    demo = _api(generated, "admin_plans.create_plan").sync(
        client=admin, body=models.PlanCreateIn(name="Demo", apis=["demo"]))
    assert isinstance(demo, models.PlanOut)

    anonymous = clients()
    session = _api(generated, "auth.signup").sync(
        client=anonymous, body=models.SignupIn(email="gen@example.com", password=PASSWORD))
    assert isinstance(session, models.SessionOut)
    dev = clients(session.access_token)

    created = _api(generated, "keys.create_key").sync(client=dev,
                                                      body=models.KeyCreateIn(name="laptop"))
    assert isinstance(created, models.KeyCreatedOut) and created.key.startswith("tw_")
    keys = _api(generated, "keys.list_keys").sync(client=dev)
    assert [k.id for k in keys.items] == [created.id]

    sub = _api(generated, "subscriptions.subscribe").sync(
        client=dev, body=models.SubscribeIn(plan_id=everything.id))
    assert sub.plan_id == everything.id and sub.status == "active"

    # errors are the documented problem documents
    again = _api(generated, "auth.signup").sync_detailed(
        client=anonymous, body=models.SignupIn(email="gen@example.com", password=PASSWORD))
    assert again.status_code == 409 and isinstance(again.parsed, models.Problem)
    assert again.parsed.status == 409
