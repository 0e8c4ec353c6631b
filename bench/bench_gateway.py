"""Gateway: list endpoints (50 items, typical filter + sort) under wrk, 2 workers, against a
bare msgspec + asyncpg ASGI endpoint running the same SQL, pool settings, totals cache and
Struct encoding in the same run (the ratio is the framework's cost).

    .venv/bin/python bench/bench_gateway.py [--quick] [--json PATH] [--duration S] [--rounds N]
        [--shared-socket]

Data: ``b9_persistence.seed`` at full scale (34,682 subreddits, 1.83 M posts, 1,247 creators;
``--quick``: small) stored by the persistence service in-process into database
``b9bench_<scale>`` (kept for later runs), then 30 % of subreddits and half the creators get a
review. Workers: one uvicorn per process on its own SO_REUSEPORT socket (``--shared-socket``:
``uvicorn --workers 2``). Load: ``wrk -t2 -c64``, ``--rounds`` alternating bare/gateway runs
per endpoint, medians reported. Shared machine: numbers are noisy; read the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
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
from wrkload import KEY, Load, _worker_pids, wait_up, wrk  # noqa: E402 - re-exported to the other benches

QUERIES = {
    "subreddits": "/api/v1/subreddits?review=unreviewed&sort=avg_upvotes&per_page=50",
    "creators": "/api/v1/creators?sort=followers&min_followers=1000&per_page=50",
    "posts": "/api/v1/posts?content_type=image&sort=score&per_page=50",
}


# -- the bare endpoint: raw ASGI + asyncpg + msgspec, the same SQL as the gateway -----------
def bare_app() -> Any:
    from b9_gateway.http import page_bytes
    from b9_gateway.routes.creators import CreatorItem
    from b9_gateway.routes.posts import PostItem
    from b9_gateway.routes.subreddits import SubredditItem
    from b9_gateway.sql import paged
    from b9_readmodel import creators, posts, subreddits
    from b9_readmodel.sql import ListQuery, Where

    state: dict[str, Any] = {}

    def q_subreddits() -> tuple[Any, ListQuery]:
        w = Where()
        subreddits.filters(w, "unreviewed", None, "any", None, None, None, None, None, None, None)
        return SubredditItem, subreddits.subreddit_list(w, "avg_upvotes", "desc")

    def q_creators() -> tuple[Any, ListQuery]:
        query = creators.creator_list(None, None, None, 1000, None, None, None, None, None, "followers", "desc")
        return CreatorItem, query

    def q_posts() -> tuple[Any, ListQuery]:
        return PostItem, posts.post_list(None, None, "image", None, None, "score")

    routes = {"/api/v1/subreddits": q_subreddits, "/api/v1/creators": q_creators, "/api/v1/posts": q_posts}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await bare_lifespan(receive, send, state)
            return
        struct, query = routes[scope["path"]]()
        items, total = await paged(state["pool"], query, 1, 50)
        body = page_bytes(struct, items, total, 1, 50)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return app


async def bare_lifespan(receive: Any, send: Any, state: dict[str, Any]) -> None:
    """A bare app's ASGI lifespan: ``state["pool"]`` with the gateway's own pool settings (size,
    codecs, no reset query on release), open from startup to shutdown."""
    from b9_gateway.deps import build_pool
    from b9_gateway.settings import Settings

    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            size, url = int(os.environ.get("GATEWAY_POOL_SIZE", "0")), os.environ["DATABASE_URL"]
            settings = Settings(database_url=url, gateway_api_key=KEY, gateway_pool_size=size)
            state["pool"] = await build_pool(settings)
            gc.collect()  # as the gateway does after startup (else gen-2 collections
            gc.freeze()  # walk every imported module's objects: 80-600 ms pauses)
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await state["pool"].close()
            await send({"type": "lifespan.shutdown.complete"})
            return


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
        for s in ("SCRAPE", "DERIVED", "DECISIONS", "COMMANDS", "DLQ"):
            await rt.js.delete_stream(rt.topology.stream(s))
        await rt.close()
        await conn.execute(
            "UPDATE subreddits SET review = 'Ok', review_source = 'manual' WHERE name IN "
            "(SELECT name FROM subreddits ORDER BY md5(name) LIMIT (SELECT count(*) * 3 / 10 FROM subreddits))"
        )
        await conn.execute("UPDATE instagram_creators SET review_status = 'ok' WHERE md5(ig_user_id) < '8'")
        await conn.execute(
            "INSERT INTO b9_meta (key, value) VALUES ('bench_gateway_seeded', $1) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            scale,
        )
    tables = ("subreddits", "reddit_posts", "reddit_users", "instagram_creators")
    for t in tables:  # as autovacuum would have by now (visibility map: index-only counts)
        await conn.execute(f"VACUUM (ANALYZE) {t}")
    counts = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}
    print(f"data: {counts}", flush=True)
    await conn.close()
    return nats_url, url, keep


# -- servers and load -----------------------------------------------------------------------
WORKERS = 2


def start_server(target: str, port: int, env: dict[str, str], reuse_port: bool) -> list[subprocess.Popen[bytes]]:
    """``WORKERS`` processes serving ``target`` (an app factory) on ``port``: either
    ``uvicorn --workers`` (one shared socket: the first worker to wake accepts) or, with
    ``reuse_port``, one uvicorn per process on its own SO_REUSEPORT socket (the kernel
    picks a socket by a hash of the client's address and port)."""
    full_env = {**os.environ, **env}
    if reuse_port:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve", target, "--port", str(port)]
        return [subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL) for _ in range(WORKERS)]
    opts = f"--factory --workers {WORKERS} --port {port} --host 127.0.0.1 --no-access-log --log-level warning"
    cmd = [sys.executable, "-m", "uvicorn", target, *opts.split(), "--app-dir", str(ROOT / "bench")]
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


def _show(name: str, bare: list[Load], gw: list[Load]) -> None:
    for who, r in [("bare", r) for r in bare] + [("gateway", r) for r in gw]:
        lat = f"p50 {r.p50:5.1f} ms  p99 {r.p99:6.1f} ms  connections/worker {r.split}  wrk {r.wrk_cpu:.2f} cores"
        print(f"  {name:10s} {who:7s} {r.rps:6.0f} req/s  {lat}  workers waited for CPU {r.runq:.0%}, PSI {r.psi:.0%}")


def row(
    metric: str, value: float, unit: str, target: str = "", base: float | None = None, errors: int = 0, note: str = ""
) -> Row:
    ratio = round(value / base, 2) if base else None
    note = f"{errors} non-2xx" if errors else note
    return Row(metric, round(value, 2 if unit == "cores" else 1), unit, target, base and round(base, 1), ratio, note)


async def run(scale: str, duration: int, rounds: int, reuse_port: bool) -> list[Row]:
    from b9_common.ops.metrics import free_port

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
        "GATEWAY_POOL_SIZE": os.environ.get("GATEWAY_POOL_SIZE", "0"),  # 0: the gateway's default
        "MEDIA_STORE_URL": f"file://{work / 'media'}",
        "LOG_LEVEL": "WARNING",
    }
    gw_procs = start_server("b9_gateway.asgi:create", gw_port, env, reuse_port)
    bare_procs = start_server("bench_gateway:bare_app", bare_port, env, reuse_port)
    rows: list[Row] = []
    runs: list[Load] = []
    listeners = WORKERS if reuse_port else 1
    try:
        await wait_up(f"http://127.0.0.1:{gw_port}{QUERIES['subreddits']}", gw_port, listeners)
        await wait_up(f"http://127.0.0.1:{bare_port}/api/v1/subreddits", bare_port, listeners)
        gw_pids, bare_pids = _worker_pids(gw_procs), _worker_pids(bare_procs)
        for name, path in QUERIES.items():
            bare_url = f"http://127.0.0.1:{bare_port}{path.split('?')[0]}"
            gw_url = f"http://127.0.0.1:{gw_port}{path}"
            await wrk(gw_url, 1, [], gw_port), await wrk(bare_url, 1, [], bare_port)  # warm up both
            bare, gw = [], []
            for _ in range(rounds):  # alternate, so both see the same background load
                bare.append(await wrk(bare_url, duration, bare_pids, bare_port))
                gw.append(await wrk(gw_url, duration, gw_pids, gw_port))
            _show(name, bare, gw)
            b_rps, b_p99 = median(r.rps for r in bare), median(r.p99 for r in bare)
            g_rps, g_p99 = median(r.rps for r in gw), median(r.p99 for r in gw)
            errors, p99s = sum(r.errors for r in gw), sorted(r.p99 for r in gw)
            rows.append(row(f"{name} list req/s", g_rps, "req/s", ">= 2000, >= 0.8x bare", b_rps, errors))
            rows.append(row(f"{name} list p99", g_p99, "ms", "< 60", b_p99, note=f"runs {p99s[0]:.0f}-{p99s[-1]:.0f}"))
            runs += gw + bare
        cpu, runq = [r.wrk_cpu for r in runs], [100 * r.runq for r in runs]
        rows.append(row("load generator CPU (wrk)", median(cpu), "cores", note=f"{min(cpu):.2f}-{max(cpu):.2f}"))
        rows.append(row("workers wait for a CPU", median(runq), "% of time", note=f"{min(runq):.0f}-{max(runq):.0f}"))
    finally:
        for p in gw_procs + bare_procs:
            p.terminate()
        for p in gw_procs + bare_procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)
            p.kill()  # a no-op once it has exited
            p.wait(5)
        for k in filter(None, keep):
            k.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small scale, short runs")
    ap.add_argument("--json", default=None)
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating bare/gateway runs per endpoint (median)")
    ap.add_argument("--shared-socket", action="store_true", help="uvicorn --workers 2 (one shared socket)")
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
