"""Helpers for the media tests: real images and a loopback HTTP origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pyvips
from aiohttp import web
from b9_media.images import ImageSpec


@lru_cache(maxsize=2)
def photo_12mp(seed_shift: int = 0) -> bytes:
    """A 4000x3000 photo-like JPEG: colour gradients plus sensor-like noise (~4-5 MB)."""
    xy = pyvips.Image.xyz(4000, 3000)
    x, y = xy[0], xy[1]
    rgb = (x * 255 / 4000).bandjoin([y * 255 / 3000, (x + y + seed_shift) * 255 / 7000])
    noise = pyvips.Image.gaussnoise(4000, 3000, sigma=12)
    img = (rgb + noise).cast("uchar").copy(interpretation="srgb")
    out: bytes = img.jpegsave_buffer(Q=92)
    return out


def png_with_alpha() -> bytes:
    """1600x1200 red square on a fully transparent background (alpha must become white)."""
    rgb = pyvips.Image.black(1600, 1200, bands=3).linear(1, [200, 30, 30]).cast("uchar")
    xy = pyvips.Image.xyz(1600, 1200)
    inside = (xy[0] > 400) & (xy[0] < 1200) & (xy[1] > 300) & (xy[1] < 900)
    alpha = inside.ifthenelse(255, 0).cast("uchar")
    out: bytes = rgb.bandjoin(alpha).copy(interpretation="srgb").pngsave_buffer()
    return out


def cmyk_jpeg() -> bytes:
    """A 2000x1500 CMYK JPEG without a profile: mostly yellow (C=0, M=0, Y=255, K=0)."""
    img = pyvips.Image.black(2000, 1500, bands=4).linear(1, [0, 0, 255, 0]).cast("uchar")
    out: bytes = img.copy(interpretation="cmyk").jpegsave_buffer(Q=90)
    return out


def animated_gif() -> bytes:
    """Three 800x600 frames of different colours."""
    frames = [(pyvips.Image.black(800, 600, bands=3) + c).cast("uchar")
              for c in ([255, 0, 0], [0, 255, 0], [0, 0, 255])]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 600)
    out: bytes = strip.gifsave_buffer()
    return out


def bomb_png(edge: int = 20_000) -> bytes:
    """A 1-bit PNG of edge x edge pixels (400 MP by default) that weighs only kilobytes."""
    out: bytes = pyvips.Image.black(edge, edge).pngsave_buffer(bitdepth=1, compression=9)
    return out


def spec(**kw: Any) -> ImageSpec:
    return ImageSpec(**{"max_edge": 1080, "max_bytes": 300_000, **kw})


@dataclass
class Origin:
    """A loopback HTTP server with programmable routes, counting requests per path."""

    routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(
        default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    base: str = ""
    runner: web.AppRunner | None = None

    def bytes(self, path: str, data: bytes, ctype: str = "application/octet-stream") -> str:
        async def h(_: web.Request) -> web.StreamResponse:
            return web.Response(body=data, content_type=ctype)
        self.routes[path] = h
        return self.base + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        async def h(_: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})
        self.routes[path] = h
        return self.base + path

    def status(self, path: str, status: int) -> str:
        async def h(_: web.Request) -> web.StreamResponse:
            return web.Response(status=status)
        self.routes[path] = h
        return self.base + path

    def endless(self, path: str) -> str:
        """Streams zeros forever without a Content-Length."""
        async def h(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse()
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            chunk = b"\xff\xd8\xff" + bytes(64 * 1024)
            try:
                for _ in range(100_000):
                    await resp.write(chunk)
            except (ConnectionResetError, RuntimeError):
                pass
            return resp
        self.routes[path] = h
        return self.base + path

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def loopback_settings(**kw: Any) -> Any:
    """Media settings that may download from the loopback origin (tests only)."""
    from b9_media.settings import Settings

    base: dict[str, Any] = {"media_allowed_hosts": "127.0.0.1,localhost", "media_allow_http": True,
                            "media_allowed_networks": "127.0.0.1/32", "metrics_port": -1}
    return Settings(**{**base, **kw})


class Published(list[Any]):
    """Collects what the pipeline publishes."""

    async def __call__(self, payload: Any, id_: str) -> None:
        self.append((payload, id_))

    def of(self, cls: type) -> list[Any]:
        return [p for p, _ in self if isinstance(p, cls)]
