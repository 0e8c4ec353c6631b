"""`b9 rebuild` vs persistence's own ingest of the same streams, in one run.

    .venv/bin/python bench/bench_rebuild.py [--quick] [--scale small|full] [--json PATH]

1. ``b9-persistence`` as its own process, then ``b9 seed --scale full`` (``--quick``: small)
   published from this process: ingest = events / (first publish -> every stream settled by the
   live consumers), as bench_persistence measures its seed row.
2. Persistence stopped; ``b9 rebuild --into <new database>`` as its own process over the same
   streams: rebuild = events / wall time of the command (start, migrations, the rebuild itself,
   exit). Target: >= 0.8x the ingest rate. Also reported: the time the command itself reports.
3. The rebuilt database compared with the live one (``rebuild_compare``): 0 differing tables.
4. JetStream disk: bytes of SCRAPE + DERIVED after the seed, per million posts (``--scale full``
   is the original's mix: 1.83 M posts, 309,608 users, 34,682 subreddits, 1,247 creators).

NATS: NATS_URL (>= 2.10) else an embedded nats-server; PostgreSQL: DATABASE_URL or the local
default, else an embedded pgserver (bench/common.scratch_stack). The machine is shared: noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings
from b9_persistence.main import STREAMS
from b9_persistence.rebuild import database_of, drop_database, with_database
from b9_persistence.rebuild_compare import compare
from b9_persistence.seed import SCALES, seed
from common import Row, print_table, scratch_stack, write_json

BIN = Path(sys.executable).parent


async def settled(rt: Runtime, within: float = 3600) -> None:
    """Every stream persistence reads is settled by its live consumer."""
    deadline = time.monotonic() + within
    for stream in STREAMS:
        s = rt.topology.stream(stream)
        while True:
            last = (await rt.js.stream_info(s)).state.last_seq
            info = await rt.js.consumer_info(s, "persistence")
            if not info.num_pending and not info.num_ack_pending and info.delivered.stream_seq >= last:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"persistence did not settle {stream}")
            await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> list[Row]:
    async with scratch_stack("b9-bench-rebuild-") as stack:
        return await measure(args, stack.nats_url, stack.url)


async def measure(args: argparse.Namespace, nats_url: str, url: str) -> list[Row]:
    ns = f"bench{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, NATS_URL=nats_url, B9_NAMESPACE=ns, DATABASE_URL=url, METRICS_PORT="-1",
               LOG_LEVEL="WARNING")
    target = with_database(url, database_of(url) + "_rebuilt")
    rows: list[Row] = []
    rt = await connect(CommonSettings(nats_url=nats_url, b9_namespace=ns), "bench", "0")
    proc = await asyncio.create_subprocess_exec(str(BIN / "b9-persistence"), env=env)
    try:
        await asyncio.sleep(2.0)
        t0 = time.perf_counter()
        counts = await seed(rt.publisher, args.scale)
        t_pub = time.perf_counter() - t0
        await settled(rt)
        t_ingest = time.perf_counter() - t0
        events = sum(counts.values())
        ingest = events / t_ingest
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 60)
        stream_bytes = 0
        for stream in ("SCRAPE", "DERIVED"):
            stream_bytes += (await rt.js.stream_info(rt.topology.stream(stream))).state.bytes
        posts = SCALES[args.scale]["posts"]

        t0 = time.perf_counter()
        rb = await asyncio.create_subprocess_exec(str(BIN / "b9"), "rebuild", "--into", target, env=env,
                                                  stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await rb.communicate()
        t_rebuild = time.perf_counter() - t0
        text = out.decode(errors="replace")
        if rb.returncode != 0:
            raise RuntimeError(f"b9 rebuild --into exited {rb.returncode}:\n{text[-3000:]}")
        m = re.search(r"rebuilt from \d+ streams: ([\d,]+) messages in ([\d.]+) s", text)
        inner = float(m.group(2)) if m else t_rebuild
        rebuilt = events / t_rebuild

        t0 = time.perf_counter()
        diffs = await compare(url, target)
        t_compare = time.perf_counter() - t0
        differing = [f"{d.table}: {d.problem or d.differing}" for d in diffs if not d.identical]
        live_rows = sum(d.live_rows for d in diffs)

        note = f"{args.scale}: {events:,} events ({counts}), {live_rows:,} rows"
        rows.append(Row(f"persistence ingest, seed --scale {args.scale} (publish -> all stored)", ingest,
                        "events/s", note=f"{t_ingest:.1f} s = {t_ingest / 60:.2f} min (publish {t_pub:.1f} s); {note}"))
        rows.append(Row(f"b9 rebuild --into, same streams (command wall time {t_rebuild:.1f} s = "
                        f"{t_rebuild / 60:.2f} min)", rebuilt, "events/s", ">= 0.8x ingest", ingest, rebuilt / ingest,
                        note=f"rebuild itself {inner:.1f} s ({events / inner:,.0f} events/s)"))
        rows.append(Row("b9 rebuild --into, minutes", t_rebuild / 60, "min", note=f"ingest {t_ingest / 60:.2f} min"))
        compared = f"{len(diffs)} tables, {live_rows:,} rows compared" + (f"; {differing}" if differing else "")
        rows.append(Row("tables differing after the rebuild", float(len(differing)), "tables", "= 0", note=compared))
        rows.append(Row("compare (rebuild --verify's table check), every table", t_compare, "s", note=compared))
        mix = f"{stream_bytes / 1e6:,.0f} MB for {posts:,} posts and the rest of the {args.scale} mix"
        rows.append(Row("JetStream SCRAPE + DERIVED per million posts", stream_bytes / (posts / 1e6) / 1e6,
                        "MB", note=mix))
        return rows
    finally:
        if proc.returncode is None:
            proc.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 60)
        await rt.close()
        with contextlib.suppress(Exception):
            await drop_database(target)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="seed small instead of full")
    ap.add_argument("--scale", choices=sorted(SCALES), default=None)
    ap.add_argument("--json")
    args = ap.parse_args()
    args.scale = args.scale or ("small" if args.quick else "full")
    rows = asyncio.run(run(args))
    print_table("rebuild", rows)
    write_json(args.json, "rebuild", rows)


if __name__ == "__main__":
    main()
