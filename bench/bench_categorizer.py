"""Categorizer: replay throughput of subreddit.fetched through the rule-based path.

    .venv/bin/python bench/bench_categorizer.py [--quick] [--workers 2] [--rounds 3] [--json PATH]

Seeds sets of N subreddit.fetched events built from the real recorded subreddit fixtures (names
made unique, so nothing is skipped as unchanged), then, in each round, replays them through the
categorizer's own batch handler with b9_common's replay primitive: the real consumer runtime
(pull engine, decode, ack) + classification + publishing subreddit.categorized (acked by
JetStream). Rows (medians over the rounds, which alternate the three so that the machine's
load moves them alike):

- the runtime alone (an empty batch handler) in this 1 process: the baseline;
- the rule path in 1 process (REPLAY_WORKERS=1). Target: >= 20,000 events/s;
- the rule path in ``--workers`` processes: this one + worker subprocesses of the categorizer
  (``b9_common.replay.crew``) pulling from the same replay consumer, bootstrapped before the
  clock starts (as a replica starts them while it counts the slice; their start-up is noted).
  Target: >= 0.6x the runtime row of the same round (the ratio is the median of the rounds).

Also the bare classifier rate. The machine is shared: compare the ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
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


async def run(n: int, workers: int, rounds: int) -> list[Row]:
    from b9_categorizer.content import subreddit_input
    from b9_categorizer.main import build_pipeline, consumer_defs
    from b9_categorizer.rules import RuleClassifier
    from b9_categorizer.settings import Settings
    from b9_categorizer.taxonomy import load_taxonomy
    from b9_common.embedded import ensure_nats
    from b9_common.service import connect
    from cat_data import real_subreddits

    sets = 2 * rounds  # one set of n per rules replay (nothing is skipped as unchanged)
    base = real_subreddits()
    events = [
        replace(base[i % len(base)], name=f"{base[i % len(base)].name[:150]}_{i}") for i in range(sets * n)
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
            for i in range(0, sets * n, 5000):
                await rt.publisher.publish_many(events[i : i + 5000])
            rows.append(Row("seed publish", sets * n / (time.perf_counter() - t0), "events/s"))
            # A real replay process does not hold the seeded events: drop them, or every
            # garbage collection during the replay walks 100,000 structs (~20 % of its CPU).
            del events, inputs
            gc.collect()
            gc.freeze()  # as `b9 replay` does once the service is bootstrapped
            pipeline = await build_pipeline(settings, rt)
            cdef = consumer_defs(settings, pipeline)[0]
            got: dict[str, list[float]] = {"runtime": [], "one": [], "many": [], "cpu": [], "startup": []}
            for r in range(rounds):  # alternated: the machine's load moves all three alike
                await _round(rt, settings, cdef, n, r, workers, got)
            info = await rt.js.stream_info(rt.topology.stream("DERIVED"))
            assert info.state.messages == sets * n, info.state
            rows += _rows(got, n, workers, rounds)
            await rt.close()
        finally:
            if server is not None:
                server.stop()
    return rows


async def _round(rt: Any, settings: Any, cdef: Any, n: int, r: int, workers: int, got: dict[str, list[float]]) -> None:
    """Runtime only and the rule path in 1 process over set 2r, the rule path in ``workers``
    processes (this one + worker subprocesses, b9_common.replay.crew) over set 2r + 1."""
    from b9_common.replay.crew import Crew
    from b9_common.replay.runner import Slice, replay
    from b9_common.service import ConsumerDef

    def part(k: int) -> Any:
        return Slice(stream="SCRAPE", subjects=("subreddit.fetched",), from_seq=k * n + 1, to_seq=(k + 1) * n)

    async def noop(ds: list[Any]) -> None:
        return None

    bare = ConsumerDef(spec=cdef.spec, batch_handler=noop, batch=cdef.batch, batch_concurrency=cdef.batch_concurrency)
    t0 = time.perf_counter()
    await replay(rt, bare, part(2 * r))
    got["runtime"].append(n / (time.perf_counter() - t0))
    c0, t0 = time.process_time(), time.perf_counter()
    report = await replay(rt, cdef, part(2 * r))
    got["one"].append(n / (time.perf_counter() - t0))
    got["cpu"].append(n / (time.process_time() - c0))
    assert report.complete and report.handled == n, report
    crew = Crew("categorizer", settings, workers - 1, "bench")
    t0 = time.perf_counter()
    await crew.spawn()
    await crew.ready()  # a replica starts them when it claims the replay, while it counts the slice
    got["startup"].append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    report = await replay(rt, cdef, part(2 * r + 1), crew=crew)
    got["many"].append(n / (time.perf_counter() - t0))
    await crew.stop()  # the workers exit
    assert report.complete and report.handled == n and len(report.by_process) == workers, report


def _rows(got: dict[str, list[float]], n: int, workers: int, rounds: int) -> list[Row]:
    runtime, one, many = (statistics.median(got[k]) for k in ("runtime", "one", "many"))
    ratios = [m / rt_ for m, rt_ in zip(got["many"], got["runtime"], strict=True)]
    each = ", ".join(f"{x:.2f}" for x in ratios)
    return [
        Row("replay, empty handler (runtime only), 1 process", runtime, "events/s",
            note=f"the baseline; median of {rounds} rounds"),
        Row("replay fetched -> categorized (rules), 1 process", one, "events/s", target=">= 20,000",
            baseline=runtime, ratio=one / runtime,
            note=f"REPLAY_WORKERS=1; {statistics.median(got['cpu']):,.0f}/cpu-s of the process"),
        Row(f"replay fetched -> categorized (rules), {workers} processes", many, "events/s",
            target=">= 0.6x runtime", baseline=runtime, ratio=statistics.median(ratios),
            note=f"REPLAY_WORKERS={workers}: this process + {workers - 1} worker subprocess(es); ratio per "
                 f"round {each}; workers bootstrapped in {statistics.median(got['startup']):.1f} s (not timed)"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--workers", type=int, default=2, help="processes of the parallel rules replay")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(n, args.workers, args.rounds))
    print_table(f"categorizer ({n:,} events)", rows)
    write_json(args.json, "categorizer", rows, {"events": n, "workers": args.workers, "rounds": args.rounds})


if __name__ == "__main__":
    main()
