"""`b9 up` as a user runs it: everything ready within 60 s, Ctrl-C leaves nothing running,
and a second run reuses the data (same database, same streams)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
import asyncpg
import pytest

B9 = Path(sys.executable).parent / "b9"
SERVICES = {"persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "alerts", "gateway"}


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"NATS_URL", "DATABASE_URL", "GATEWAY_API_KEY", "GATEWAY_PORT", "B9_NAMESPACE"}}
    env["B9_DATA_DIR"] = str(data)
    return env


def _descendants(pid: int) -> set[int]:
    """Every live process whose ancestry leads to ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


def _processes_using(data: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(data) in cmd:
                found.append(f"{entry.name}: {cmd[:120]}")
    return found


async def _ready(url: str, timeout: float) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    async with aiohttp.ClientSession() as http:
        while asyncio.get_running_loop().time() < deadline:
            try:
                async with http.get(f"{url}/ready") as resp:
                    last = await resp.json()
                    if resp.status == 200:
                        return last  # type: ignore[return-value]
            except (aiohttp.ClientError, ValueError):
                pass
            await asyncio.sleep(0.5)
    raise AssertionError(f"/ready not green after {timeout}s: {last}")


async def _live_services(nats_url: str, want: set[str], timeout: float = 45) -> set[str]:
    """Services with a heartbeat in the ``heartbeats`` bucket (key ``<service>.<replica>``)."""
    import nats

    nc = await nats.connect(nats_url)
    kv = await nc.jetstream().key_value("heartbeats")
    seen: set[str] = set()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while asyncio.get_running_loop().time() < deadline and not want <= seen:
            try:
                seen = {k.split(".", 1)[0] for k in await kv.keys()}
            except Exception:
                seen = set()
            await asyncio.sleep(0.5)
    finally:
        await nc.close()
    return seen


async def _run_once(data: Path) -> tuple[dict, dict]:
    proc = await asyncio.create_subprocess_exec(str(B9), "up", env=_env(data), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        for _ in range(600):
            if (data / "stack.json").exists():
                break
            await asyncio.sleep(0.1)
        stack = json.loads((data / "stack.json").read_text())
        ready = await _ready(stack["gateway_url"], 60)
        admin = json.loads((data / "nats-auth.json").read_text())["admin"]
        live = await _live_services(stack["nats_url"].replace("nats://", f"nats://admin:{admin}@"), SERVICES)
        assert live >= SERVICES, f"services without a heartbeat: {SERVICES - live}"
        children = _descendants(proc.pid)
        assert children, "b9 up started no processes"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode()[-2000:]
    await asyncio.sleep(0.5)
    alive = [p for p in children if os.path.exists(f"/proc/{p}")]
    assert not alive, f"stray processes after Ctrl-C: {alive}"
    assert not _processes_using(data), _processes_using(data)
    return stack, ready


@pytest.mark.slow
async def test_b9_up_ready_clean_stop_and_reuse() -> None:
    # Not pytest's tmp_path: run as root, PostgreSQL runs as pgserver's user and must traverse the
    # path, and pytest resets its base directory to mode 0700 whenever another session starts.
    data = Path(tempfile.mkdtemp(prefix="b9-e2e-up-")) / "b9data"
    stack, ready = await _run_once(data)
    assert ready["status"] == "ready" and set(ready["checks"]) == {"nats", "postgres", "media"}, ready
    assert (data / "pg").exists() and (data / "nats").exists()
    # write a marker through the database the stack used, then start again
    from b9_common.embedded import EmbeddedPostgres

    pg = EmbeddedPostgres(data / "pg", cleanup="stop")
    url = await asyncio.to_thread(pg.start)
    conn = await asyncpg.connect(url)
    await conn.execute("INSERT INTO b9_meta (key, value) VALUES ('marker', 'kept') ON CONFLICT DO NOTHING")
    applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    await conn.close()
    await asyncio.to_thread(pg.stop)
    stack2, _ = await _run_once(data)
    # the remembered ports were free again (nothing of the first run left): the same ones
    assert (stack2["nats_port"], stack2["gateway_port"]) == (stack["nats_port"], stack["gateway_port"])
    pg = EmbeddedPostgres(data / "pg", cleanup="stop")
    url = await asyncio.to_thread(pg.start)
    conn = await asyncpg.connect(url)
    assert await conn.fetchval("SELECT value FROM b9_meta WHERE key = 'marker'") == "kept"
    assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == applied
    await conn.close()
    await asyncio.to_thread(pg.stop)
    shutil.rmtree(data.parent, ignore_errors=True)
