"""Print what pip installs beside the editable workspace members (installs without uv): the extras
the root pyproject asks of a member (b9-common[embedded,cli,s3]: pip takes the package itself
from the editable member) and the root's dev dependency group.

A member named without extras is left out: pip refuses a bare name that only an editable
install provides ("No matching distribution found for b9-readmodel")."""

import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
data = tomllib.loads((root / "pyproject.toml").read_text())
with_extras = [dep for dep in data["project"]["dependencies"] if "[" in dep]
print(" ".join([*with_extras, *data["dependency-groups"]["dev"]]))
