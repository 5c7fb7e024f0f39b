"""The Bicep parse gate (iac/azure/parse_check.py) really gates.

checkov prints "Parsing errors: 1" and exits 0 on a Bicep file it cannot parse, so `make test`
runs the pycep parse first. These tests prove the gate fails on broken Bicep, passes on the
real files, and that the suppressions and parameters stay honest. They need the checkov
virtualenv (pycep lives there); `make test` builds it before pytest runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
IAC = ROOT / "iac" / "azure"
PARSE_CHECK = IAC / "parse_check.py"
CHECKOV_PY = ROOT / ".venv-checkov" / "bin" / "python"
DOC = ROOT / "docs" / "azure-deploy.md"

needs_pycep = pytest.mark.skipif(
    not CHECKOV_PY.exists(),
    reason=".venv-checkov does not exist (make test creates it via azure-iac-check)",
)


def run_gate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECKOV_PY), str(PARSE_CHECK), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def bicep_sources() -> list[Path]:
    return sorted(IAC.rglob("*.bicep"))


@needs_pycep
def test_real_files_parse_with_resources() -> None:
    result = run_gate(IAC)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in bicep_sources():
        assert f"parsed {path}" in result.stdout
    match = re.search(r"(\d+) resources parsed", result.stdout)
    assert match and int(match.group(1)) >= 20, result.stdout


BREAKAGES = {
    # name: (old, new) applied once to a copy of main.bicep
    "missing closing brace": (
        "    stagingEnvironmentPolicy: 'Disabled'\n  }\n}\n",
        "    stagingEnvironmentPolicy: 'Disabled'\n  }\n",
    ),
    "unterminated string": ("name: 'default'", "name: 'default"),
    "misspelled keyword": ("resource vault ", "resourse vault "),
}


@needs_pycep
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_copy_fails_naming_the_file(tmp_path: Path, breakage: str) -> None:
    copy = tmp_path / "azure"
    shutil.copytree(IAC, copy)
    main = copy / "main.bicep"
    old, new = BREAKAGES[breakage]
    text = main.read_text()
    assert old in text, f"fixture out of date: {old!r} not in main.bicep"
    main.write_text(text.replace(old, new, 1))

    result = run_gate(copy)

    assert result.returncode != 0, result.stdout
    assert f"PARSE ERROR {main}" in result.stdout
    # The intact module still parses: the report is per file.
    assert f"parsed {copy / 'modules' / 'functionapp.bicep'}" in result.stdout


@needs_pycep
def test_zero_resources_fails(tmp_path: Path) -> None:
    only_params = tmp_path / "empty.bicep"
    only_params.write_text("param location string = 'westeurope'\n")
    result = run_gate(tmp_path)
    assert result.returncode != 0
    assert "0 resources" in result.stderr


@needs_pycep
def test_no_bicep_files_fails(tmp_path: Path) -> None:
    result = run_gate(tmp_path)
    assert result.returncode != 0
    assert "no .bicep file" in result.stderr


@needs_pycep
def test_parameters_file_names_declared_parameters() -> None:
    script = (
        "import json, sys; from pycep import BicepParser; "
        "doc = BicepParser().parse(file_path=__import__('pathlib').Path(sys.argv[1])); "
        "print(json.dumps(sorted(doc['parameters'])))"
    )
    out = subprocess.run(
        [str(CHECKOV_PY), "-c", script, str(IAC / "main.bicep")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    declared = set(json.loads(out))
    given = set(json.loads((IAC / "main.parameters.json").read_text())["parameters"])
    assert given <= declared, f"undeclared parameters: {sorted(given - declared)}"
    # Secrets never sit in the committed parameters file.
    assert not given & {"adminToken", "sessionKeys", "acsAccessKey", "exportToken"}


SKIP_RE = re.compile(r"//\s*checkov:skip=(CKV2?_AZURE_\d+)(?::\s*(.*))?")


def test_every_suppression_has_a_reason_and_is_documented() -> None:
    doc = DOC.read_text()
    skips = []
    for path in bicep_sources():
        for line in path.read_text().splitlines():
            match = SKIP_RE.search(line)
            if match:
                skips.append(match.group(1))
                assert match.group(2) and len(match.group(2)) > 15, f"{path}: {line.strip()}"
    assert skips, "expected the suppressions listed in docs/azure-deploy.md"
    missing = sorted({s for s in skips if s not in doc})
    assert not missing, f"suppressions not explained in docs/azure-deploy.md: {missing}"


def test_apps_get_the_settings_tollway_reads() -> None:
    text = (IAC / "main.bicep").read_text()
    for name in (
        "TOLLWAY_STORE",
        "TOLLWAY_TABLE",
        "TOLLWAY_AZURE_TABLE_ENDPOINT",
        "TOLLWAY_AZURE_QUEUE_ENDPOINT",
        "TOLLWAY_USAGE_QUEUE",
        "TOLLWAY_ADMIN_TOKEN",
        "TOLLWAY_SESSION_KEYS",
        "TOLLWAY_CORS_ORIGINS",
        "TOLLWAY_CACHE_TTL",
        "TOLLWAY_DEFAULT_FAIL_MODE",
        "TOLLWAY_JWT_ISSUERS",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "UsageQueue__queueServiceUri",
    ):
        assert f"name: '{name}'" in text, name
    assert "@Microsoft.KeyVault(SecretUri=" in text
    # No storage keys or connection strings anywhere: identity only.
    assert "listKeys(" not in text and "AccountKey=" not in text


def _block(text: str, start: str) -> str:
    """The Bicep block that opens with ``start`` (up to its closing brace at column 0)."""
    i = text.index(start)
    return text[i:text.index("\n}\n", i) + 3]


def test_the_export_settings_reach_management_and_the_worker_and_the_token_is_in_key_vault(
) -> None:
    text = (IAC / "main.bicep").read_text()
    settings = _block(text, "var exportSettings")
    for name in ("TOLLWAY_EXPORT_URL", "TOLLWAY_EXPORT_SOURCE", "TOLLWAY_EXPORT_TOKEN"):
        assert f"name: '{name}'" in settings, name
    # The token is a Key Vault reference to its own secret, never the parameter's value.
    assert ("'@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/"
            "${exportSecretName})'") in settings
    assert "exportToken" not in settings
    assert "@secure()\nparam exportToken string = ''" in text
    # Which apps get them: management (the export route) and the worker (the jobs timer).
    apps = {m: _block(text, f"module {m} ") for m in ("gateway", "management", "worker")}
    assert {m for m, body in apps.items() if "exportSettings" in body} == {
        "management", "worker"}
    # Key Vault access: the worker may read that one secret (management reads the vault).
    readers = [b for b in re.findall(r"resource \w+ 'Microsoft\.Authorization/roleAssignments"
                                     r"@[^']+' = [^\n]*\n(?:.*\n)*?\}\n", text)
               if "exportSecret" in b]
    assert len(readers) == 1
    (reader,) = readers
    assert "if (exportsWithToken)" in reader and "scope: exportSecretRef" in reader
    assert "worker.outputs.principalId" in reader and "roleKeyVaultSecretsUser" in reader
    assert "var exportsWithToken = exports && exportAuth" in text
    assert "var exports = !empty(exportUrl)" in text
