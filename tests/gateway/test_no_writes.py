"""The gateway publishes decisions; it never writes the read model (DESIGN: only persistence does)."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import b9_gateway

WRITES = re.compile(
    r"\b(INSERT\s+INTO|UPDATE\s+[\w.\"]+\s+(?:\w+\s+)?SET|DELETE\s+FROM\s+(?!the\b)|TRUNCATE|COPY\s+[\w.\"]+\s+FROM|"
    r"MERGE\s+INTO|(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX))\b",
    re.IGNORECASE,
)


def test_the_pattern_finds_writes() -> None:
    for sql in ("INSERT INTO models (name) VALUES ($1)", "update subreddits s set review = $2",
                "DELETE FROM models WHERE id = 1", "f\"UPDATE reddit_users SET {assigns}\""):
        assert WRITES.search(sql), sql
    assert not WRITES.search("KV_DELETES = ('DEL', 'PURGE')")
    assert not WRITES.search("Republish to the original subject, then delete from the DLQ")


def _writes(paths: list[Path], root: Path) -> list[str]:
    found = []
    for path in paths:
        for no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if WRITES.search(line):
                found.append(f"{path.relative_to(root)}:{no}: {line.strip()}")
    return found


def test_gateway_source_has_no_sql_writes() -> None:
    root = Path(b9_gateway.__file__).parent
    paths = [p for p in sorted(root.rglob("*")) if p.suffix in {".py", ".sql", ".js", ".html"}]
    found = _writes(paths, root)
    assert found == [], "the gateway writes the read model:\n" + "\n".join(found)


def _module_file(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:  # a name imported from a module, not a module
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def readmodel_modules_of_the_gateway() -> list[Path]:
    """The files of every ``b9_readmodel`` module the gateway imports (its queries live there)."""
    files: set[Path] = set()
    for path in Path(b9_gateway.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("b9_readmodel"):
                module = node.module or ""
                for alias in node.names:
                    found = _module_file(f"{module}.{alias.name}") or _module_file(module)
                    assert found is not None, module
                    files.add(found)
            elif isinstance(node, ast.Import):
                files.update(f for a in node.names if a.name.startswith("b9_readmodel") and (f := _module_file(a.name)))
    return sorted(files)


def test_the_read_model_queries_the_gateway_runs_write_nothing() -> None:
    paths = readmodel_modules_of_the_gateway()
    names = {p.stem for p in paths}
    assert {"subreddits", "posts", "creators", "sql"} <= names, names  # the scan finds the gateway's imports
    found = _writes(paths, paths[0].parents[1])
    assert found == [], "a query the gateway runs writes the read model:\n" + "\n".join(found)
