"""Shared bench plumbing: machine facts, result rows, table printing, JSON output, and a
scratch NATS + PostgreSQL database for one run."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
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


@dataclass
class Scratch:
    nats_url: str
    admin: Any  # asyncpg.Connection to the server's admin database
    url: str  # the run's own database, every migration applied
    tmp: Path


@contextlib.asynccontextmanager
async def scratch_stack(prefix: str) -> AsyncIterator[Scratch]:
    """NATS (``NATS_URL`` or the local server when >= 2.10, else an embedded one) and a fresh
    database with every migration (``DATABASE_URL`` or the local server, else an embedded
    pgserver); the database and embedded servers are removed afterwards."""
    import asyncpg
    from b9_common.db import migrate
    from b9_common.embedded import EmbeddedPostgres, ensure_nats

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    nats_url, nats_server = await ensure_nats(os.environ.get("NATS_URL") or "nats://127.0.0.1:4222",
                                              tmp / "nats")
    admin_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    pg = None
    try:
        admin = await asyncpg.connect(admin_url, timeout=3)
    except Exception:
        pg = EmbeddedPostgres(tmp / "pg", cleanup="delete")
        admin_url = await asyncio.to_thread(pg.start)
        admin = await asyncpg.connect(admin_url)
    db = f"b9bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{db}"')
    base, _, query = admin_url.partition("?")  # keep ?host=... of an embedded server
    url = base.rsplit("/", 1)[0] + f"/{db}" + (f"?{query}" if query else "")
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield Scratch(nats_url, admin, url, tmp)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()
        if pg is not None:
            await asyncio.to_thread(pg.stop)
        if nats_server is not None:
            nats_server.stop()
