"""Overview stats for the dashboard: counts, today's scrapes, cost, DLQ depth, stream rates, lag.

Computed at most once per GATEWAY_OVERVIEW_TTL seconds per process. Events/s per stream is
the growth of the stream's last sequence between two samples at least a second apart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from b9_common.jetstream.topology import STREAMS
from b9_readmodel import overview as rm
from fastapi import APIRouter, Depends

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON
from b9_gateway.openapi import doc

router = APIRouter(tags=["overview"])
_samples: dict[str, tuple[float, int, float]] = {}  # stream -> (t, last_seq, rate)


class StreamStat(msgspec.Struct):
    stream: str
    messages: int
    bytes: int
    last_seq: int
    events_per_second: float
    consumers: list[dict[str, Any]]


class ScraperToday(msgspec.Struct):
    attempts: int
    successes: int
    success_rate: float | None
    calls: int
    cost_usd: float


class Overview(msgspec.Struct):
    counts: dict[str, int]
    subreddits_by_review: dict[str, int]
    creators_by_review: dict[str, int]
    scrapers_today: dict[str, ScraperToday]
    categorization_cost_today_usd: float
    dlq_depth: int
    streams: list[StreamStat]
    generated_at: float


async def _db(deps: Deps) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        got = await rm.overview(conn)
    counts, by_review, by_creator = dict(got.counts), got.subreddits_by_review, got.creators_by_review
    daily, cat_cost = got.scrapers_today, got.categorization_cost_today
    scrapers: dict[str, Any] = {}
    for s in ("reddit", "instagram"):
        r = next((d for d in daily if d["scraper"] == s), None)
        attempts, ok = (int(r["attempts"] or 0), int(r["ok"] or 0)) if r else (0, 0)
        scrapers[s] = {
            "attempts": attempts,
            "successes": ok,
            "success_rate": round(100.0 * ok / attempts, 2) if attempts else None,
            "calls": int(r["calls"] or 0) if r else 0,
            "cost_usd": round(r["cost"] or 0.0, 6) if r else 0.0,
        }
    return {
        "counts": {k: int(v or 0) for k, v in counts.items()},
        "subreddits_by_review": {r["r"]: int(r["n"]) for r in by_review},
        "creators_by_review": {r["r"]: int(r["n"]) for r in by_creator},
        "scrapers_today": scrapers,
        "categorization_cost_today_usd": round(float(cat_cost or 0), 6),
    }


async def _stream(deps: Deps, name: str) -> dict[str, Any]:
    stream = deps.topology.stream(name)
    info = await deps.js.stream_info(stream)
    now, last_seq = time.monotonic(), int(info.state.last_seq)
    prev = _samples.get(stream)
    rate = 0.0
    if prev is None or now - prev[0] >= 1.0:
        if prev is not None and now > prev[0]:
            rate = max(0.0, (last_seq - prev[1]) / (now - prev[0]))
        _samples[stream] = (now, last_seq, rate)
    else:
        rate = prev[2]
    consumers = []
    for c in await deps.js.consumers_info(stream):
        consumers.append(
            {
                "name": c.name,
                "pending": int(c.num_pending or 0),
                "ack_pending": int(c.num_ack_pending or 0),
                "redelivered": int(c.num_redelivered or 0),
                "lag": int(c.num_pending or 0) + int(c.num_ack_pending or 0),
            }
        )
    return {
        "stream": stream,
        "messages": int(info.state.messages),
        "bytes": int(info.state.bytes),
        "last_seq": last_seq,
        "events_per_second": round(rate, 2),
        "consumers": consumers,
    }


async def compute(deps: Deps) -> dict[str, Any]:
    db, *streams = await asyncio.gather(_db(deps), *(_stream(deps, s) for s in STREAMS))
    dlq = next(s for s in streams if s["stream"] == deps.topology.stream("DLQ"))
    return {**db, "dlq_depth": dlq["messages"], "streams": streams, "generated_at": time.time()}


@router.get("/overview", responses=doc(Overview), summary="Dashboard overview (cached a few seconds)")
async def overview(deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(await deps.cache.get("overview", lambda: compute(deps)))
