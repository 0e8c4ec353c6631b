"""The continuous cycle over approved creators, shared by every replica.

Each pass lists the approved creators (shuffled, as the original did) and, for each one that
this replica manages to claim (``Claims``: due when never done or done longer than
``interval_seconds`` ago), scrapes it, with at most ``batch_size`` at a time
(b9_common.scraping.cycle.run_claimed). Commands first: no creator starts while a command
runs. ``enabled``/``batch_size``/budget changes apply at once: disabling cancels the creators
in flight and the loop sleeps until the next change. Between passes it waits
``idle_seconds`` or until the control changes: it never spins.
"""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import suppress

from b9_common.events.control import InstagramControl
from b9_common.ops import tracing
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.cycle import run_claimed
from b9_common.scraping.gate import CommandsFirst

from b9_instagram_scraper.directory import CreatorDirectory, TrackedCreator
from b9_instagram_scraper.kvstate import Claims
from b9_instagram_scraper.scrape import Scraper

log = logging.getLogger(__name__)
MAX_CREATORS = 100_000
DONE_OUTCOMES = {"success", "private", "not_found"}
RELATED_INTERVAL = 7 * 86_400.0  # a creator's related discovery runs again after a week


class Cycle:
    def __init__(
        self,
        scraper: Scraper,
        directory: CreatorDirectory,
        claims: Claims,
        control: ControlWatch[InstagramControl],
        gate: CommandsFirst,
        *,
        configured: bool,
        idle_seconds: float = 60.0,
    ) -> None:
        self.scraper, self.directory, self.claims = scraper, directory, claims
        self.control, self.gate, self.configured = control, gate, configured
        self.idle_seconds = idle_seconds
        self.cycle = 0
        self.state = "starting"
        self.scraped_this_pass = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        if not self.configured:
            self.state = "not_configured"
            log.warning(
                "INSTAGRAM_API_KEY is not set: the cycle stays idle (commands are answered)"
            )
            await asyncio.Event().wait()  # until the service stops; no polling
        while True:
            if not self.control.enabled:
                self.state = "disabled"
                await self.control.wait_changed()
                continue
            self.state = "running"
            try:
                started = await self.run_pass()
            except ScraperDisabled:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("cycle pass failed")
                started = 0
            if started == 0:
                self.state = "idle"
                await self.control.wait_changed(self.idle_seconds)

    async def run_pass(self) -> int:
        self.cycle += 1
        self.scraped_this_pass = 0
        creators = await self.directory.approved(MAX_CREATORS)
        random.shuffle(creators)
        started = await run_claimed(
            creators, control=self.control, gate=self.gate, cancel_on_disable=True,
            claim=lambda c: self.claims.try_claim(c.ig_user_id, self.control.config.interval_seconds),
            work=self._one,
        )
        started += await self._related()
        if started:
            log.info(
                "cycle pass done",
                extra={"cycle": self.cycle, "started": started, "approved": len(creators)},
            )
        return started

    async def _one(self, c: TrackedCreator) -> None:
        ok = False
        try:
            with tracing.span("scrape creator", {"b9.creator": c.username, "b9.cycle": self.cycle}):
                res = await self.scraper.scrape_creator(c.username, cycle=self.cycle)
            ok = res.outcome in DONE_OUTCOMES
            self.scraped_this_pass += 1
        except asyncio.CancelledError:
            log.info("scrape of %s stopped (scraper disabled)", c.username)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("scraping %s failed", c.username)
        finally:
            with suppress(Exception):
                await asyncio.shield(self.claims.finish(c.ig_user_id, ok))

    async def _related(self) -> int:
        n = self.control.config.related_per_cycle
        if n <= 0:
            return 0
        done = 0
        for source in await self.scraper.pending_sources(n):
            await self.gate.wait_idle()
            if not self.control.enabled:
                break
            if await self.claims.try_claim(f"related-{source.ig_user_id}", RELATED_INTERVAL):
                res = await self.scraper.discover_related(source, cycle=self.cycle)
                await self.claims.finish(f"related-{source.ig_user_id}", res.outcome == "success")
                done += 1
        return done
