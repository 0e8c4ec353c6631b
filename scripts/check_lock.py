"""Check (or, with --write, refresh) the locked dependency versions.

`uv.lock` is uv's lock of the whole workspace; `constraints.txt` is the same pins exported for pip
(the Makefile's install path when uv is not on PATH), so both install paths get the same versions.
`make test` runs this first: it fails, naming the fix, when a pyproject changed and the lock was
not refreshed, or when constraints.txt no longer matches uv.lock. `make lock` refreshes both.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
HEADER = "# Exported from uv.lock by `make lock` (scripts/check_lock.py): pip's pins for `make install`.\n"
EXPORT = [
    "export", "--frozen", "--format", "requirements.txt", "--all-packages", "--group", "dev",
    "--no-hashes", "--no-emit-workspace", "--no-header", "--quiet",
]


def uv_binary() -> str:
    local = ROOT / ".venv" / "bin" / "uv"
    if local.exists():
        return str(local)
    found = shutil.which("uv")
    if found is None:
        sys.exit("check_lock: uv not found (it is in the dev tools: run `make install`)")
    return found


def run(uv: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([uv, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def main() -> int:
    write = "--write" in sys.argv[1:]
    uv = uv_binary()
    lock = run(uv, "lock") if write else run(uv, "lock", "--check")
    if lock.returncode != 0:
        detail = (lock.stderr or lock.stdout).strip().splitlines()
        print(f"uv.lock is stale ({detail[-1] if detail else 'uv lock --check failed'}): run `make lock`")
        return 1
    exported = run(uv, *EXPORT)
    if exported.returncode != 0:
        print(f"uv export failed: {exported.stderr.strip()}")
        return 1
    wanted = HEADER + exported.stdout
    if write:
        CONSTRAINTS.write_text(wanted)
        print("uv.lock and constraints.txt refreshed")
        return 0
    if not CONSTRAINTS.exists() or CONSTRAINTS.read_text() != wanted:
        print("constraints.txt does not match uv.lock: run `make lock`")
        return 1
    print("locks: uv.lock and constraints.txt are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
