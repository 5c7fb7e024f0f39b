"""Helpers for `make deploy-azure` / `make destroy-azure` (mk/azure-deploy.mk). They call the
`az` CLI (logged in with `az login`); none of this runs in the tests.

    deploy.py requirements OUT PKG...      pin PKGs at the versions installed in this venv
    deploy.py recover-vault RG             recover this group's soft-deleted Key Vault, if any
    deploy.py secret-params RG OUT         parameters file (mode 0600) for the two secrets
    deploy.py output RG DEPLOYMENT NAME    print one deployment output
    deploy.py portal RG DEPLOYMENT DIR     portal_static/ + config.js (+ config.json) into DIR
    deploy.py outputs RG DEPLOYMENT        print every output

Secrets: TOLLWAY_ADMIN_TOKEN / TOLLWAY_SESSION_KEYS from the environment are written to Key
Vault (that is how you rotate). Without them, the first deployment generates both; later
deployments pass empty values, which main.bicep reads as "leave the secret alone".
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal_static"
# Key Vault secret names (as in main.bicep), not secrets.
ADMIN_SECRET = "tollway-admin-token"  # noqa: S105
SESSION_SECRET = "tollway-session-keys"  # noqa: S105


def az(*args: str) -> str:
    # The operator's own az CLI with fixed sub-commands; arguments are never run by a shell.
    cmd = ["az", *args, "--only-show-errors"]
    proc = subprocess.run(cmd, capture_output=True, text=True)  # noqa: S603
    if proc.returncode != 0:
        raise RuntimeError(f"az {' '.join(args[:3])} ...: {proc.stderr.strip()}")
    return proc.stdout.strip()


def requirements(out: str, *specs: str) -> None:
    """Pin each package (extras kept: ``pyjwt[crypto]``) at the version the tests ran with."""
    lines, missing = [], []
    for spec in specs:
        name = re.sub(r"\[.*\]$", "", spec)
        try:
            lines.append(f"{spec}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        sys.exit(
            f"not installed in {sys.prefix}: {', '.join(missing)} — add them to pyproject.toml "
            "and run `make install`, so the package pins what the tests ran with"
        )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")


def _secret_exists(rg: str, name: str) -> bool:
    """Control-plane check (needs no data-plane role on the vault)."""
    found = az("keyvault", "list", "-g", rg, "--query", "[].name", "-o", "json")
    vaults = json.loads(found or "[]")
    for vault in vaults:
        try:
            az(
                "resource",
                "show",
                "-g",
                rg,
                "--resource-type",
                "Microsoft.KeyVault/vaults/secrets",
                "-n",
                f"{vault}/{name}",
                "--query",
                "id",
                "-o",
                "tsv",
            )
            return True
        except RuntimeError:
            continue
    return False


def recover_vault(rg: str) -> None:
    """After destroy-azure the vault is soft-deleted and, with purge protection, its name is
    reserved for 90 days; main.bicep derives the same name for the same group, so recover it
    (with its secrets) instead of failing with "vault already exists in deleted state"."""
    found = az("keyvault", "list-deleted", "--resource-type", "vault", "-o", "json")
    deleted = json.loads(found or "[]")
    marker = f"/resourcegroups/{rg.lower()}/"
    for vault in deleted:
        vault_id = str((vault.get("properties") or {}).get("vaultId", "")).lower()
        if marker in vault_id:
            print(f"recovering soft-deleted Key Vault {vault['name']}")
            az("keyvault", "recover", "--name", vault["name"])


def secret_params(rg: str, out: str) -> None:
    admin = os.environ.get("TOLLWAY_ADMIN_TOKEN", "")
    session = os.environ.get("TOLLWAY_SESSION_KEYS", "")
    if not admin and not _secret_exists(rg, ADMIN_SECRET):
        admin = secrets.token_urlsafe(36)  # 48 characters
        print(f"generating {ADMIN_SECRET} (first deployment)")
    if not session and not _secret_exists(rg, SESSION_SECRET):
        session = secrets.token_urlsafe(48)  # 64 characters
        print(f"generating {SESSION_SECRET} (first deployment)")
    if admin and len(admin) < 24:
        sys.exit("TOLLWAY_ADMIN_TOKEN must be at least 24 characters")
    if session and any(len(k.strip()) < 32 for k in session.split(",")):
        sys.exit("TOLLWAY_SESSION_KEYS: each key must be at least 32 characters")
    doc = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"adminToken": {"value": admin}, "sessionKeys": {"value": session}},
    }
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh)


def outputs(rg: str, deployment: str) -> dict[str, str]:
    raw = az(
        "deployment",
        "group",
        "show",
        "-g",
        rg,
        "-n",
        deployment,
        "--query",
        "properties.outputs",
        "-o",
        "json",
    )
    return {k: str(v["value"]) for k, v in (json.loads(raw or "{}") or {}).items()}


def output(rg: str, deployment: str, name: str) -> None:
    print(outputs(rg, deployment)[name])


def portal(rg: str, deployment: str, target: str) -> None:
    out = outputs(rg, deployment)
    dest = Path(target)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(PORTAL, dest)
    config = {"managementUrl": out["managementUrl"], "gatewayUrl": out["gatewayUrl"]}
    (dest / "config.js").write_text(f"window.TOLLWAY = {json.dumps(config)};\n")
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    # Static Web Apps: HTML and config are never cached; the rest briefly.
    swa_config = {
        "globalHeaders": {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"},
        "routes": [
            {"route": "/config.js", "headers": {"Cache-Control": "no-cache"}},
            {"route": "/config.json", "headers": {"Cache-Control": "no-cache"}},
            {"route": "/*.html", "headers": {"Cache-Control": "no-cache"}},
        ],
    }
    (dest / "staticwebapp.config.json").write_text(json.dumps(swa_config, indent=2) + "\n")
    print(f"portal staged in {dest} (management API: {config['managementUrl']})")


def print_outputs(rg: str, deployment: str) -> None:
    for key, value in sorted(outputs(rg, deployment).items()):
        print(f"{key:20} {value}")


def main(argv: list[str]) -> None:
    commands = {
        "requirements": (requirements, None),
        "recover-vault": (recover_vault, 1),
        "secret-params": (secret_params, 2),
        "output": (output, 3),
        "portal": (portal, 3),
        "outputs": (print_outputs, 2),
    }
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    func, arity = commands[argv[0]]
    args = argv[1:]
    if arity is not None and len(args) != arity:
        sys.exit(__doc__)
    try:
        func(*args)
    except RuntimeError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main(sys.argv[1:])
