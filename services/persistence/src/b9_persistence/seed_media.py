"""The seed's media origin: a loopback HTTP server that `b9 seed` runs while the real media
service fetches the URLs the latest creator scrapes carry.

Paths (see ``seed_instagram``): ``profile/<ig_user_id>.jpg`` and ``thumb/<media_pk>.jpg``
(JPEGs drawn with Pillow, different per path so content-addressed storage keeps them apart)
and ``video/<media_pk>.mp4`` (a 1.5 s H.264 clip made by ffmpeg's ``testsrc2``). Content is
made on first request and kept in memory. ``MediaOutcomes`` counts the ``media.stored`` /
``media.failed`` answers for those URLs, so `b9 seed` can say what happened and stop the
origin only when the media service is done with it (or the wait runs out).

The media service refuses loopback and plain http by default (SSRF guard). `b9 up` reserves
a port for this origin (``seed_media_port`` in its stack.json) and names exactly that origin,
``http://127.0.0.1:<port>``, in its media service's ``MEDIA_ALLOWED_ORIGINS``: nothing else on
loopback or over http is allowed. Another media service needs the same setting for the port
`b9 seed` is given; otherwise the outcomes are ``media.failed`` (``blocked_*``) and `b9 seed`
says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

log = logging.getLogger(__name__)
PALETTE = ((233, 84, 110), (82, 142, 229), (91, 190, 140), (245, 177, 66), (151, 102, 216), (40, 40, 56))


def draw_jpeg(key: str, size: tuple[int, int]) -> bytes:
    """A gradient, a few discs and bars, seeded by ``key``: small, distinct, obviously synthetic."""
    from PIL import Image, ImageDraw

    h = hashlib.sha256(key.encode()).digest()
    w, ht = size
    a, b = PALETTE[h[0] % len(PALETTE)], PALETTE[h[1] % len(PALETTE)]
    img = Image.linear_gradient("L").resize(size)
    img = Image.merge("RGB", [img.point(lambda v, i=i: a[i] + (b[i] - a[i]) * v // 255) for i in range(3)])
    d = ImageDraw.Draw(img)
    for k in range(4):
        x, y, r = h[2 + k] * w // 256, h[6 + k] * ht // 256, 12 + h[10 + k] % (w // 4)
        d.ellipse((x - r, y - r, x + r, y + r), fill=PALETTE[h[14 + k] % len(PALETTE)])
    d.rectangle((0, ht - ht // 6, w, ht), fill=(20, 20, 28))
    d.text((10, ht - ht // 8), key.rsplit("/", 1)[-1], fill=(240, 240, 240))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def make_clip(seconds: float = 1.5) -> bytes:
    """A short H.264 clip with a sine tone (ffmpeg from FFMPEG_BINARY's usual source, imageio-ffmpeg)."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory(prefix="b9-seed-") as tmp:
        out = Path(tmp) / "clip.mp4"
        proc = await asyncio.create_subprocess_exec(
            imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=360x640:rate=24:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-c:a", "aac", "-shortest",
            str(out), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"ffmpeg failed: {err.decode(errors='replace')[-300:]}")
        return out.read_bytes()


class MediaOrigin:
    """``async with MediaOrigin(port) as origin``: serves on ``origin.base`` (http://127.0.0.1:PORT/seed;
    port 0: any free one). A port that is taken raises OSError."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.cache: dict[str, bytes] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.served = 0
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def _get(self, request: web.Request) -> web.StreamResponse:
        kind, name = request.match_info["kind"], request.match_info["name"]
        key = f"{kind}/{name}"
        if kind not in ("profile", "thumb", "video"):
            raise web.HTTPNotFound()
        async with self.locks.setdefault(key, asyncio.Lock()):
            if key not in self.cache:
                if kind == "video":
                    self.cache[key] = await make_clip()
                else:
                    size = (320, 320) if kind == "profile" else (360, 640)
                    self.cache[key] = await asyncio.to_thread(draw_jpeg, key, size)
        self.served += 1
        ctype = "video/mp4" if kind == "video" else "image/jpeg"
        return web.Response(body=self.cache[key], content_type=ctype)

    async def __aenter__(self) -> MediaOrigin:
        app = web.Application()
        app.router.add_get("/seed/{kind}/{name}", self._get)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port)
        try:
            await site.start()
        except OSError:
            await self.runner.cleanup()
            raise
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/seed"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.runner:
            await self.runner.cleanup()


class MediaOutcomes:
    """Counts media.stored / media.failed for the seed's URLs (core NATS subscriptions)."""

    def __init__(self, nc: Any, subject_of: Any) -> None:
        self.nc, self.subject_of = nc, subject_of
        self.stored: set[str] = set()
        self.failed: dict[str, str] = {}
        self.base = ""
        self.subs: list[Any] = []
        self.changed = asyncio.Event()

    async def start(self, base: str) -> None:
        self.base = base
        for t in ("media.stored", "media.failed"):
            self.subs.append(await self.nc.subscribe(self.subject_of(t), cb=self._on))

    async def _on(self, msg: Any) -> None:
        with contextlib.suppress(Exception):
            data = msgspec.json.decode(msg.data)["data"]
            url = data.get("source_url", "")
            if not url.startswith(self.base):
                return
            if "reason" in data:
                self.failed[url] = data["reason"]
            else:
                self.stored.add(url)
                self.failed.pop(url, None)
            self.changed.set()

    async def wait(self, urls: list[str], within: float) -> bool:
        """True when every URL has an outcome (stored, or failed for a reason) within ``within`` s."""
        want = set(urls)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not want <= (self.stored | set(self.failed)):
            left = deadline - loop.time()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        return True

    def reasons(self) -> Counter[str]:
        return Counter(self.failed.values())

    async def stop(self) -> None:
        for s in self.subs:
            with contextlib.suppress(Exception):
                await s.unsubscribe()
