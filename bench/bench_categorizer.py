"""Categorizer: replay throughput of subreddit.fetched through the rule-based path.

    .venv/bin/python bench/bench_categorizer.py [--quick] [--json PATH]

Seeds N subreddit.fetched events built from the real recorded subreddit fixtures (names made
unique, so nothing is skipped as unchanged), then replays the SCRAPE stream through the
categorizer's own batch handler with b9_common's replay primitive: the real consumer
runtime (pull engine, decode, ack) + classification + publishing subreddit.categorized
(acked by JetStream). Also reports the bare classifier rate. Target: >= 20,000 events/s.
The machine is shared with other workers: read the numbers as noisy lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from msgspec.structs import replace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "categorizer"))

from common import Row, print_table, write_json  # noqa: E402


async def run(n: int, workers: int) -> list[Row]:
    from b9_categorizer.content import subreddit_input
    from b9_categorizer.main import build_pipeline, consumer_defs
    from b9_categorizer.rules import RuleClassifier
    from b9_categorizer.settings import Settings
    from b9_categorizer.taxonomy import load_taxonomy
    from b9_common.embedded import ensure_nats
    from b9_common.replay.runner import Slice, replay
    from b9_common.service import ConsumerDef, connect
    from cat_data import real_subreddits

    base = real_subreddits()
    events = [
        replace(base[i % len(base)], name=f"{base[i % len(base)].name[:150]}_{i}") for i in range(2 * n)
    ]
    rows: list[Row] = []

    rules = RuleClassifier(load_taxonomy())
    inputs = [subreddit_input(e) for e in events[: min(n, 20_000)]]
    t0 = time.perf_counter()
    for it in inputs:
        rules.classify(it)
    rows.append(
        Row("classifier only (in-process)", len(inputs) / (time.perf_counter() - t0), "events/s")
    )

    with tempfile.TemporaryDirectory() as tmp:
        url, server = await ensure_nats(None, Path(tmp) / "nats")
        try:
            settings = Settings(
                nats_url=url, b9_namespace=f"bench{uuid.uuid4().hex[:6]}", metrics_port=-1,
                replay_workers=workers,
            )
            rt = await connect(settings, "bench", "0")
            t0 = time.perf_counter()
            for i in range(0, 2 * n, 5000):  # two sets: one per rules replay (nothing unchanged)
                await rt.publisher.publish_many(events[i : i + 5000])
            rows.append(Row("seed publish", 2 * n / (time.perf_counter() - t0), "events/s"))
            # A real replay process does not hold the seeded events: drop them, or every
            # garbage collection during the replay walks 100,000 structs (~20 % of its CPU).
            del events, inputs
            gc.collect()
            gc.freeze()  # as `b9 replay` does once the service is bootstrapped
            pipeline = await build_pipeline(settings, rt)
            cdef = consumer_defs(settings, pipeline)[0]
            first = Slice(stream="SCRAPE", subjects=("subreddit.fetched",), from_seq=1, to_seq=n)
            second = Slice(stream="SCRAPE", subjects=("subreddit.fetched",), from_seq=n + 1, to_seq=2 * n)

            async def noop(ds: list[Any]) -> None:
                return None

            bare = ConsumerDef(
                spec=cdef.spec,
                batch_handler=noop,
                batch=cdef.batch,
                batch_concurrency=cdef.batch_concurrency,
            )
            c0, t0 = time.process_time(), time.perf_counter()
            await replay(rt, bare, first)
            runtime = n / (time.perf_counter() - t0)
            rows.append(
                Row(
                    "replay, empty handler (runtime only), 1 process",
                    runtime,
                    "events/s",
                    note=f"baseline; {n / (time.process_time() - c0):,.0f}/cpu-s",
                )
            )
            c0, t0 = time.process_time(), time.perf_counter()
            report = await replay(rt, cdef, first)
            elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0
            assert report.complete and report.handled == n, report
            assert pipeline.stats.published == n, pipeline.stats
            rate = n / elapsed
            rows.append(
                Row(
                    "replay fetched -> categorized (rules), 1 process",
                    rate,
                    "events/s",
                    target=">= 20,000",
                    baseline=runtime,
                    ratio=rate / runtime,
                    note=f"{n / cpu:,.0f}/cpu-s of the categorizer process; ratio to the runtime row",
                )
            )
            rows.append(await _with_crew(rt, settings, cdef, second, n, workers, runtime))
            info = await rt.js.stream_info(rt.topology.stream("DERIVED"))
            assert info.state.messages == 2 * n, info.state
            await rt.close()
        finally:
            if server is not None:
                server.stop()
    return rows


async def _with_crew(rt: Any, settings: Any, cdef: Any, slice_: Any, n: int, workers: int, runtime: float) -> Row:
    """The rule path in ``workers`` processes: this one + worker subprocesses of the categorizer
    (b9_common.replay.crew), bootstrapped before the clock starts (their start-up is noted)."""
    from b9_common.replay.crew import Crew
    from b9_common.replay.runner import replay

    crew = Crew("categorizer", settings, workers - 1, "bench")
    t0 = time.perf_counter()
    await crew.spawn()
    await crew.ready()
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = await replay(rt, cdef, slice_, crew=crew)
    elapsed = time.perf_counter() - t0
    assert report.complete and report.handled == n, report
    rate = n / elapsed
    return Row(
        f"replay fetched -> categorized (rules), {workers} processes",
        rate,
        "events/s",
        target=">= 0.6x runtime",
        baseline=runtime,
        ratio=rate / runtime,
        note=f"REPLAY_WORKERS={workers}: this process + {workers - 1} worker(s), "
        f"{startup:.1f} s to start them (not timed)",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--workers", type=int, default=2, help="processes of the parallel rules replay")
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(n, args.workers))
    print_table(f"categorizer ({n:,} events)", rows)
    write_json(args.json, "categorizer", rows, {"events": n})


if __name__ == "__main__":
    main()
