"""libs/common's layering, read from its source (libs/common/README.md, "Layers"): it imports no
service package in any form (no import, no module path in a string, no import_module), its
imports run down the layers only, no two modules import each other in a circle, and no module
is over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import b9_common

ROOT = Path(b9_common.__file__).parent
# bottom (0) to top: a module may import its own package and anything on a lower layer.
LAYERS = {"errors": 0, "settings": 0, "extras": 0, "db": 0, "net": 0, "storage": 1, "events": 1, "ops": 2,
          "jetstream": 3, "embedded": 3, "alerting": 3, "accounts": 4, "scraping": 4, "service": 5,
          "testing": 6, "replay": 6, "cli": 7}
# (b9_readmodel is a library beside this one, not a service: the replay log uses its queries)
SERVICES = ("b9_gateway", "b9_persistence", "b9_categorizer", "b9_media", "b9_alerts", "b9_reddit_scraper",
            "b9_instagram_scraper")


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(path.read_text(), str(path))
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(tree: ast.Module) -> list[str]:
    """Every b9_common module a module imports (at the top, in a function or for type checking)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [f"{node.module}.{a.name}" for a in node.names]
    return [r for r in (_resolve(n) for n in found if n.startswith("b9_common.")) if r]


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    assert part in LAYERS or not part, f"{module}: a new package; give it a layer here and in the README"
    return LAYERS.get(part, 0)


def test_no_service_package_in_any_form() -> None:
    named = []
    for module, tree in MODULES.items():
        prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings may name them
        for node in ast.walk(tree):
            if id(node) in prose:
                continue
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                named += [(module, n) for n in names if n.startswith(SERVICES)]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                named += [(module, node.value) for s in SERVICES if f"{s}." in node.value or node.value == s]
            elif isinstance(node, ast.Name | ast.Attribute) and getattr(node, "id", getattr(node, "attr", "")) in (
                    "import_module", "__import__"):
                named.append((module, "import_module"))
    assert named == []


def test_imports_run_down_the_layers() -> None:
    upward = [(m, t) for m, tree in MODULES.items() for t in _imports(tree)
              if t != m and _layer(t) > _layer(m)]
    assert upward == []


def test_no_import_circle() -> None:
    graph = {m: {t for t in _imports(tree) if t != m} for m, tree in MODULES.items()}
    circles, state = [], dict.fromkeys(graph, 0)

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state[t] == 1:
                circles.append([*path[path.index(t):], t])
            elif state[t] == 0:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if state[m] == 0:
            visit(m, [m])
    assert circles == []


def test_no_module_over_400_lines() -> None:
    long = {p.name: n for p in ROOT.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}
