"""The ``scrape.requested.instagram`` command handler: manual add and related discovery, now.

Commands go first: while one runs the cycle starts no new creator (``CommandGate``) and its
provider calls jump the rate limiter's queue. Transient provider failures nak the command
with a delay (DLQ after max deliveries); a missing or private creator is an answer, not an error.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import cast

from b9_common.errors import Reject, Retry
from b9_common.events import Envelope, InstagramScrapeRequested, ScrapeAttempted
from b9_common.events.ops import Outcome, Reason

from b9_instagram_scraper.ports import Result
from b9_instagram_scraper.provider import InstagramProvider
from b9_instagram_scraper.scrape import Scraper

log = logging.getLogger(__name__)
_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
RETRY_DELAY = 30.0


class CommandGate:
    def __init__(self) -> None:
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.active += 1
        self._idle.clear()

    def leave(self) -> None:
        self.active -= 1
        if self.active <= 0:
            self.active = 0
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()


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
    def __init__(self, scraper: Scraper, provider: InstagramProvider, gate: CommandGate) -> None:
        self.scraper, self.provider, self.gate = scraper, provider, gate

    async def __call__(self, env: Envelope[InstagramScrapeRequested]) -> None:
        self.gate.enter()
        try:
            await self._handle(env.data)
        finally:
            self.gate.leave()

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
            )
        )
        self.scraper._count(outcome)

    async def _handle(self, cmd: InstagramScrapeRequested) -> None:
        if not self.provider.configured:
            await self._refuse(cmd, "not_configured", "INSTAGRAM_API_KEY is not set", "not_configured")
            return
        username = normalize_username(cmd.username) if cmd.username else None
        if cmd.username and username is None:
            await self._refuse(cmd, "failed", f"invalid username {cmd.username!r}")
            raise Reject(f"invalid Instagram username {cmd.username!r}")
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
            _retry_if_transient(res)
            return
        if username is not None:
            source, first = await self.scraper.resolve(username, priority=True)
            if source is None:
                _retry_if_transient(first)
                return
            _retry_if_transient(
                await self.scraper.discover_related(source, priority=True, calls_before=first.calls)
            )
            return
        transient: Result | None = None
        for source in await self.scraper.pending_sources(cmd.batch_size):
            res = await self.scraper.discover_related(source, priority=True)
            if res.transient:
                transient = res
                break  # the provider is struggling: stop, the redelivery continues where we left
        if transient is not None:
            _retry_if_transient(transient)
