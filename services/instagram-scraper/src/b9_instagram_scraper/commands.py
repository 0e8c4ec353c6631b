"""The ``scrape.requested.instagram`` command handler: manual add and related discovery, now.

Commands go first: while one runs the cycle starts no new creator (``CommandsFirst``) and its
provider calls jump the request budget's queue. Transient provider failures nak the command
with a delay (DLQ after max deliveries); a missing or private creator is an answer, not an error.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, cast

from b9_common.errors import Reject, Retry
from b9_common.events import Envelope, InstagramScrapeRequested, ScrapeAttempted
from b9_common.events.ops import Outcome, Reason
from b9_common.ops import requests
from b9_common.ops.requests import Reporter
from b9_common.scraping.gate import CommandsFirst

from b9_instagram_scraper.ports import Result, why_of
from b9_instagram_scraper.provider import InstagramProvider
from b9_instagram_scraper.scrape import Scraper

log = logging.getLogger(__name__)
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
RETRY_DELAY = 30.0
RELATED_LINKS = {"api": "/api/v1/creators/related/status"}


def normalize_username(raw: str) -> str | None:
    name = raw.strip()
    name = (
        re.sub(r"^(https?://)?(www\.)?instagram\.com/", "", name, flags=re.I).strip("/").lstrip("@")
    )
    return name.lower() if _USERNAME.match(name) else None


def _retry_if_transient(res: Result) -> None:
    if res.transient:
        raise Retry(res.error or res.outcome, delay=max(RETRY_DELAY, res.retry_after or 0.0))


class CommandHandler:
    """A command with a ``request_id`` (a person follows it) is reported through ``reporter``:
    running, then done (with the creator / the counts of a related run) or failed with the
    reason; a transient failure keeps it queued with its reason while the command is retried."""

    def __init__(self, scraper: Scraper, provider: InstagramProvider, gate: CommandsFirst,
                 reporter: Reporter | None = None) -> None:
        self.scraper, self.provider, self.gate = scraper, provider, gate
        self.report = reporter or Reporter(None)

    async def __call__(self, env: Envelope[InstagramScrapeRequested]) -> None:
        cmd = env.data
        async with self.gate.command():
            with requests.scope(cmd.request_id, cmd.kind, (cmd.username or "").lstrip("@")):
                await self._handle(cmd)

    async def _refuse(
        self, cmd: InstagramScrapeRequested, outcome: str, error: str, reason: Reason = "not_found"
    ) -> None:
        await self.scraper.sink.publish(
            ScrapeAttempted(
                scraper="instagram",
                target_kind="creator" if cmd.kind == "creator" else "related",
                target=(cmd.username or cmd.kind)[:200] or "?",
                outcome=cast(Outcome, outcome),
                error=error,
                replica=self.scraper.replica or None,
                reason=reason,
                message=error,
                request_id=cmd.request_id,
            )
        )
        self.scraper._count(outcome)
        await self.report.set(cmd.request_id, "failed", reason=reason, message=error)

    async def _ended(self, cmd: InstagramScrapeRequested, res: Result, result: dict[str, Any]) -> None:
        """Report how the request ended (or that it waits), then retry a transient failure."""
        if res.outcome == "success":
            await self.report.set(cmd.request_id, "done", result=result)
            return
        why = why_of(res)
        fields = {"reason": why.reason if why else res.outcome, "message": why.message if why else res.error,
                  "http_status": why.http_status if why else None}
        if res.transient:
            await self.report.set(cmd.request_id, "queued", **fields)
            _retry_if_transient(res)
        await self.report.set(cmd.request_id, "failed", result={"outcome": res.outcome}, **fields)

    async def _handle(self, cmd: InstagramScrapeRequested) -> None:
        if not self.provider.configured:
            await self._refuse(cmd, "not_configured", "INSTAGRAM_API_KEY is not set", "not_configured")
            return
        username = normalize_username(cmd.username) if cmd.username else None
        if cmd.username and username is None:
            await self._refuse(cmd, "failed", f"invalid username {cmd.username!r}")
            raise Reject(f"invalid Instagram username {cmd.username!r}")
        await self.report.set(cmd.request_id, "running")
        t0 = time.monotonic()
        if cmd.kind == "creator":
            if username is None:
                await self._refuse(cmd, "failed", "creator command without a username")
                raise Reject("creator command without a username")
            res = await self.scraper.scrape_creator(
                username, priority=True, requested=True, niche=cmd.niche, discovery_source="manual"
            )
            log.info(
                "manual add %s: %s (%d calls, %.1fs)",
                username,
                res.outcome,
                res.calls,
                time.monotonic() - t0,
            )
            key = res.ig_user_id or username
            await self._ended(cmd, res, {"outcome": res.outcome, "username": username, "ig_user_id": res.ig_user_id,
                                         "api": f"/api/v1/creators/{key}"})
            return
        if username is not None:
            source, first = await self.scraper.resolve(username, priority=True)
            if source is None:
                await self._ended(cmd, first, {})
                return
            res = await self.scraper.discover_related(source, priority=True, calls_before=first.calls)
            await self._ended(cmd, res, {"sources": 1, **res.stats, **RELATED_LINKS})
            return
        transient: Result | None = None
        totals: dict[str, int] = {"sources": 0, "found": 0, "new": 0}
        for source in await self.scraper.pending_sources(cmd.batch_size):
            res = await self.scraper.discover_related(source, priority=True)
            if res.transient:
                transient = res
                break  # the provider is struggling: stop, the redelivery continues where we left
            totals["sources"] += 1
            for k in ("found", "new"):
                totals[k] += int(res.stats.get(k, 0))
        if transient is not None:
            await self._ended(cmd, transient, {})
        await self.report.set(cmd.request_id, "done", result={"outcome": "success", **totals, **RELATED_LINKS})
