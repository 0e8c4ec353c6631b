"""Print what pip installs beside the editable workspace members (installs without uv): the root
pyproject's dependencies, which add the extras the root asks for (b9-common[embedded,cli,s3]: pip
takes the package itself from the editable member), and its dev dependency group."""

import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
data = tomllib.loads((root / "pyproject.toml").read_text())
print(" ".join([*data["project"]["dependencies"], *data["dependency-groups"]["dev"]]))
