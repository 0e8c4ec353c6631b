"""`b9 seed` end to end: publish the data set and, with media, serve the generated images and
clips on loopback until the media service has answered for each (stored or failed) or
``media_wait`` seconds pass. Used by the CLI verb and by the browser acceptance test."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from b9_persistence.seed import Progress, plan, publish
from b9_persistence.seed_media import MediaOrigin, MediaOutcomes

log = logging.getLogger(__name__)
ENABLE = ("the media service refused the seed's loopback origin: `b9 up` allows exactly that origin "
          "(MEDIA_ALLOWED_ORIGINS=http://127.0.0.1:<its seed_media_port>); another media service needs "
          "MEDIA_ALLOWED_ORIGINS=http://127.0.0.1:<port> and `b9 seed --media-port <port>`")


def _media_available() -> str | None:
    try:
        import imageio_ffmpeg  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as exc:
        return f"media skipped: {exc.name} is not installed"
    return None


async def run(rt: Any, scale: str, *, progress: Progress | None = None, media: bool = True,
              media_wait: float = 120.0, now: datetime | None = None, media_port: int = 0,
              say: Callable[[str], None] = log.info) -> dict[str, int]:
    """Publish the seed through ``rt.publisher``; returns events per phase (plus ``media stored``).
    The media origin listens on ``media_port`` (0: any free port), the one the media service allows."""
    if media and (why := _media_available()):
        say(why)
        media = False
    if media:
        origin = MediaOrigin(media_port)
        try:
            await origin.__aenter__()
        except OSError as exc:
            say(f"media skipped: the seed's media port {media_port} is taken ({exc.strerror or exc})")
        else:
            try:
                return await _with_media(rt, origin, scale, progress, media_wait, now, say)
            finally:
                await origin.__aexit__()
    return await publish(plan(rt.publisher, scale, now=now), rt.publisher, progress)


async def _with_media(rt: Any, origin: MediaOrigin, scale: str, progress: Progress | None, media_wait: float,
                      now: datetime | None, say: Callable[[str], None]) -> dict[str, int]:
    outcomes = MediaOutcomes(rt.nc, rt.topology.subject)
    await outcomes.start(origin.base)
    try:
        p = plan(rt.publisher, scale, now=now, media_base=origin.base)
        counts = await publish(p, rt.publisher, progress)
        done = await outcomes.wait(p.media_urls, media_wait)
        stored, failed = len(outcomes.stored), len(outcomes.failed)
        counts["media stored"] = stored
        if not done:
            say(f"media: {stored} of {len(p.media_urls)} stored, {failed} failed after {media_wait:.0f} s "
                "(is the media service running?)")
        if failed:
            reasons = ", ".join(f"{r}: {n}" for r, n in outcomes.reasons().most_common())
            say(f"media: {failed} failed ({reasons})")
            if any(r.startswith("blocked") for r in outcomes.reasons()):
                say(ENABLE)
        return counts
    finally:
        await outcomes.stop()
