"""Build the two Lambda code packages, each with only what its functions import.

    python iac/aws/package.py            build build/aws/{gateway,management}, print sizes
    python iac/aws/package.py --sizes    print the sizes of what is already built

``gateway`` (router, authorizer, metering) gets :data:`GATEWAY`: urllib3 (upstream calls),
botocore (only the credential chain when the
environment has no keys; no boto3, no s3transfer), PyJWT +
cryptography (JWT credentials) and Powertools; none of FastAPI, Starlette, pydantic,
Mangum, argon2. Its code is ``shared`` without the management app and the Azure rooms.
``management`` gets the gateway's packages plus :data:`MANAGEMENT_EXTRA`.

Dependencies are installed here (``pip install --target`` for Lambda's platform: Linux
arm64, CPython 3.12, binary wheels only) so SAM only copies the directory, and botocore's
service models are cut to the services the package calls (:data:`BOTOCORE_SERVICES`): of
its ~450 models the gateway needs one. Versions are the ones the tests ran with (.venv).

Bytecode is compiled into the package with Lambda's Python (3.12) when one is on PATH
(:func:`compile_bytecode`): ``/var/task`` is read-only, so without ``.pyc`` files every
cold start compiles every module it imports from source, ours and botocore's alike.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "aws"

#: What the gateway functions import (tests/unit/test_aws_imports.py checks the modules).
GATEWAY = ("botocore", "urllib3", "pyjwt", "cryptography", "aws-lambda-powertools",
           "jsonschema")  # the validate policy; imported on first use only
MANAGEMENT_EXTRA = ("fastapi", "fastapi-offline", "pydantic", "email-validator", "argon2-cffi",
                    "mangum")
#: Never in the gateway package (test_packaging.py asserts it).
NOT_IN_GATEWAY = ("boto3", "s3transfer", "fastapi", "starlette", "pydantic", "mangum")

#: botocore service models each package keeps (the JSON files at data/ are always kept).
BOTOCORE_SERVICES = {
    "gateway": ("dynamodb",),
    "management": ("dynamodb", "secretsmanager", "sesv2"),  # sesv2: notices (+ jobs)
}

#: Code each package leaves out: the management app, other clouds, local tooling.
EXCLUDED = {
    "gateway": ("shared/api", "shared/clouds/azure", "shared/adapters/azure_tables.py",
                "shared/adapters/azure_keys.py", "shared/adapters/sqlite.py",
                "shared/adapters/loop_upstream.py", "functions/local", "functions/azure"),
    "management": ("shared/clouds/azure", "shared/adapters/azure_tables.py",
                   "shared/adapters/azure_keys.py", "shared/adapters/loop_upstream.py",
                   "functions/local", "functions/azure"),
}

PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp",
            "--python-version", "3.12", "--only-binary=:all:")


def requirements(package: str) -> list[str]:
    names = GATEWAY + (MANAGEMENT_EXTRA if package == "management" else ())
    return [f"{n}=={md.version(n)}" for n in names]


def _copy_code(dest: Path, package: str) -> None:
    for top in ("shared", "functions"):
        shutil.copytree(ROOT / top, dest / top,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in EXCLUDED[package]:
        path = dest / rel
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _prune(dest: Path, package: str) -> None:
    data = dest / "botocore" / "data"
    keep = set(BOTOCORE_SERVICES[package])
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry)
    for cache in dest.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def build(package: str) -> Path:
    dest = BUILD / package
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    _copy_code(dest, package)
    reqs = requirements(package)
    (dest / "requirements.lock").write_text("\n".join(reqs) + "\n")  # not requirements.txt:
    # SAM would install them again; they are installed here, for Lambda's platform.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",  # noqa: S603
                    "--no-compile", "--target", str(dest), *PLATFORM, *reqs], check=True)
    _prune(dest, package)
    compile_bytecode(dest)
    return dest


#: The interpreter Lambda runs (template.yaml ``Runtime: python3.12``); ``LAMBDA_PYTHON``
#: names another path to one.
LAMBDA_VERSION = (3, 12)


def _lambda_python() -> str | None:
    name = os.environ.get("LAMBDA_PYTHON") or "python{}.{}".format(*LAMBDA_VERSION)
    python = shutil.which(name)
    if python is None:
        return None
    probe = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"],  # noqa: S603
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0 or tuple(map(int, probe.stdout.split())) != LAMBDA_VERSION:
        return None  # e.g. a pyenv shim for a version that is not selected
    return python


def compile_bytecode(dest: Path) -> bool:
    """``.pyc`` files for every module, with the hash of their source unchecked (the zip's
    timestamps are not the source's, and the package never changes once deployed). Needs
    Lambda's own Python version, whose bytecode format differs from other versions: when
    none is found, the package is left without (it works; cold starts compile)."""
    python = _lambda_python()
    if python is None:
        print("note: no Python {}.{} found (set LAMBDA_PYTHON): the package ships without "
              "bytecode, so each cold start compiles what it imports".format(*LAMBDA_VERSION),
              file=sys.stderr)
        return False
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0",  # noqa: S603
                    "--invalidation-mode", "unchecked-hash", str(dest)], check=True)
    return True


def sizes(dest: Path) -> tuple[int, int]:
    """(bytes unpacked, bytes as a deflated zip) of a package directory."""
    files = [p for p in dest.rglob("*") if p.is_file()]
    unpacked = sum(p.stat().st_size for p in files)
    archive = dest.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            z.write(p, p.relative_to(dest))
    zipped = archive.stat().st_size
    archive.unlink()
    return unpacked, zipped


def main(argv: list[str]) -> None:
    for package in ("gateway", "management"):
        dest = BUILD / package if "--sizes" in argv else build(package)
        unpacked, zipped = sizes(dest)
        print(f"{package:<11} {unpacked / 1e6:6.1f} MB unpacked  {zipped / 1e6:6.1f} MB zipped")


if __name__ == "__main__":
    main(sys.argv[1:])
