"""Event handlers: ``creator.scraped`` and ``media.requested`` -> media items -> pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from b9_common.errors import Retry, Skip
from b9_common.events import CreatorScraped, Envelope, MediaItem, MediaRequested
from b9_common.ops.requests import Reporter

from b9_media.errors import TransientError
from b9_media.pipeline import MediaPipeline, Outcome

log = logging.getLogger(__name__)


def _url_name(url: str) -> str:
    """The file name in a CDN URL: stable for one image while its signed query changes."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name[:120] or url[-120:]


def items_of_creator(c: CreatorScraped) -> list[MediaItem]:
    """The media of a scraped creator: profile picture, reels' and posts' videos and images."""
    items: list[MediaItem] = []
    owner = c.ig_user_id
    if c.profile_pic_url:
        items.append(
            MediaItem(
                url=c.profile_pic_url,
                kind="profile_picture",
                owner=owner,
                source_id=f"profile:{owner}:{_url_name(c.profile_pic_url)}",
            )
        )
    for m in [*c.reels, *c.posts]:
        if m.video_url:
            items.append(
                MediaItem(
                    url=m.video_url, kind="video", owner=owner, source_id=f"{m.media_pk}:video"
                )
            )
        if m.thumbnail_url:
            items.append(
                MediaItem(
                    url=m.thumbnail_url,
                    kind="thumbnail",
                    owner=owner,
                    source_id=f"{m.media_pk}:thumbnail",
                )
            )
        for i, url in enumerate(m.image_urls):
            items.append(
                MediaItem(url=url, kind="photo", owner=owner, source_id=f"{m.media_pk}:{i}")
            )
    return items


async def run_items(
    pipeline: MediaPipeline, items: list[MediaItem], *, announce_known: bool
) -> list[Outcome]:
    """Every item once; a transient failure of any item retries the event after the others ran
    (items already done are recognised by source id on the next delivery)."""
    unique = list({(i.kind, i.source_id): i for i in items}.values())
    results = await asyncio.gather(
        *(pipeline.handle(i, announce_known=announce_known) for i in unique), return_exceptions=True
    )
    outcomes: list[Outcome] = []
    transient: list[str] = []
    for item, res in zip(unique, results, strict=True):
        if isinstance(res, TransientError):
            transient.append(f"{item.source_id}: {res}")
        elif isinstance(res, BaseException):
            raise res
        else:
            outcomes.append(res)
    if transient:
        raise Retry(f"{len(transient)} item(s) failed transiently; first: {transient[0]}")
    return outcomes


def make_handlers(
    pipeline: MediaPipeline, reporter: Reporter | None = None,
) -> tuple[Callable[[Envelope[Any]], Awaitable[None]], Callable[[Envelope[Any]], Awaitable[None]]]:
    """A ``media.requested`` with a ``request_id`` is reported: running, then done with the
    counts per outcome (failed when every item failed), queued with the reason while a
    transient failure is retried."""
    report = reporter or Reporter(None)

    async def on_creator(env: Envelope[CreatorScraped]) -> None:
        c = env.data
        if c.availability != "ok":
            raise Skip(f"creator {c.availability}")
        items = items_of_creator(c)
        if not items:
            raise Skip("no media")
        outcomes = await run_items(pipeline, items, announce_known=False)
        if outcomes and all(o == "known" for o in outcomes):
            raise Skip("all media already stored")

    async def on_request(env: Envelope[MediaRequested]) -> None:
        rid = env.data.request_id
        await report.start(rid)
        try:
            outcomes = await run_items(pipeline, env.data.items, announce_known=True)
        except Retry as exc:
            await report.set(rid, "queued", reason="retrying", message=exc.reason)
            raise
        counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
        failed = bool(outcomes) and counts.get("failed", 0) == len(outcomes)
        await report.set(rid, "failed" if failed else "done", result=counts,
                         **({"reason": "failed", "message": "every item failed (see media.failed)"} if failed else {}))

    return on_creator, on_request
