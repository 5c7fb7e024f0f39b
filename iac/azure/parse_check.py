"""Parse gate for the Bicep files, run before checkov (which skips what it cannot parse).

    python iac/azure/parse_check.py [PATH ...]     (default: the directory of this script)

Uses pycep, the parser checkov itself uses (run it with .venv-checkov/bin/python). Every
`.bicep` file under the given paths must parse; a failure prints the file and the parser's
error and exits 1. It also exits 1 when no `.bicep` file is found or when, all files
together, no resource was parsed: checkov would then have nothing to check and pass.
No Bicep compiler is involved, so undefined symbols and property typos are not caught here.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from pycep import BicepParser
except ImportError:  # pragma: no cover - depends on the interpreter used
    sys.exit("parse_check: pycep is not importable; run with .venv-checkov/bin/python")


def bicep_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.rglob("*.bicep")))
        elif path.suffix == ".bicep":
            found.append(path)
        else:
            print(f"parse_check: {path}: not a .bicep file or directory", file=sys.stderr)
            sys.exit(1)
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [Path(__file__).resolve().parent]
    files = bicep_files(paths)
    if not files:
        print(f"parse_check: no .bicep file under {', '.join(map(str, paths))}", file=sys.stderr)
        return 1
    parser = BicepParser()
    failed = 0
    total_resources = 0
    for path in files:
        try:
            doc = parser.parse(file_path=path)
        except Exception as exc:  # lark's errors and pycep's ValueError alike
            failed += 1
            first = str(exc).strip().splitlines()
            print(f"PARSE ERROR {path}: {type(exc).__name__}: {' | '.join(first[:6])}")
            continue
        resources = len(doc.get("resources") or {})
        modules = len(doc.get("modules") or {})
        total_resources += resources
        print(f"parsed {path}: {resources} resources, {modules} modules")
    if failed:
        print(f"parse_check: {failed} of {len(files)} Bicep files failed to parse", file=sys.stderr)
        return 1
    if total_resources == 0:
        print("parse_check: 0 resources parsed: checkov would check nothing", file=sys.stderr)
        return 1
    print(f"parse_check: {len(files)} files, {total_resources} resources parsed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
