"""How b9's cost grows with its data: 1x, 3x and 10x the original size, one command.

    .venv/bin/python bench/bench_scale.py [--scales 1x,3x,10x] [--duration S] [--rounds N]
        [--browser-rounds N] [--skip load,http,wrk,browser] [--reload] [--keep-streams] [--quick] [--json PATH]

Per scale (``b9_persistence.seed.scale_counts``: ``full`` = ``1x``, ``3x``, ``10x``, any ``<f>x``):

1. **Load** (``scale_stack``): database ``b9scale_<scale>``; when ``b9_meta`` does not record
   this scale as loaded, ``b9 seed``'s generator publishes it through JetStream while the
   persistence service (its own process) stores it: ingest events/s, posts/s, time to fully
   stored, PostgreSQL bytes (the database's growth; the posts table) and JetStream bytes per
   million posts, peak RSS of persistence, the generator and PostgreSQL. Recorded in
   ``b9_meta``: a later run reuses the loaded scale and reports the recorded figures.
2. **HTTP** (``scale_http``): every list (default and each sort, first and deep page), search,
   detail pages and the overview under ``wrk -t2 -c64``, the gateway (2 workers, SO_REUSEPORT)
   next to the bare msgspec + asyncpg endpoint with the same SQL, alternating rounds, medians;
   peak RSS of both servers' workers and PostgreSQL under that load.
3. **Browser** (``scale_browser``): each dashboard page loaded in Chromium until its data shows.

Results: a markdown table, and JSON to ``--json`` or ``bench/results/scale-<scales>-<date>-<host>.json``.
``--quick``: ``--scales 0.01x``, one round of 1 s per endpoint, default sorts only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncpg
import bench_gateway as bg
import scale_browser
import scale_http
import scale_stack
from common import RESULTS, Row, print_table, write_json
from rss import RssSampler, postgres_pids

log = logging.getLogger("bench.scale")
LIST_TARGET = (">= 2000, >= 0.9x bare", "< 60, <= 1.2x bare")


def load_rows(scale: str, doc: dict[str, Any], reused: bool) -> list[Row]:
    posts_m = doc["counts"]["posts"] / 1e6
    note = f"recorded {doc['at']}" if reused else "measured in this run"
    js = sum(doc["js_bytes"].values())
    rows = [
        Row(f"{scale} seed: publish -> fully stored", doc["stored_s"], "s", "< 900" if scale == "10x" else "",
            note=f"{doc['events']:,} events, publish {doc['publish_s']} s; {note}"),
        Row(f"{scale} ingest rate", doc["events_per_s"], "events/s", note=note),
        Row(f"{scale} ingest rate, posts", doc["posts_per_s"], "posts/s", note=note),
        Row(f"{scale} PostgreSQL per million posts", doc["pg_bytes"] / 2**20 / posts_m, "MB",
            note=f"database growth {doc['pg_bytes'] / 2**30:.2f} GB; posts table "
                 f"{doc['pg_posts_table_bytes'] / 2**30:.2f} GB"),
        Row(f"{scale} JetStream per million posts", js / 2**20 / posts_m, "MB", note=f"{js / 2**30:.2f} GB in streams"),
    ]
    rows += [Row(f"{scale} peak RSS during the seed: {k}", v, "MB", note=note) for k, v in doc["rss_peak_mb"].items()]
    return rows


async def http_rows(scale: str, stack: scale_stack.Stack, args: argparse.Namespace, work: Path) -> list[Row]:
    from b9_common.ops.metrics import free_port

    if "wrk" not in args.skip and not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    conn = await asyncpg.connect(stack.url)
    try:
        eps = await scale_http.endpoints(conn, quick=args.quick)
        browser_conn = conn
        gw_port, bare_port = free_port(), free_port()
        env = {"NATS_URL": stack.nats_url, "DATABASE_URL": stack.url, "GATEWAY_API_KEY": bg.KEY,
               "GATEWAY_RATE_LIMIT": "0", "B9_NAMESPACE": f"bsc{uuid.uuid4().hex[:6]}", "METRICS_PORT": "-1",
               "GATEWAY_POOL_SIZE": os.environ.get("GATEWAY_POOL_SIZE", "0"),
               "MEDIA_STORE_URL": f"file://{work / 'media'}", "LOG_LEVEL": "WARNING"}
        gw = bg.start_server("b9_gateway.asgi:create", gw_port, env, True)
        bare = bg.start_server("scale_http:bare_app", bare_port, env, True)
        rows: list[Row] = []
        pg = postgres_pids(stack.admin_url)
        sampler = RssSampler({"gateway (2 workers)": lambda: [p.pid for p in gw],
                              "bare endpoint (2 workers)": lambda: [p.pid for p in bare],
                              "postgres (all backends)": lambda: pg})
        try:
            await bg.wait_up(f"http://127.0.0.1:{gw_port}{eps[0][1]}", gw_port, bg.WORKERS)
            await bg.wait_up(f"http://127.0.0.1:{bare_port}{eps[0][1]}", bare_port, bg.WORKERS)
            gw_pids, bare_pids = bg._worker_pids(gw), bg._worker_pids(bare)
            sampler.start()
            for label, path in eps if "wrk" not in args.skip else []:
                rows += await _endpoint(scale, label, path, gw_port, bare_port, gw_pids, bare_pids, args, conn)
            await sampler.stop()
            rows += [Row(f"{scale} peak RSS under HTTP load: {k}", v, "MB") for k, v in sampler.peaks_mb().items()]
            if "browser" not in args.skip:
                shown = await scale_browser.measure(f"http://127.0.0.1:{gw_port}", bg.KEY, browser_conn,
                                                    rounds=args.browser_rounds)
                rows += [Row(f"{scale} dashboard: {page} shows its data", t["median_ms"], "ms", "< 1000",
                             note=f"worst {t['max_ms']:.0f} ms; Playwright's wait_for (it polls) median "
                                  f"{t['playwright_median_ms']:.0f} ms") for page, t in shown.items()]
        finally:
            await sampler.stop()
            for p in gw + bare:
                await scale_stack.stop_process(p)
    finally:
        await conn.close()
    return rows


async def settle(conn: asyncpg.Connection, within: float = 90.0) -> int:
    """Wait until no other query runs on the scale's database, so one run does not measure the
    last one's leftovers: a request wrk gave up on (its 2 s timeout, or the end of its run) goes
    on in PostgreSQL, and 64 abandoned OFFSET pages keep both cores busy for a minute. What
    still runs after ``within`` seconds is cancelled. Returns the queries cancelled."""
    active = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
              "AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    for _ in range(int(within / 0.2) + 1):  # polled: PostgreSQL says nothing when a query ends
        pids = [r["pid"] for r in await conn.fetch(active)]
        if not pids or loop.time() >= deadline:
            break
        await asyncio.sleep(0.2)
    for pid in pids:
        await conn.execute("SELECT pg_cancel_backend($1)", pid)
    return len(pids)


async def _endpoint(scale: str, label: str, path: str, gw_port: int, bare_port: int, gw_pids: list[int],
                    bare_pids: list[int], args: argparse.Namespace, conn: asyncpg.Connection) -> list[Row]:
    gw_url, bare_url = f"http://127.0.0.1:{gw_port}{path}", f"http://127.0.0.1:{bare_port}{path}"
    await bg.wrk(gw_url, 1, [], gw_port), await bg.wrk(bare_url, 1, [], bare_port)  # warm up both
    bare, gw = [], []
    for _ in range(args.rounds):  # alternate, so both see the same background load
        await settle(conn)
        bare.append(await bg.wrk(bare_url, args.duration, bare_pids, bare_port))
        await settle(conn)
        gw.append(await bg.wrk(gw_url, args.duration, gw_pids, gw_port))
    await settle(conn)  # before the next endpoint (and the browser pages)
    bg._show(label[:30], bare, gw)
    b_rps, b_p99, b_p50 = (median(getattr(r, k) for r in bare) for k in ("rps", "p99", "p50"))
    g_rps, g_p99, g_p50 = (median(getattr(r, k) for r in gw) for k in ("rps", "p99", "p50"))
    errors = sum(r.errors for r in gw) + sum(r.errors for r in bare)
    is_list = " list" in label
    search = label.startswith("search")
    rps_t, p99_t = LIST_TARGET if is_list else ("", "< 100" if search else "")
    note = f"{errors} non-2xx (gateway + bare)" if errors else f"path {path}"
    if any(r.rps == 0 for r in bare + gw):  # wrk counts no latency for requests past its 2 s timeout
        note += "; a run completed no request within wrk's 2 s timeout"
    return [
        bg.row(f"{scale} {label} req/s", g_rps, "req/s", rps_t, b_rps, note=note),
        bg.row(f"{scale} {label} p99", g_p99, "ms", p99_t, b_p99),
        bg.row(f"{scale} {label} p50", g_p50, "ms", "", b_p50),
    ]


async def one_scale(scale: str, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="b9-bench-scale-"))
    stack = await scale_stack.open_stack(scale, work)
    try:
        if args.reload:
            await scale_stack.reset(stack)
        doc = await scale_stack.loaded(stack.url, scale)
        reused = doc is not None
        if doc is None:
            if "load" in args.skip:
                raise SystemExit(f"{scale} is not loaded in {stack.db} and --skip load was given")
            log.info("seeding %s into %s", scale, stack.db)
            doc = await scale_stack.load(stack, scale, keep_streams=args.keep_streams)
        else:
            log.info("%s already loaded in %s (%s): reusing it", scale, stack.db, doc["at"])
        rows = load_rows(scale, doc, reused)
        if "http" not in args.skip:
            kept, took = await scale_stack.refresh_viral(stack.url)
            rows.append(Row(f"{scale} viral posts snapshot refresh (before the HTTP and browser rows)", took, "s",
                            note=f"{kept:,} rows kept (-1: too few 'Ok' subreddits, the page computes live)"))
            rows += await http_rows(scale, stack, args, work)
        return rows, {**doc, "reused": reused}
    finally:
        stack.close()
        shutil.rmtree(work, ignore_errors=True)


async def run(args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    loads: dict[str, Any] = {}
    for scale in args.scales:
        got, doc = await one_scale(scale, args)
        rows += got
        loads[scale] = doc
    return rows, loads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default=None, help="comma-separated (default 1x,3x,10x; --quick: 0.01x)")
    ap.add_argument("--duration", type=int, default=None, help="seconds per wrk run (default 5; quick 1)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating bare/gateway runs (default 2; quick 1)")
    ap.add_argument("--browser-rounds", type=int, default=None, help="loads per page (default 3; quick 1)")
    ap.add_argument("--skip", default="",
                    help="comma-separated: load (never seed), http (and the browser), wrk (the endpoints: "
                         "the browser pages only), browser")
    ap.add_argument("--reload", action="store_true", help="drop the scale's database and seed it again")
    ap.add_argument("--keep-streams", action="store_true", help="keep the seed's streams after the load")
    ap.add_argument("--quick", action="store_true", help="0.01x, 1 s per endpoint, default sorts only")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asked = (args.scales or ("0.01x" if args.quick else "1x,3x,10x")).split(",")
    args.scales = ["full" if s in ("1x", "full") else s for s in asked]  # 1x is the seed's "full"
    args.duration = args.duration or (1 if args.quick else 5)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.browser_rounds = args.browser_rounds or (1 if args.quick else 3)
    args.skip = {s for s in args.skip.split(",") if s}
    rows, loads = asyncio.run(run(args))
    print_table(f"scale ({', '.join(args.scales)}; wrk -t2 -c64, 2 workers each; read the ratios)", rows)
    meta = {"scales": args.scales, "duration_s": args.duration, "rounds": args.rounds, "loads": loads,
            "not_measured": [s for s in ("full", "3x", "10x") if s not in args.scales]}
    scales = "-".join("1x" if s == "full" else s for s in args.scales)
    path = args.json or str(RESULTS / f"scale-{scales}-{datetime.now(UTC):%Y-%m-%d}-{socket.gethostname()}.json")
    RESULTS.mkdir(exist_ok=True)
    write_json(path, "scale", rows, meta)
    print(json.dumps({"written": path}), file=sys.stderr)


if __name__ == "__main__":
    main()
