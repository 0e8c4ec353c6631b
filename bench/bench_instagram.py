"""instagram-scraper benchmark: parsing + analytics per creator, provider calls per second
against a local provider server, and the size of a full creator.scraped event.

    .venv/bin/python bench/bench_instagram.py [--quick] [--json PATH]

The machine is shared: numbers are noisy, compare ratios rather than absolute values.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "instagram_scraper"))

import ig_fixtures as fx
from b9_common.events import CreatorScraped
from b9_common.scraping.ratelimit import Budget
from b9_instagram_scraper import analytics
from b9_instagram_scraper.media import parse_media
from b9_instagram_scraper.provider import CallMeter
from b9_instagram_scraper.rapidapi import RapidApiProvider
from ig_upstream import API_KEY, FakeProvider


def bench_parse(n: int) -> tuple[float, int]:
    data = fx.bulk("carol", "5550003", 90, 30)
    rule = analytics.ViralRule()
    t0 = time.perf_counter()
    size = 0
    for _ in range(n):
        reels = [m for m in (parse_media(i, "reel", 5000) for i in data["reels"]) if m]
        posts = [m for m in (parse_media(i, "post", 5000) for i in data["posts"]) if m]
        a = analytics.compute(reels, posts, 5000, rule, fx.NOW)
        size = len(msgspec.json.encode(CreatorScraped(ig_user_id="1", username="c", reels=reels,
                                                      posts=posts, analytics=a)))
    return n / (time.perf_counter() - t0), size


async def bench_provider(creators: int) -> float:
    server = FakeProvider(page_size=12)
    server.add(fx.bulk("carol", "5550003", 90, 30))
    await server.start()
    p = RapidApiProvider(server.url, API_KEY, "h", budget=Budget(lambda: 0.0))
    meter = CallMeter()
    t0 = time.perf_counter()

    async def one() -> None:
        await p.profile("carol", meter)
        await p.reels("5550003", 90, meter)
        await p.posts("5550003", 30, meter)

    await asyncio.gather(*(one() for _ in range(creators)))
    rate = meter.calls / (time.perf_counter() - t0)
    await p.close()
    await server.stop()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    per_s, size = bench_parse(50 if args.quick else 300)
    calls_s = asyncio.run(bench_provider(10 if args.quick else 50))
    rows = [
        {"metric": "parse+analytics, creators/s (90 reels + 30 posts)", "value": round(per_s, 1),
         "unit": "creators/s", "target": 100, "baseline": None, "ratio": round(per_s / 100, 2)},
        {"metric": "provider calls/s on a local server (no pacing)", "value": round(calls_s, 1),
         "unit": "calls/s", "target": 55, "baseline": 55, "ratio": round(calls_s / 55, 2)},
        {"metric": "creator.scraped payload, 120 items", "value": size, "unit": "bytes",
         "target": 900_000, "baseline": None, "ratio": round(size / 900_000, 3)},
    ]
    for r in rows:
        print(f"{r['metric']:<55} {r['value']:>12} {r['unit']:<12} target {r['target']}")
    if args.json:
        Path(args.json).write_text(json.dumps({"name": "instagram", "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
