"""The gateway package ships what the gateway functions import and nothing else (issue 10
item 9): botocore without boto3/s3transfer, no FastAPI/pydantic, no management app."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

from tests.functional.aws.test_fixtures import resources

ROOT = Path(__file__).resolve().parents[3]
spec = importlib.util.spec_from_file_location("aws_package", ROOT / "iac/aws/package.py")
package = importlib.util.module_from_spec(spec)
sys.modules["aws_package"] = package
spec.loader.exec_module(package)


def _top(req: str) -> str:
    return req.split("==")[0].lower()


def test_gateway_requirements_exclude_boto3_fastapi_and_friends():
    gateway = {_top(r) for r in package.requirements("gateway")}
    assert gateway == set(package.GATEWAY)
    for name in ("boto3", "s3transfer", "fastapi", "pydantic", "starlette", "mangum",
                 "argon2-cffi", "fastapi-offline"):
        assert name not in gateway
    assert "botocore" in gateway and "urllib3" in gateway
    management = {_top(r) for r in package.requirements("management")}
    assert gateway < management and "fastapi" in management and "boto3" not in management


def test_requirements_pin_the_versions_the_tests_ran_with():
    assert all("==" in r for r in package.requirements("management"))


def test_gateway_code_leaves_out_the_management_app_and_other_clouds():
    assert "shared/api" in package.EXCLUDED["gateway"]
    assert package.BOTOCORE_SERVICES["gateway"] == ("dynamodb",)
    assert "secretsmanager" in package.BOTOCORE_SERVICES["management"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("top", ["shared", "functions"])
def test_nothing_shipped_imports_boto3(top):
    """botocore suffices (grep -rn boto3 shared functions): boto3 is not in any package."""
    offenders = [p for p in (ROOT / top).rglob("*.py") if "boto3" in _imports(p)]
    assert offenders == []


def test_the_gateway_functions_use_the_gateway_package_and_sam_only_copies_it():
    res = resources()
    for fn in ("RouterFunction", "AuthorizerFunction", "MeteringFunction"):
        assert res[fn]["Properties"]["CodeUri"] == "build/aws/gateway"
    for fn in ("ManagementFunction", "JobsFunction"):  # jobs: shared.management + sesv2
        assert res[fn]["Properties"]["CodeUri"] == "build/aws/management"
    assert "sesv2" in package.BOTOCORE_SERVICES["management"]
    mk = (ROOT / "mk/aws.mk").read_text()
    assert "iac/aws/package.py" in mk and "boto3" not in mk.split("aws-src:")[1].split("\n\n")[0]
