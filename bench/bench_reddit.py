"""Reddit scraper against a local upstream that enforces a request budget.

The upstream (tests/reddit_scraper/reddit_fake_upstream.py) serves real recorded fixtures,
answers with real-style ``x-ratelimit-remaining/used/reset`` headers (fixed window, reset in
whole seconds, floored, as Reddit sends it) and 429s past the budget. The scraper runs
in-process on a cycle of No Seller subreddits (metadata: about + rules + top = 3 calls),
with the control budget set to the upstream's.

    .venv/bin/python bench/bench_reddit.py            # 100 requests / 60 s window, 10 minutes
    .venv/bin/python bench/bench_reddit.py --quick    # scaled down: 60 requests / 20 s, 80 s

Reported: budget utilisation over the closed windows (requests served / budget), 429s
from the upstream, and requests per subreddit refreshed. Noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "reddit_scraper"))

from b9_common.embedded import ensure_nats  # noqa: E402
from b9_common.service import Runtime, ServiceDef, connect, serve  # noqa: E402
from b9_reddit_scraper import main as svc  # noqa: E402
from b9_reddit_scraper.settings import Settings  # noqa: E402
from b9_reddit_scraper.tracked import StaticTracked, Tracked  # noqa: E402
from common import Row, print_table, write_json  # noqa: E402
from reddit_fake_upstream import FakeReddit, built_about, fixture  # noqa: E402

NAME = "reddit_scraper"


async def count_attempts(rt: Runtime) -> dict[str, int]:
    stream = rt.topology.stream("SCRAPE")
    info = await rt.js.stream_info(stream)
    subject = rt.topology.subject("scrape.attempted")
    out: dict[str, int] = {}
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await rt.js.get_msg(stream, seq)
        if msg.subject == subject:
            data = msgspec.json.decode(msg.data)["data"]
            out[data["outcome"]] = out.get(data["outcome"], 0) + 1
    return out


async def run(budget: int, window: float, duration: float,
              subs: int) -> tuple[list[Row], dict[str, Any]]:
    tmp = Path(tempfile.mkdtemp(prefix="b9-bench-reddit-"))
    url, server = await ensure_nats("nats://127.0.0.1:4222", tmp / "nats")
    ns = f"bench{int(time.time())}"
    upstream = FakeReddit(budget=budget, window=window)
    await upstream.start()
    top = fixture("subreddit_listing/askreddit_top.json")
    names = [f"bench{i:04d}" for i in range(subs)]
    for n in names:  # built: real r/redditdev about renamed; real r/askreddit top listing
        upstream.add_subreddit(n, about=built_about(n), top=top)
    settings = Settings(nats_url=url, b9_namespace=ns, metrics_port=-1,
                        reddit_api_base=upstream.url,
                        reddit_user_agent="linux:b9-bench:0.1 (by u/b9_team)")
    rt = await connect(settings, "bench", "0")
    kv = await rt.topology.control_kv(rt.js)
    rpm = budget * 60.0 / window
    await kv.put("scraper.reddit", msgspec.json.encode(
        {"enabled": True, "interval_seconds": 0, "batch_size": 5, "requests_per_minute": rpm}))
    tracked = StaticTracked([Tracked(n, "metadata") for n in names])

    async def boot(s: Settings, r: Runtime) -> Any:
        return await svc.bootstrap(s, r, tracked=tracked)

    stop = asyncio.Event()
    sdef = ServiceDef(name=svc.NAME, version="bench", settings_cls=Settings, bootstrap=boot)
    task = asyncio.create_task(serve(sdef, settings, stop=stop, grace=2.0))
    await asyncio.sleep(duration)
    stop.set()
    await task
    attempts = await count_attempts(rt)
    await rt.close()
    await upstream.stop()
    if server is not None:
        server.stop()
    closed = upstream.windows[1:]  # the first window includes start-up (token bucket warm-up)
    utilisation = 100.0 * sum(closed) / (budget * len(closed)) if closed else 0.0
    api = len(upstream.api_requests())
    ok = attempts.get("success", 0)
    per_sub = api / ok if ok else float("nan")
    rows = [
        Row("budget utilisation (closed windows after the first)", round(utilisation, 1), "%",
            ">= 95", ratio=round(utilisation / 95, 2)),
        Row("429 responses from the upstream", upstream.over_budget, "count", "0"),
        Row("requests per subreddit refreshed", round(per_sub, 2), "requests", "3",
            ratio=round(3 / per_sub, 2) if ok else None),
        Row("subreddits refreshed", ok, "count"),
        Row("requests sent", api, "count"),
    ]
    extra = {"budget": budget, "window_s": window, "duration_s": duration,
             "per_window": upstream.windows, "attempts": attempts}
    return rows, extra


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 requests per 20 s window, 80 s")
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--duration", type=float)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    budget, window, duration = (60, 20.0, 80.0) if args.quick else (100, 60.0, 600.0)
    duration = args.duration or duration
    rows, extra = asyncio.run(run(budget, window, duration, subs=2000))
    title = f"{NAME}: {budget} requests / {window:.0f} s window, {duration:.0f} s"
    print_table(title, rows)
    print(f"per window: {extra['per_window']}  attempts: {extra['attempts']}")
    write_json(args.json, NAME, rows, extra)


if __name__ == "__main__":
    main()
