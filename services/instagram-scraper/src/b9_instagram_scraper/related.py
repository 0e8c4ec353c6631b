"""Related-creator discovery (reference §3): for approved creators not yet processed, the
related profiles Instagram suggests, minus the known ones, become ``creator.discovered``; the
source gets ``creator.related_processed``. Mixed into ``Scraper``, whose adapters it uses.
"""

from __future__ import annotations

import time
from typing import Literal

from b9_common.events import CreatorDiscovered, RelatedProcessed
from b9_common.events.control import InstagramControl
from b9_common.scraping.control import ControlWatch

from b9_instagram_scraper.directory import CreatorDirectory, TrackedCreator
from b9_instagram_scraper.growth import CreatorState
from b9_instagram_scraper.ports import EventSink, KnownLike, Result, StateLike, failed
from b9_instagram_scraper.provider import (
    CallMeter,
    InstagramProvider,
    ProfileNotFound,
    ProviderError,
)


class RelatedDiscovery:
    """The discovery half of ``Scraper`` (which provides these adapters)."""

    provider: InstagramProvider
    sink: EventSink
    state: StateLike
    known: KnownLike
    directory: CreatorDirectory
    control: ControlWatch[InstagramControl]

    async def _attempted(
        self,
        kind: Literal["creator", "related"],
        target: str,
        res: Result,
        t0: float,
        cycle: int | None,
    ) -> None:
        raise NotImplementedError

    async def resolve(self, username: str, priority: bool) -> tuple[TrackedCreator | None, Result]:
        """A source given by username only: one profile call for its id."""
        t0, meter = time.monotonic(), CallMeter(priority=priority)
        try:
            p = await self.provider.profile(username, meter)
        except ProviderError as exc:
            res = failed(exc, meter)
            await self._attempted("related", username, res, t0, None)
            return None, res
        return TrackedCreator(p.ig_user_id, p.username), Result("success", calls=meter.calls)

    async def discover_related(
        self,
        source: TrackedCreator,
        *,
        priority: bool = False,
        cycle: int | None = None,
        calls_before: int = 0,
    ) -> Result:
        t0 = time.monotonic()
        meter = CallMeter(priority=priority, calls=calls_before)
        try:
            res = await self._discover(source, meter)
        except ProviderError as exc:
            res = failed(exc, meter)
        await self._attempted("related", source.username, res, t0, cycle)
        return res

    async def _discover(self, source: TrackedCreator, meter: CallMeter) -> Result:
        names = [
            n
            for n in await self.provider.related(source.ig_user_id, meter)
            if n.lower() != source.username.lower()
        ]
        known = await self.directory.known_usernames(names) | await self.known.known(names)
        new = 0
        for name in names:
            if name.lower() in known:
                continue
            try:
                p = await self.provider.profile(name, meter)
            except ProfileNotFound:
                continue
            if await self.directory.known_ids([p.ig_user_id]):
                await self.known.add(p.username, p.ig_user_id)
                continue
            await self.sink.publish(
                CreatorDiscovered(
                    username=p.username,
                    ig_user_id=p.ig_user_id,
                    via_username=source.username,
                    full_name=p.full_name,
                    followers_count=p.followers_count,
                    profile_pic_url=p.profile_pic_url,
                ),
                id_=f"ig-discovered-{p.ig_user_id}",
            )
            await self.known.add(p.username, p.ig_user_id)
            new += 1
        await self.sink.publish(
            RelatedProcessed(
                ig_user_id=source.ig_user_id, username=source.username, found=len(names), new=new
            )
        )

        def mark(s: CreatorState) -> None:
            s.related_processed = True
            s.username = s.username or source.username

        await self.state.update(source.ig_user_id, mark)
        return Result(
            "success",
            calls=meter.calls,
            ig_user_id=source.ig_user_id,
            stats={"found": len(names), "new": new},
        )

    async def pending_sources(self, limit: int) -> list[TrackedCreator]:
        """Approved, unprocessed sources, minus those this scraper already processed."""
        out: list[TrackedCreator] = []
        for c in await self.directory.related_pending(limit * 2 + 10):
            st, _ = await self.state.get(c.ig_user_id)
            if not st.related_processed:
                out.append(c)
            if len(out) >= limit:
                break
        return out
