"""Entry point: ``SERVICE`` for the runner, ``main()`` for the console script."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from b9_common.events.control import RedditControl, control_key
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops import tracing
from b9_common.ops.requests import Reporter, open_book
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget, follow_budget
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run
from nats.js.api import KeyValueConfig

from b9_reddit_scraper import __version__
from b9_reddit_scraper.client import RedditClient
from b9_reddit_scraper.commands import command_handler
from b9_reddit_scraper.cycle import CycleRunner
from b9_reddit_scraper.pending import PendingCommands
from b9_reddit_scraper.ratelimit import HeaderPacer
from b9_reddit_scraper.scraper import Scraper
from b9_reddit_scraper.settings import Settings
from b9_reddit_scraper.tracked import TrackedSource, open_tracked

log = logging.getLogger(__name__)

NAME = "reddit-scraper"
STATE_BUCKET = "reddit_scraper"
STATE_TTL = 2 * 86_400.0
COMMANDS = ConsumerSpec(
    name="reddit-scraper-commands", stream="COMMANDS", subjects=("scrape.requested.reddit",),
    # a disabled scraper naks commands for 30 s at a time: 20 deliveries keep them ~10 minutes
    # before they go to DLQ with the reason (replayable from there)
    max_deliver=20, ack_wait=120.0, max_ack_pending=8,
    description="On-demand subreddit analysis and user discovery",
)


async def state_kv(rt: Runtime) -> Any:
    from b9_common.jetstream.topology import ensure_kv

    return await ensure_kv(rt.js, KeyValueConfig(
        bucket=rt.topology.bucket(STATE_BUCKET), history=1, ttl=STATE_TTL,
        replicas=rt.topology.replicas,
        description="reddit-scraper: shared request budget, cycle number, per-cycle claims",
    ))


def _public(url: str) -> str:
    """scheme://host[:port]/path of a URL (never a user:password part or a query)."""
    u = urlsplit(url)
    return f"{u.scheme}://{u.hostname}{f':{u.port}' if u.port else ''}{u.path}"


def log_endpoints(settings: Settings) -> None:
    """One line at start-up: where requests go and where the OAuth token comes from (with
    REDDIT_API_BASE overridden and no REDDIT_TOKEN_URL, the token URL follows the base)."""
    log.info("reddit endpoints: api %s, token %s", _public(settings.api_base),
             _public(settings.token_url) if settings.oauth else "none (public mode, no OAuth)",
             extra={"api_base": _public(settings.api_base),
                    "token_url": _public(settings.token_url) if settings.oauth else None})


async def bootstrap(settings: Settings, rt: Runtime, *,
                    tracked: TrackedSource | None = None) -> App:
    log_endpoints(settings)
    control = ControlWatch(RedditControl())
    control_loop = await control.follow(await rt.topology.control_kv(rt.js), control_key("reddit"))
    kv = await state_kv(rt)
    pool = None
    if tracked is None:
        tracked, pool = await open_tracked(settings.database_url)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=32, ttl_dns_cache=300),
        headers={"User-Agent": settings.reddit_user_agent.strip()},
        trace_configs=tracing.upstream_trace_configs("reddit"),
    )
    follow_budget(control, "reddit", lambda c: c.requests_per_minute)
    pacer = HeaderPacer()
    # shared by every replica in the state bucket; a disable ends the wait (commands nak then)
    budget = Budget(lambda: control.config.requests_per_minute / 60.0, control=control, kv=kv,
                    stop_when_disabled=True)
    priority = CommandsFirst()
    client = RedditClient(session, settings, control, pacer, budget, priority)
    pending = PendingCommands(rt.js, rt.topology)
    scraper = Scraper(client, rt.publisher, tracked, settings, replica=rt.replica,
                      pending=pending.names)
    cycle = CycleRunner(scraper, tracked, control, kv, replica=rt.replica)

    def waiting_for_budget() -> bool:
        """Blocked by a 429 / a spent header window, or the shared budget has no token left."""
        return pacer.blocked_until > time.monotonic() or budget.exhausted()

    def status() -> dict[str, Any]:
        running = "waiting_for_budget" if waiting_for_budget() else "running"
        return {
            "status": running if control.enabled else "disabled",
            "enabled": control.enabled, **cycle.status(),
            "commands_in_progress": priority.active,
            "calls_total": client.stats.calls, "calls_today": client.stats.calls_today,
            "budget": {"requests_per_minute": control.config.requests_per_minute,
                       "shared_tokens": budget.tokens_seen, **pacer.snapshot()},
            "outcomes": dict(scraper.outcomes), "mode": "oauth" if settings.oauth else "public",
        }

    async def close() -> None:
        await session.close()
        if pool is not None:
            await pool.close()

    return App(
        consumers=[ConsumerDef(COMMANDS, handler=command_handler(
            scraper, control, priority, cycle.claim_discovered, cycle.mark_requested,
            Reporter(await open_book(rt.js, rt.topology), rt.replica)), batch=4, concurrency=4)],
        loops=[control_loop, cycle.run], closers=[close], status=status,
    )


SERVICE = ServiceDef(name=NAME, version=__version__, settings_cls=Settings, bootstrap=bootstrap)


def main() -> None:
    run(SERVICE)


if __name__ == "__main__":
    main()
