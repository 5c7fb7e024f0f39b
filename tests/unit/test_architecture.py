"""The house rules, as tests: dependencies point inward."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


def _modules(*parts: str):
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


SERVICES = ("gateway", "management", "metering")
NOT_IN_SERVICES = (
    "shared.adapters", "shared.clouds", "shared.api", "functions",
    "boto3", "botocore", "urllib3", "aws_lambda_powertools", "azure",
    "starlette", "fastapi", "uvicorn", "httpx",
)
AWS_SDKS = ("boto3", "botocore", "aws_lambda_powertools", "mangum")
AZURE_SDKS = ("azure",)


@pytest.mark.parametrize("context", SERVICES)
def test_services_import_no_adapter_cloud_sdk_http_client_or_framework(context):
    for path in _modules("shared", context):
        for name in _imports(path):
            assert not name.startswith(NOT_IN_SERVICES), f"{context}/{path.name}: {name}"


def test_adapters_import_no_services_clouds_or_entry_points():
    for path in _modules("shared", "adapters"):
        for name in _imports(path):
            assert not name.startswith(
                ("shared.gateway", "shared.management", "shared.metering", "shared.api",
                 "shared.clouds", "functions")
            ), f"adapters/{path.name}: {name}"


@pytest.mark.parametrize(
    ("where", "foreign"),
    [
        (("shared", "clouds", "aws"), AZURE_SDKS),
        (("shared", "clouds", "azure"), AWS_SDKS),
        (("functions", "aws"), (*AZURE_SDKS, "shared.clouds.azure")),
        (("functions", "azure"), (*AWS_SDKS, "shared.clouds.aws")),
        (("functions", "local"), (*AWS_SDKS, *AZURE_SDKS, "shared.clouds")),
    ],
    ids=["clouds/aws", "clouds/azure", "functions/aws", "functions/azure", "functions/local"],
)
def test_each_cloud_imports_only_its_own_sdk(where, foreign):
    for path in _modules(*where):
        for name in _imports(path):
            assert not name.startswith(foreign), f"{'/'.join(where)}/{path.name}: {name}"


def test_only_settings_reads_the_environment():
    # Config is read once, into Settings; cloud runtimes may read what the platform sets
    # before Settings exist (secret ids, the service name) and the CLI passes os.environ on.
    # The store's DynamoDB client reads the AWS SDK's own variables (region, endpoint,
    # credentials), as botocore, which it replaces on the request path, read them.
    allowed = {"settings.py", "runtime.py", "cli.py", "parse_check.py", "dynamodb_http.py"}
    for path in [*_modules("shared"), *_modules("functions")]:
        if path.name in allowed:
            continue
        text = path.read_text()
        assert "os.environ" not in text and "os.getenv" not in text, path


def test_the_tree_matches_the_documented_layout():
    for folder in ("core", "gateway", "management", "metering", "adapters", "clouds/aws",
                   "api"):
        assert (ROOT / "shared" / folder).is_dir(), folder
    assert not (ROOT / "shared" / "services").exists()
    for path in _modules("shared"):
        assert "testing" not in path.stem and "fake" not in path.stem, f"test helper {path}"


def test_gateway_path_never_imports_fastapi():
    code = (
        "import sys, functions.local.gateway_asgi, shared.wiring;"
        "sys.exit(1 if 'fastapi' in sys.modules or 'pydantic' in sys.modules else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
