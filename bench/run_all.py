"""Run every benchmark under bench/ and print one table (`make bench`).

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--timeout S] [--out PATH]

Each ``bench/bench_*.py`` runs as its own subprocess with ``--json`` (and ``--quick`` when
given), one after the other (the machine is small: running them side by side would measure
the contention). Rows are collected into one markdown table with a pass/fail column where
the target can be read (``>= 20,000``, ``<= 400``, ``>= 0.7x raw``, ``0``), and written with the
machine facts to ``bench/results/<date>-<host>.json``. A benchmark that exits non-zero,
times out or writes no JSON is reported as such, with the tail of its output.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import RESULTS, machine  # noqa: E402

# Benchmarks that need more than the default timeout at full size (seconds): bench_rebuild runs
# seed --scale full through persistence, then b9 rebuild over it (9 min seen on a busy machine).
LONG = {"rebuild": 1800.0}
# Run only when named with --only: bench_scale (1x/3x/10x: hours on first load),
# bench_freshness (5 minutes of 5,000 events/s on a 3x database) and bench_cluster (three 3x
# seeds) are one command each.
ON_REQUEST = {"scale", "freshness", "cluster"}
CLAUSE = re.compile(r"^\s*(>=|<=|≥|≤|>|<|=|==)?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(x)?\b", re.I)
OPS = {"≥": ">=", "≤": "<=", "==": "="}


def check_clause(text: str, value: float, ratio: float | None) -> bool | None:
    """True/False when ``text`` reads as a comparison, None when it cannot be read."""
    m = CLAUSE.match(text)
    if not m:
        return None
    if m.group(1) is None:
        return None  # a bare number: "at least", "at most" or "exactly" cannot be told apart
    op = OPS.get(m.group(1), m.group(1))
    bound = float(m.group(2).replace(",", ""))
    if m.group(3):
        if ratio is None:
            return None
        value = ratio
    if op == ">=":
        return value >= bound
    if op == "<=":
        return value <= bound
    if op == ">":
        return value > bound
    if op == "<":
        return value < bound
    return abs(value - bound) <= 0.05 * abs(bound) if bound else value == 0


def verdict(target: str, value: float, ratio: float | None) -> str:
    """"pass", "FAIL" or "" (no target, or one that is not a comparison, e.g. "peer")."""
    if not target:
        return ""
    clauses = re.split(r",\s+|\s+and\s+", target)  # "20,000" stays one number
    results = [check_clause(c, value, ratio) for c in clauses if c.strip()]
    read = [r for r in results if r is not None]
    if not read:
        return ""
    return "pass" if all(read) else "FAIL"


def run_one(script: Path, quick: bool, timeout: float) -> dict[str, Any]:
    """Run one benchmark; returns its JSON document plus ``status``/``seconds``/``tail``."""
    with tempfile.TemporaryDirectory(prefix="b9-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if quick else [])
        t0 = time.monotonic()
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                                  cwd=HERE.parent)
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            status = f"timeout after {timeout:.0f}s"
            output = _text(exc.stdout) + _text(exc.stderr)
        seconds = time.monotonic() - t0
        doc: dict[str, Any] = {"name": script.stem.removeprefix("bench_"), "rows": []}
        if out.exists():
            try:
                doc = json.loads(out.read_text())
            except json.JSONDecodeError:
                status = f"{status}, unreadable JSON"
        elif status == "ok":
            status = "ok but wrote no JSON"
    doc.update(script=script.name, status=status, seconds=round(seconds, 1),
               tail=output.strip().splitlines()[-15:] if status != "ok" else [])
    return doc


def _text(b: bytes | str | None) -> str:
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode(errors="replace")


def fmt(v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, float | int):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}"
    return str(v)


def table(docs: list[dict[str, Any]]) -> str:
    lines = ["| benchmark | metric | value | unit | target | baseline | ratio | vs target |",
             "|---|---|---|---|---|---|---|---|"]
    for doc in docs:
        name = doc.get("name", doc["script"])
        if doc["status"] != "ok":
            lines.append(f"| {name} | **{doc['status']}** ({doc['seconds']} s) | | | | | | FAIL |")
        for r in doc.get("rows", []):
            ratio = r.get("ratio")
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
                name, r["metric"], fmt(r["value"]), r.get("unit", ""), r.get("target", ""),
                fmt(r.get("baseline")), f"{ratio:.2f}x" if ratio is not None else "",
                verdict(str(r.get("target") or ""), float(r["value"]), ratio)))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    ap.add_argument("--only", nargs="*", default=None, help="names, e.g. runtime memory")
    ap.add_argument("--timeout", type=float, default=None, help="per benchmark (default 900 s, quick 420 s)")
    ap.add_argument("--out", default=None, help="result file (default bench/results/<date>-<host>.json)")
    args = ap.parse_args()
    timeout = args.timeout or (420.0 if args.quick else 900.0)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    else:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") not in ON_REQUEST]
    facts = machine()
    docs = []
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        long = LONG.get(script.stem.removeprefix("bench_"), 0.0) if not (args.quick or args.timeout) else 0.0
        doc = run_one(script, args.quick, max(timeout, long))
        print(f"  {doc['status']} in {doc['seconds']} s", file=sys.stderr, flush=True)
        for line in doc["tail"]:
            print(f"    {line}", file=sys.stderr)
        docs.append(doc)
    print(f"\n# b9 benchmarks ({'quick' if args.quick else 'full'}) on {facts['host']}: "
          f"{facts['cores']} cores, {facts['memory_gb']} GB, {facts['at']}\n")
    print(table(docs))
    failed = [d["script"] for d in docs if d["status"] != "ok"]
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}")
    RESULTS.mkdir(exist_ok=True)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    path = Path(args.out) if args.out else RESULTS / f"{day}-{facts['host']}.json"
    path.write_text(json.dumps({"machine": facts, "quick": args.quick, "benchmarks": docs}, indent=2))
    print(f"\nwritten: {path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
