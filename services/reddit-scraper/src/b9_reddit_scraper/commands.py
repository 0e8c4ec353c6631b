"""On-demand work from COMMANDS ``scrape.requested.reddit``, served ahead of the cycle."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from b9_common.errors import Retry
from b9_common.events import Envelope, RedditScrapeRequested
from b9_common.events.control import RedditControl
from b9_common.ops import requests
from b9_common.ops.requests import Reporter
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.gate import CommandsFirst

from b9_reddit_scraper.scraper import Scraper

log = logging.getLogger(__name__)

RETRY_WHEN_DISABLED = 30.0
RETRY_RATE_LIMITED = 30.0
DISABLED_MESSAGE = "the Reddit scraper is stopped: the request waits until it is started"


def command_handler(scraper: Scraper, control: ControlWatch[RedditControl], priority: CommandsFirst,
                    claim_discovered: Callable[[str], Awaitable[bool]] | None = None,
                    requested: Callable[[str], Awaitable[None]] | None = None,
                    reporter: Reporter | None = None,
                    ) -> Callable[[Envelope[Any]], Awaitable[None]]:
    """``requested(name)`` marks a subreddit a person asked for (the discovery claim), so no
    replica records it as discovered or fetches it again for discovery.

    A command with a ``request_id`` (a person follows it) is reported through ``reporter``:
    running, then done, or failed with the attempt's reason. It is not retried when the
    attempt failed (the person sees why and may ask again); a spent budget or a stopped
    scraper keeps it queued (with that reason) and retries it as before."""
    report = reporter or Reporter(None)

    async def handle(env: Envelope[Any]) -> None:
        cmd: RedditScrapeRequested = env.data
        rid = cmd.request_id
        if not control.enabled:
            await report.set(rid, "queued", reason="disabled", message=DISABLED_MESSAGE,
                             estimated_start=None)
            raise Retry("reddit scraper disabled", delay=RETRY_WHEN_DISABLED)
        await report.set(rid, "running")
        try:
            with requests.scope(rid, cmd.kind, cmd.name) as scope:
                async with priority.command():
                    if cmd.kind == "subreddit":
                        if requested is not None:
                            await requested(cmd.name)
                        rep = await scraper.refresh_subreddit(cmd.name, "full", requested=True,
                                                              claim=claim_discovered)
                        outcome, name = rep.outcome, rep.name
                    else:
                        urep = await scraper.fetch_user(cmd.name, requested=True, discover=True)
                        outcome, name = urep.outcome, urep.name
        except ScraperDisabled as exc:
            await report.set(rid, "queued", reason="interrupted", message=DISABLED_MESSAGE)
            raise Retry("reddit scraper disabled", delay=RETRY_WHEN_DISABLED) from exc
        log.info("command served", extra={"kind": cmd.kind, "target": cmd.name, "outcome": outcome})
        if outcome == "success":
            await report.set(rid, "done", result={"outcome": outcome, "kind": cmd.kind, "name": name,
                                                  **links(cmd.kind, name)})
            return
        if outcome == "rate_limited":
            start = datetime.now(UTC) + timedelta(seconds=RETRY_RATE_LIMITED)
            await report.set(rid, "queued", **requests.failure_fields(scope.attempt, outcome),
                             estimated_start=start.isoformat().replace("+00:00", "Z"))
        elif rid is not None:
            await report.set(rid, "failed", result={"outcome": outcome},
                             **requests.failure_fields(scope.attempt, outcome))
            return
        if outcome in ("rate_limited", "failed"):
            # the attempt is already reported; try again later rather than lose the request
            raise Retry(f"{cmd.kind} {cmd.name}: {outcome}", delay=RETRY_RATE_LIMITED)

    return handle


def links(kind: str, name: str) -> dict[str, str]:
    """Where the result is (the API route)."""
    path = "subreddits" if kind == "subreddit" else "users"
    return {"api": f"/api/v1/{path}/{name}"}  # the gateway adds the dashboard page
