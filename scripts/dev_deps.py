"""Print the root pyproject's dev dependency group, one per line (for pip installs without uv)."""

import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
data = tomllib.loads((root / "pyproject.toml").read_text())
print(" ".join(data["dependency-groups"]["dev"]))
