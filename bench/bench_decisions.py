"""A person's decision, round trip: PUT a review -> decision event -> persistence stores it ->
the API call returns -> a reload (GET the subreddit) shows it. Measured with the gateway idle and
with the list benchmark's load on it (wrk -t2 -c64 on the subreddit list), in one run.

    .venv/bin/python bench/bench_decisions.py [--quick] [--json PATH] [--n 300]

Uses the gateway benchmark's database (bench_gateway.prepare: seeds it once per scale) and runs
two gateway workers plus one persistence process on a fresh namespace. Target (issue #17):
p50 < 20 ms and p99 < 100 ms under the list load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gateway import KEY, QUERIES, prepare, start_server, wait_up, wrk
from common import Row, print_table, write_json

AUTH = {"Authorization": f"Bearer {KEY}"}


async def _names(db_url: str, n: int) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        return [r["name"] for r in await conn.fetch("SELECT name FROM subreddits ORDER BY md5(name) LIMIT $1", n)]
    finally:
        await conn.close()


class Probe:
    """Sees, on core NATS, when each decision event reaches the server and when persistence
    announces it stored: the split of a round trip between gateway, persistence and reload."""

    STAGES = ("PUT -> event on NATS", "event -> stored and announced", "announced -> PUT answered", "reload (GET)")

    def __init__(self) -> None:
        self.event_at = self.applied_at = 0.0
        self.splits: list[tuple[float, float, float, float]] = []

    async def start(self, nats_url: str, ns: str) -> Any:
        import nats

        nc = await nats.connect(nats_url)

        async def on_event(_: Any) -> None:
            self.event_at = time.perf_counter()

        async def on_applied(_: Any) -> None:
            self.applied_at = time.perf_counter()

        await nc.subscribe(f"{ns}.subreddit.reviewed", cb=on_event)
        await nc.subscribe(f"{ns}.b9.decisions.applied", cb=on_applied)
        await nc.flush()
        return nc

    def add(self, t0: float, put: float, get: float) -> None:
        if t0 < self.event_at <= self.applied_at <= put:
            self.splits.append((self.event_at - t0, self.applied_at - self.event_at, put - self.applied_at, get - put))

    def summary(self) -> str:
        if not self.splits:
            return "no split seen"
        cols = list(zip(*self.splits, strict=True))
        return "; ".join(f"{name} p50 {1000 * median(c):.1f} / p99 {1000 * _pct(list(c))[1]:.1f} ms"
                         for name, c in zip(self.STAGES, cols, strict=True))


async def round_trips(base: str, names: list[str], probe: Probe | None = None) -> tuple[list[float], list[float], int]:
    """Milliseconds per decision (PUT until a GET shows it), of the PUT alone, and how many
    times a reload did not show it."""
    took, calls, wrong = [], [], 0
    async with aiohttp.ClientSession(headers=AUTH) as http:
        for i, name in enumerate(names):
            review = "Ok" if i % 2 else "No Seller"
            t0 = time.perf_counter()
            async with http.put(f"{base}/api/v1/subreddits/{name}/review", json={"review": review}) as r:
                body = await r.json()
                assert r.status in (200, 202), body
            put = time.perf_counter()
            calls.append(1000 * (put - t0))
            async with http.get(f"{base}/api/v1/subreddits/{name}", params={"history": 0}) as r:
                shown = (await r.json())["subreddit"]["review"]
            took.append(1000 * (time.perf_counter() - t0))
            if probe is not None:
                probe.add(t0, put, time.perf_counter())
            wrong += shown != review
    return took, calls, wrong


def _start_persistence(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([str(Path(sys.executable).parent / "b9-persistence")],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL)


def _pct(xs: list[float]) -> tuple[float, float]:
    q = quantiles(xs, n=100, method="inclusive")
    return median(xs), q[98]


async def run(scale: str, n: int, duration: int) -> list[Row]:
    from b9_common.ops.metrics import free_port

    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="b9-bench-dec-"))
    nats_url, db_url, keep = await prepare(scale, work)
    port = free_port()
    ns = f"bdec{uuid.uuid4().hex[:6]}"
    env = {"NATS_URL": nats_url, "DATABASE_URL": db_url, "GATEWAY_API_KEY": KEY, "GATEWAY_RATE_LIMIT": "0",
           "B9_NAMESPACE": ns, "METRICS_PORT": "-1", "MEDIA_STORE_URL": f"file://{work / 'media'}",
           "LOG_LEVEL": "WARNING"}
    gw = start_server("b9_gateway.asgi:create", port, env, reuse_port=True)
    persistence = _start_persistence(env)
    base = f"http://127.0.0.1:{port}"
    rows: list[Row] = []
    try:
        await wait_up(f"{base}{QUERIES['subreddits']}", port, 2)
        names = await _names(db_url, 2 * n + 20)
        await round_trips(base, names[:20])  # warm up (and wait for persistence's consumer)
        idle_probe, busy_probe = Probe(), Probe()
        nc = await idle_probe.start(nats_url, ns)
        idle, _, wrong_idle = await round_trips(base, names[20:20 + n], idle_probe)
        await nc.close()
        nc = await busy_probe.start(nats_url, ns)
        load = asyncio.create_task(wrk(f"{base}{QUERIES['subreddits']}", duration, [], port))
        await asyncio.sleep(1.0)
        busy, calls, wrong_busy = await round_trips(base, names[20 + n:], busy_probe)
        listed = await load
        await nc.close()
        i50, i99 = _pct(idle)
        b50, b99 = _pct(busy)
        c50, c99 = _pct(calls)
        note = f"{len(busy)} decisions; reload showed another value {wrong_busy + wrong_idle} times"
        rows += [
            Row("decision round trip p50, idle gateway", round(i50, 1), "ms", "", None, None, f"{len(idle)} decisions"),
            Row("decision round trip p99, idle gateway", round(i99, 1), "ms"),
            Row("decision round trip p50, under list load", round(b50, 1), "ms", "< 20", None, None, note),
            Row("decision round trip p99, under list load", round(b99, 1), "ms", "< 100", None, None,
                f"the PUT alone: p50 {c50:.1f} ms, p99 {c99:.1f} ms"),
            Row("subreddit list during the decisions", round(listed.rps, 0), "req/s", "", None, None,
                f"p99 {listed.p99:.1f} ms, {listed.errors} non-2xx"),
        ]
        rows += [Row("split, idle gateway", len(idle_probe.splits), "seen", "", None, None, idle_probe.summary()),
                 Row("split, under list load", len(busy_probe.splits), "seen", "", None, None, busy_probe.summary())]
        for r in rows:
            print(f"  {r.metric:45s} {r.value:>9} {r.unit:6s} {r.target:8s} {r.note}", flush=True)
    finally:
        for p in [*gw, persistence]:
            p.terminate()
        for p in [*gw, persistence]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)
            p.kill()
            p.wait(5)
        for k in filter(None, keep):
            k.stop()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small scale, fewer decisions")
    ap.add_argument("--json", default=None)
    ap.add_argument("--n", type=int, default=None, help="decisions per phase")
    args = ap.parse_args()
    scale = "small" if args.quick else "full"
    n = args.n or (60 if args.quick else 300)
    rows = asyncio.run(run(scale, n, duration=10 if args.quick else 30))
    print_table("decision round trip", rows)
    if args.json:
        write_json(args.json, "decisions", rows)


if __name__ == "__main__":
    main()
