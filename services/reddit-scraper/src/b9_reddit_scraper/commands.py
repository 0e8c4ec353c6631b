"""On-demand work from COMMANDS ``scrape.requested.reddit``, served ahead of the cycle."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from b9_common.errors import Retry
from b9_common.events import Envelope, RedditScrapeRequested

from b9_reddit_scraper.control import ControlState, Priority, ScraperDisabled
from b9_reddit_scraper.scraper import Scraper

log = logging.getLogger(__name__)

RETRY_WHEN_DISABLED = 30.0


def command_handler(scraper: Scraper, control: ControlState, priority: Priority,
                    claim_discovered: Callable[[str], Awaitable[bool]] | None = None,
                    requested: Callable[[str], Awaitable[None]] | None = None,
                    ) -> Callable[[Envelope[Any]], Awaitable[None]]:
    """``requested(name)`` marks a subreddit a person asked for (the discovery claim), so no
    replica records it as discovered or fetches it again for discovery."""
    async def handle(env: Envelope[Any]) -> None:
        cmd: RedditScrapeRequested = env.data
        if not control.enabled:
            raise Retry("reddit scraper disabled", delay=RETRY_WHEN_DISABLED)
        try:
            async with priority.urgent():
                if cmd.kind == "subreddit":
                    if requested is not None:
                        await requested(cmd.name)
                    rep = await scraper.refresh_subreddit(cmd.name, "full", requested=True,
                                                          claim=claim_discovered)
                    outcome = rep.outcome
                else:
                    urep = await scraper.fetch_user(cmd.name, requested=True, discover=True)
                    outcome = urep.outcome
        except ScraperDisabled as exc:
            raise Retry("reddit scraper disabled", delay=RETRY_WHEN_DISABLED) from exc
        log.info("command served", extra={"kind": cmd.kind, "target": cmd.name, "outcome": outcome})
        if outcome in ("rate_limited", "failed"):
            # the attempt is already reported; try again later rather than lose the request
            raise Retry(f"{cmd.kind} {cmd.name}: {outcome}", delay=30.0)

    return handle
