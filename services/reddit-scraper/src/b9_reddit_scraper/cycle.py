"""The continuous cycle over tracked subreddits, shared by every replica.

State in the scraper's own KV bucket (``reddit_scraper``, entries expire after 2 days):

- ``cycle``: ``{"number": n, "prev_finished_at": t}``; the replica that runs out of work first
  advances it with ``kv.update(last=revision)`` (exactly one wins);
- ``c<n>.<name>``: a claim made with ``kv.create`` — only one replica refreshes a subreddit
  in cycle n; a claim whose refresh was interrupted (disable, shutdown) is deleted again;
- ``d.<name>``: a discovered subreddit's claim (discovered and fetched once across replicas),
  also taken by a command for the name (a subreddit a person asked for is not discovered).

Cycle n+1 starts ``interval_seconds`` after cycle n ran out of work (read at once when the
control value changes). Subreddits go stalest first; ``batch_size`` refreshes run at a time
(b9_common.scraping.cycle.run_claimed). A disable lets the refreshes in flight end by
themselves: each reports the calls it made (``scrape.attempted``) before it stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import msgspec
from b9_common.events.control import RedditControl
from b9_common.ops import tracing
from b9_common.scraping import claims
from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.cycle import run_claimed
from b9_common.scraping.gate import CommandsFirst
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from b9_reddit_scraper.scraper import Scraper
from b9_reddit_scraper.tracked import Tracked, TrackedSource

log = logging.getLogger(__name__)

CYCLE_KEY = "cycle"
MAX_TRACKED = 200_000


class CycleState(msgspec.Struct):
    number: int = 1
    prev_finished_at: float = 0.0


class CycleRunner:
    def __init__(self, scraper: Scraper, tracked: TrackedSource,
                 control: ControlWatch[RedditControl], kv: KeyValue, *, replica: str) -> None:
        self.scraper = scraper
        self.tracked = tracked
        self.control = control
        self.kv = kv
        self.replica = replica
        self.cycle = 0
        self.position = 0
        self.total = 0
        self.refreshed = 0
        self.state = "starting"

    def status(self) -> dict[str, Any]:
        return {"cycle": self.cycle, "position": self.position, "total": self.total,
                "refreshed_by_me": self.refreshed, "cycle_state": self.state}

    # -- claims ------------------------------------------------------------------------
    async def claim(self, key: str) -> bool:
        return await claims.take(self.kv, key, self.replica.encode())

    async def release(self, key: str) -> None:
        await claims.release(self.kv, key)

    async def claim_discovered(self, name: str) -> bool:
        return await self.claim(f"d.{name.lower()}")

    async def mark_requested(self, name: str) -> None:
        """A person asked for ``name``: take its discovery claim (whoever held it)."""
        try:
            await self.kv.put(f"d.{name.lower()}", b"requested")
        except Exception as exc:  # the stream read and persistence still know the name
            log.warning("could not mark %s requested: %s", name, exc)

    # -- cycle state ---------------------------------------------------------------------
    async def _read(self) -> tuple[CycleState, int]:
        try:
            entry = await self.kv.get(CYCLE_KEY)
            return msgspec.json.decode(entry.value or b"{}", type=CycleState), entry.revision or 0
        except (KeyNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
            state = CycleState()
            try:
                rev = await self.kv.create(CYCLE_KEY, msgspec.json.encode(state))
                return state, rev
            except KeyWrongLastSequenceError:
                entry = await self.kv.get(CYCLE_KEY)
                state = msgspec.json.decode(entry.value or b"{}", type=CycleState)
                return state, entry.revision or 0

    async def _advance(self, state: CycleState, revision: int) -> None:
        nxt = CycleState(number=state.number + 1, prev_finished_at=time.time())
        try:
            await self.kv.update(CYCLE_KEY, msgspec.json.encode(nxt), last=revision)
            log.info("cycle finished", extra={"cycle": state.number, "replica": self.replica})
        except KeyWrongLastSequenceError:
            pass  # another replica advanced it

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():  # a cancel some library call swallowed: stop
                raise asyncio.CancelledError
            try:
                if not self.control.enabled:
                    self.state = "disabled"
                    await self.control.wait_enabled()
                await self._one_cycle()
            except ScraperDisabled:
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                if me is not None and me.cancelling():
                    raise asyncio.CancelledError from None
                self.state = "error"
                log.exception("cycle step failed; retrying in 5 s")
                await asyncio.sleep(5)

    async def _one_cycle(self) -> None:
        state, revision = await self._read()
        wait = state.prev_finished_at + self.control.config.interval_seconds - time.time()
        if wait > 0:
            self.state = "cooldown"
            await self.control.wait_changed(min(wait, 60))  # re-read on any control change
            return
        self.cycle, self.state = state.number, "running"
        items = await self.tracked.tracked(MAX_TRACKED)
        self.total, self.position = len(items), 0
        if not items:
            self.state = "idle"
            await self.control.wait_changed(max(1.0, self.control.config.interval_seconds))
            return
        await self._run_items(state.number, items)
        await self._advance(state, revision)

    async def _run_items(self, cycle: int, items: list[Tracked]) -> None:
        def counted() -> Iterator[Tracked]:
            for item in items:
                self.position += 1
                yield item

        await run_claimed(counted(), control=self.control,
                          claim=lambda item: self.claim(_key(cycle, item)),
                          work=lambda item: self._refresh(cycle, item, _key(cycle, item)))

    async def _refresh(self, cycle: int, item: Tracked, key: str) -> None:
        CommandsFirst.background()  # its requests wait while commands run
        try:
            with tracing.span("refresh subreddit", {"b9.subreddit": item.name, "b9.cycle": cycle}):
                await self.scraper.refresh_subreddit(item.name, item.mode, cycle=cycle,
                                                     claim=self.claim_discovered)
            self.refreshed += 1
        except (ScraperDisabled, asyncio.CancelledError):
            await asyncio.shield(self.release(key))
            raise
        except Exception:
            log.exception("refresh failed", extra={"subreddit": item.name})
            await self.release(key)


def _key(cycle: int, item: Tracked) -> str:
    return f"c{cycle}.{item.name.lower()}"
