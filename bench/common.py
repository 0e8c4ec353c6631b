"""Shared bench plumbing: machine facts, result rows, table printing, JSON output."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Row:
    metric: str
    value: float
    unit: str
    target: str = ""
    baseline: float | None = None
    ratio: float | None = None
    note: str = ""


def machine() -> dict[str, Any]:
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions: dict[str, str] = {"python": platform.python_version()}
    for mod in ("nats", "msgspec", "asyncpg", "faststream", "fastapi", "pyvips"):
        try:
            m = __import__(mod)
            versions[mod] = str(getattr(m, "__version__", "?"))
        except Exception:
            pass
    try:
        from b9_common.embedded import nats_server_binary

        versions["nats-server"] = subprocess.run([nats_server_binary(), "--version"], capture_output=True,
                                                 text=True, check=False).stdout.strip()
    except Exception:
        pass
    return {"host": socket.gethostname(), "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1048576, 1),
            "platform": platform.platform(), "versions": versions,
            "at": datetime.now(UTC).isoformat(timespec="seconds")}


def print_table(name: str, rows: list[Row]) -> None:
    out = sys.stdout
    out.write(f"\n## {name}\n\n| metric | value | unit | target | baseline | ratio |\n|---|---|---|---|---|---|\n")
    for r in rows:
        base = f"{r.baseline:,.0f}" if r.baseline is not None else ""
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        out.write(f"| {r.metric} | {r.value:,.1f} | {r.unit} | {r.target} | {base} | {ratio} |\n")
    out.flush()


def write_json(path: str | None, name: str, rows: list[Row], extra: dict[str, Any] | None = None) -> None:
    if not path:
        return
    doc = {"name": name, "machine": machine(), "rows": [asdict(r) for r in rows], **(extra or {})}
    Path(path).write_text(json.dumps(doc, indent=2))
