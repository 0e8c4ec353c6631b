"""A stack over `b9 seed --scale small` for the browser acceptance tests: a fresh database,
the real persistence and media services and the gateway in-process, and the seed run end to
end (``b9_persistence.seed_run.run``: its loopback media origin, ``media.requested`` commands
answered by the media service). Also axe-core, installed from npm into a gitignored cache."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from b9_common.ops.metrics import free_port
from b9_common.service import Runtime, connect, serve
from b9_common.settings import CommonSettings
from b9_gateway.app import create_app
from b9_gateway.settings import Settings
from b9_media.main import SERVICE as MEDIA
from b9_media.settings import Settings as MSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from b9_persistence.seed import SCALES, this_hour
from b9_persistence.seed_run import run as run_seed
from b9_persistence.settings import Settings as PSettings
from dashkit import API_KEY, REPO

AXE_VERSION = "4.10.2"
AXE_DIR = REPO / "test-artifacts" / "npm"  # gitignored
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"


async def axe_source() -> str:
    """axe-core's browser bundle, installed with npm on first use."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install axe-core for the accessibility check")
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR), f"axe-core@{AXE_VERSION}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
        if proc.returncode != 0 or not AXE_JS.exists():
            raise RuntimeError(f"npm install axe-core failed: {out.decode(errors='replace')[-500:]}")
    return AXE_JS.read_text()


@dataclass
class Seeded:
    url: str
    rt: Runtime
    pool: asyncpg.Pool
    counts: dict[str, int]


async def _wait(pool: asyncpg.Pool, within: float) -> None:
    """Until persistence holds the whole seed, its decisions and the media answers."""
    n = SCALES["small"]
    want = {"reddit_posts": n["posts"], "instagram_media": 24 * n["creators"], "subreddits": n["subreddits"],
            "reddit_users": n["users"], "creator_follower_history": 4 * n["creators"], "models": 2}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in want}
        reviewed = await pool.fetchval("SELECT count(*) FROM instagram_creators WHERE review_status IS NOT NULL")
        linked = await pool.fetchval("SELECT count(*) FROM reddit_users WHERE model_id IS NOT NULL")
        reqs = await pool.fetchval("SELECT count(*) FROM subreddits WHERE best_posting_hour IS NOT NULL")
        if all(got[t] >= v for t, v in want.items()) and reviewed > 0 and linked == 6 and reqs > 0:
            return
        if loop.time() > deadline:
            raise AssertionError(f"the seed did not land: {got}, reviewed {reviewed}, linked {linked}, reqs {reqs}")
        await asyncio.sleep(0.25)


@contextlib.asynccontextmanager
async def seeded_stack(nats_url: str, pg_admin_url: str, template_db: str, tmp: Path) -> AsyncIterator[Seeded]:
    ns = f"t{uuid.uuid4().hex[:10]}"
    db = f"b9t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_url)
    await admin.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template_db}"')
    base, _, query = pg_admin_url.partition("?")
    dsn = base.rpartition("/")[0] + f"/{db}" + (f"?{query}" if query else "")
    media_root = tmp / "media"
    media_root.mkdir()
    seed_port = free_port()
    stop = asyncio.Event()
    common: dict[str, Any] = {"nats_url": nats_url, "b9_namespace": ns, "metrics_port": -1}
    tasks = [
        asyncio.create_task(serve(PERSISTENCE, PSettings(**common, database_url=dsn), stop=stop, grace=5)),
        # the seed's origin is on loopback over http: this one origin is allowed, as `b9 up` does
        asyncio.create_task(serve(MEDIA, MSettings(**common, media_store_url=media_root.as_uri(),
                                                   media_allowed_origins=f"http://127.0.0.1:{seed_port}"),
                                  stop=stop, grace=5)),
    ]
    rt = await connect(CommonSettings(**common), "seed", "0")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    assert pool is not None
    settings = Settings(**common, database_url=dsn, gateway_api_key=API_KEY, media_store_url=media_root.as_uri(),
                        gateway_rate_limit=0, gateway_overview_ttl=0.5)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning"))
    gateway = asyncio.create_task(server.serve())
    try:
        await _consumers(rt, ("persistence", "media", "media-requests"), tasks)
        counts = await run_seed(rt, "small", media=True, media_wait=float(os.environ.get("B9_SEED_MEDIA_WAIT", 120)),
                                now=this_hour(), media_port=seed_port)
        await _wait(pool, 120)
        while not server.started:
            if gateway.done():
                gateway.result()
            await asyncio.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Seeded(f"http://127.0.0.1:{port}", rt, pool, counts)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gateway, 10)
        stop.set()
        await asyncio.gather(*(asyncio.wait_for(t, 30) for t in tasks), return_exceptions=True)
        await pool.close()
        await rt.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def _consumers(rt: Runtime, names: tuple[str, ...], tasks: list[asyncio.Task[Any]]) -> None:
    """Until the services' durable consumers exist (streams provisioned, reading)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    missing = set(names)
    while missing:
        for t in tasks:
            if t.done():
                t.result()
        for stream in ("SCRAPE", "COMMANDS", "DECISIONS", "DERIVED"):
            for name in list(missing):
                with contextlib.suppress(Exception):
                    await rt.js.consumer_info(rt.topology.stream(stream), name)
                    missing.discard(name)
        if loop.time() > deadline:
            raise AssertionError(f"consumers never appeared: {missing}")
        await asyncio.sleep(0.1)
