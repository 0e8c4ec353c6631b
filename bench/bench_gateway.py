"""Gateway: list endpoints (50 items, typical filter + sort) under wrk, 2 workers, against a
bare msgspec + asyncpg ASGI endpoint running the same SQL, pool settings, totals cache and
Struct encoding in the same run (the ratio is the framework's cost).

    .venv/bin/python bench/bench_gateway.py [--quick] [--json PATH] [--duration S] [--rounds N]
        [--shared-socket]

Data: ``b9_persistence.seed`` at full scale (34,682 subreddits, 1.83 M posts, 1,247 creators;
``--quick``: small scale) published through JetStream and stored by the persistence service
running in-process, into database ``b9bench_<scale>`` (kept and reused by later runs; a full
seed takes ~4 min). Then 30 % of subreddits and half the creators get a review, as people
would have done. Workers: one uvicorn per process on its own SO_REUSEPORT socket (or
``uvicorn --workers 2`` with ``--shared-socket``). Load: ``wrk -t2 -c64`` (Debian package),
``--rounds`` alternating bare/gateway runs per endpoint, medians reported. The machine is
shared with other workers: numbers are noisy lower bounds; read the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Row, print_table, write_json  # noqa: E402

KEY = "bench-key-0123456789abcdef"
QUERIES = {
    "subreddits": "/api/v1/subreddits?review=unreviewed&sort=avg_upvotes&per_page=50",
    "creators": "/api/v1/creators?sort=followers&min_followers=1000&per_page=50",
    "posts": "/api/v1/posts?content_type=image&sort=score&per_page=50",
}


# -- the bare endpoint: raw ASGI + asyncpg + msgspec, the same SQL as the gateway -----------
def bare_app() -> Any:
    from b9_gateway.deps import build_pool
    from b9_gateway.http import page_bytes
    from b9_gateway.routes import creators, posts, subreddits
    from b9_gateway.settings import Settings
    from b9_gateway.sql import Where, paged

    state: dict[str, Any] = {}

    def q_subreddits() -> tuple[Any, str, str, Where, str]:
        w = Where()
        w.add("review IS NULL")
        order = subreddits.order_by("avg_upvotes", "desc")
        return subreddits.SubredditItem, subreddits.LIST_COLS, "subreddits", w, order

    def q_creators() -> tuple[Any, str, str, Where, str]:
        w = Where()
        w.add("coalesce(followers_count, discovered_followers_count) >= {}", 1000)
        order = "followers_count DESC NULLS LAST, ig_user_id"
        return creators.CreatorItem, creators.LIST_COLS, "instagram_creators", w, order

    def q_posts() -> tuple[Any, str, str, Where, str]:
        w = Where()
        w.add("content_type = {}", "image")
        return posts.PostItem, posts.POST_COLS, "reddit_posts", w, posts.LIST_SORTS["score"]

    routes = {"/api/v1/subreddits": q_subreddits, "/api/v1/creators": q_creators, "/api/v1/posts": q_posts}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    # the gateway's own pool settings (size, codecs, no reset query on release)
                    settings = Settings(
                        database_url=os.environ["DATABASE_URL"],
                        gateway_api_key=KEY,
                        gateway_pool_size=int(os.environ.get("GATEWAY_POOL_SIZE", "10")),
                    )
                    state["pool"] = await build_pool(settings)
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await state["pool"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        struct, select, from_, w, order = routes[scope["path"]]()
        items, total = await paged(state["pool"], select, from_, w, order, 1, 50)
        body = page_bytes(struct, items, total, 1, 50)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


# -- data -----------------------------------------------------------------------------------
async def prepare(scale: str, work: Path) -> tuple[str, str, list[Any]]:
    import asyncpg
    from b9_common.db import migrate
    from b9_common.embedded import EmbeddedPostgres, ensure_nats
    from b9_common.service import connect, serve
    from b9_persistence.main import SERVICE as PERSISTENCE
    from b9_persistence.seed import seed
    from b9_persistence.settings import Settings as PSettings

    keep: list[Any] = []
    nats_url, nats_server = await ensure_nats(os.environ.get("NATS_URL") or "nats://127.0.0.1:4222", work / "nats")
    keep.append(nats_server)
    admin_url = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        admin = await asyncpg.connect(admin_url, timeout=3)
    except Exception:
        pg = EmbeddedPostgres(ROOT / ".b9" / "bench-pg", cleanup="stop")
        admin_url = await asyncio.to_thread(pg.start)
        keep.append(pg)
        admin = await asyncpg.connect(admin_url)
    db = f"b9bench_{scale}"
    base, _, query = admin_url.partition("?")
    url = f"{base.rpartition('/')[0]}/{db}" + (f"?{query}" if query else "")
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", db):
        await admin.execute(f'CREATE DATABASE "{db}"')
    await admin.close()
    conn = await asyncpg.connect(url)
    await migrate(conn)
    seeded = await conn.fetchval("SELECT value FROM b9_meta WHERE key = 'bench_gateway_seeded'")
    if seeded != scale:
        ns = f"bench{uuid.uuid4().hex[:6]}"
        ps = PSettings(nats_url=nats_url, b9_namespace=ns, metrics_port=-1, database_url=url)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(PERSISTENCE, ps, stop=stop, grace=30))
        rt = await connect(ps, "bench", "0")
        t0 = time.perf_counter()
        await seed(rt.publisher, scale, progress=lambda ph, n, tot: None)
        print(f"seeded {scale} in {time.perf_counter() - t0:.0f} s, waiting for persistence", flush=True)
        while True:
            pending = 0
            for stream in ("SCRAPE", "DERIVED"):
                try:
                    ci = await rt.js.consumer_info(rt.topology.stream(stream), "persistence")
                    pending += ci.num_pending + ci.num_ack_pending
                except Exception:
                    pending += 1
            if pending == 0:
                break
            await asyncio.sleep(1)
        print(f"loaded in {time.perf_counter() - t0:.0f} s", flush=True)
        stop.set()
        await task
        for s in ("SCRAPE", "DERIVED", "COMMANDS", "DLQ"):
            await rt.js.delete_stream(rt.topology.stream(s))
        await rt.close()
        await conn.execute(
            "UPDATE subreddits SET review = 'Ok', review_source = 'manual' WHERE name IN "
            "(SELECT name FROM subreddits ORDER BY md5(name) LIMIT (SELECT count(*) * 3 / 10 FROM subreddits))"
        )
        await conn.execute("UPDATE instagram_creators SET review_status = 'ok' WHERE md5(ig_user_id) < '8'")
        await conn.execute("ANALYZE")
        await conn.execute(
            "INSERT INTO b9_meta (key, value) VALUES ('bench_gateway_seeded', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            scale,
        )
    counts = {
        t: await conn.fetchval(f"SELECT count(*) FROM {t}")
        for t in ("subreddits", "reddit_posts", "reddit_users", "instagram_creators")
    }
    print(f"data: {counts}", flush=True)
    await conn.close()
    return nats_url, url, keep


# -- servers and load -----------------------------------------------------------------------
WORKERS = 2


def start_server(target: str, port: int, env: dict[str, str], reuse_port: bool) -> list[subprocess.Popen[bytes]]:
    """``WORKERS`` processes serving ``target`` (an app factory) on ``port``: either
    ``uvicorn --workers`` (one socket shared by the workers: the first to wake accepts, so
    64 connections often split 20/44) or, with ``reuse_port``, one uvicorn per process on
    its own SO_REUSEPORT socket (the kernel spreads connections evenly)."""
    full_env = {**os.environ, **env}
    if reuse_port:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", target, "--port", str(port)]
        return [subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL) for _ in range(WORKERS)]
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--workers",
        str(WORKERS),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--app-dir",
        str(ROOT / "bench"),
    ]
    return [subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL)]


def serve_one(target: str, port: int) -> None:
    """One worker process: uvicorn on a SO_REUSEPORT socket of its own."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    config = uvicorn.Config(target, factory=True, access_log=False, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


async def wait_up(url: str) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as s:
        for _ in range(300):
            try:
                async with s.get(url, headers={"Authorization": f"Bearer {KEY}"}) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v


def wrk(url: str, duration: int) -> tuple[float, float, int]:
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{duration}s", "--latency", "-H", f"Authorization: Bearer {KEY}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(errors.group(1)) if errors else 0


async def run(scale: str, duration: int, rounds: int, reuse_port: bool) -> list[Row]:
    from b9_common.metrics import free_port

    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="b9-bench-gw-"))
    nats_url, db_url, keep = await prepare(scale, work)
    gw_port, bare_port = free_port(), free_port()
    env = {
        "NATS_URL": nats_url,
        "DATABASE_URL": db_url,
        "GATEWAY_API_KEY": KEY,
        "GATEWAY_RATE_LIMIT": "0",
        "B9_NAMESPACE": f"bgw{uuid.uuid4().hex[:6]}",
        "METRICS_PORT": "-1",
        "GATEWAY_POOL_SIZE": "10",
        "MEDIA_STORE_URL": f"file://{work / 'media'}",
        "LOG_LEVEL": "WARNING",
    }
    procs = [
        *start_server("b9_gateway.asgi:create", gw_port, env, reuse_port),
        *start_server("bench_gateway:bare_app", bare_port, env, reuse_port),
    ]
    rows: list[Row] = []
    try:
        await wait_up(f"http://127.0.0.1:{gw_port}{QUERIES['subreddits']}")
        await wait_up(f"http://127.0.0.1:{bare_port}/api/v1/subreddits")
        for name, path in QUERIES.items():
            bare_url = f"http://127.0.0.1:{bare_port}{path.split('?')[0]}"
            gw_url = f"http://127.0.0.1:{gw_port}{path}"
            wrk(gw_url, 1), wrk(bare_url, 1)  # warm up both
            bare, gw = [], []
            for _ in range(rounds):  # alternate, so both see the same background load
                bare.append(wrk(bare_url, duration))
                gw.append(wrk(gw_url, duration))
            b_rps, b_p99 = median(r[0] for r in bare), median(r[1] for r in bare)
            g_rps, g_p99 = median(r[0] for r in gw), median(r[1] for r in gw)
            g_err = sum(r[2] for r in gw)
            note = f"{g_err} non-2xx" if g_err else ""
            print(f"{name}: gateway {[round(r[0]) for r in gw]} req/s, bare {[round(r[0]) for r in bare]}", flush=True)
            rows.append(
                Row(
                    f"{name} list req/s",
                    round(g_rps),
                    "req/s",
                    ">= 2000, >= 0.8x bare",
                    round(b_rps),
                    round(g_rps / b_rps, 2) if b_rps else None,
                    note,
                )
            )
            rows.append(
                Row(
                    f"{name} list p99",
                    round(g_p99, 1),
                    "ms",
                    "< 60",
                    round(b_p99, 1),
                    round(g_p99 / b_p99, 2) if b_p99 else None,
                )
            )
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for k in keep:
            if k is not None:
                k.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small scale, short runs")
    ap.add_argument("--json", default=None)
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating bare/gateway runs per endpoint (median)")
    ap.add_argument(
        "--shared-socket",
        action="store_true",
        help="uvicorn --workers (one shared socket) instead of one SO_REUSEPORT socket per worker",
    )
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve_one(args.serve, args.port)
        return
    scale = "small" if args.quick else "full"
    duration = args.duration or (3 if args.quick else 5)
    reuse_port = not args.shared_socket
    rows = asyncio.run(run(scale, duration, args.rounds, reuse_port))
    how = "SO_REUSEPORT" if reuse_port else "uvicorn --workers"
    print_table(f"gateway ({scale} scale, wrk -t2 -c64, {WORKERS} workers each ({how}); shared machine, noisy)", rows)
    meta = {"scale": scale, "duration_s": duration, "rounds": args.rounds, "workers": how}
    write_json(args.json, "gateway", rows, meta)


if __name__ == "__main__":
    main()
