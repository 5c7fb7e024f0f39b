"""The house rules, as tests: dependencies point inward."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = (
    "boto3",
    "botocore",
    "azure",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
    "shared.adapters",
    "shared.management",
    "shared.api",
    "functions",
)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_source_imports_no_adapter_cloud_sdk_or_web_framework():
    for path in (ROOT / "shared" / "core").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN_IN_CORE), f"{path.name} imports {name}"


def test_importing_the_core_loads_none_of_them():
    code = (
        "import sys, shared.core.keys, shared.core.tokens, shared.core.ratelimit, "
        "shared.core.routing, shared.core.outcomes, shared.core.request, shared.core.models;"
        "bad=[m for m in sys.modules if m.split('.')[0] in "
        "('boto3','botocore','azure','httpx','fastapi','starlette')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_services_do_not_import_adapters_or_frameworks():
    for path in (ROOT / "shared" / "services").glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(
                ("shared.adapters", "boto3", "azure", "fastapi", "shared.api", "functions")
            ), f"{path.name}: {name}"


def test_gateway_path_never_imports_fastapi():
    code = (
        "import sys, functions.local.gateway_asgi, shared.wiring;"
        "sys.exit(1 if 'fastapi' in sys.modules or 'pydantic' in sys.modules else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
