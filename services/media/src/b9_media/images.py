"""Image compression with libvips: header check, shrink-on-load, sRGB, strip, size budget.

These functions are synchronous and CPU bound: the service runs them in ``ImageWorker``'s
thread pool (libvips releases the GIL), never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pyvips

from b9_media.errors import MediaError

T = TypeVar("T")
Format = Literal["jpeg", "webp"]
QUALITY_STEP = 5
MAX_SHRINKS = 4


@dataclass(frozen=True)
class ImageSpec:
    max_edge: int
    max_bytes: int
    format: Format = "jpeg"
    quality: int = 82
    min_quality: int = 30
    max_pixels: int = 100_000_000

    @property
    def content_type(self) -> str:
        return "image/webp" if self.format == "webp" else "image/jpeg"

    @property
    def ext(self) -> str:
        return "webp" if self.format == "webp" else "jpg"


@dataclass(frozen=True)
class ImageResult:
    data: bytes
    width: int
    height: int
    quality: int
    content_type: str


def check_header(data: bytes, max_pixels: int) -> pyvips.Image:
    """Read only the header; refuse undecodable data and too many pixels before decoding."""
    try:
        header = pyvips.Image.new_from_buffer(data, "")
    except pyvips.Error as exc:
        raise MediaError("corrupt", f"not a decodable image: {_first_line(exc)}") from None
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise MediaError(
            "too_many_pixels",
            f"{header.width}x{header.height} = {pixels} pixels > limit {max_pixels}",
        )
    return header


def _normalise(img: pyvips.Image) -> pyvips.Image:
    """sRGB, 8-bit, 3 bands; alpha flattened onto white.

    An embedded ICC profile (Display P3, CMYK press profiles) is honoured on the already
    shrunk image, which costs far less than ``thumbnail(export_profile=...)`` on every image.
    """
    if img.get_typeof("icc-profile-data") != 0:
        # a broken profile: fall back to the plain colour-space conversion below
        with contextlib.suppress(pyvips.Error):
            img = img.icc_transform("srgb", embedded=True, intent="perceptual")
    if img.interpretation not in ("srgb",):
        img = img.colourspace("srgb")
    if img.hasalpha():
        img = img.flatten(background=[255, 255, 255])
    if img.bands > 3:
        img = img.extract_band(0, n=3)
    if img.format != "uchar":
        img = img.cast("uchar")
    return img


def _encode(img: pyvips.Image, spec: ImageSpec, quality: int) -> bytes:
    if spec.format == "webp":
        out: bytes = img.webpsave_buffer(Q=quality, keep=0, effort=4)
    else:
        out = img.jpegsave_buffer(Q=quality, keep=0, optimize_coding=True, subsample_mode="on")
    return out


def process_image(data: bytes, spec: ImageSpec) -> ImageResult:
    """Shrink to ``spec.max_edge``, sRGB, no metadata, quality stepped down to fit ``max_bytes``."""
    check_header(data, spec.max_pixels)
    try:
        img = pyvips.Image.thumbnail_buffer(
            data,
            spec.max_edge,
            height=spec.max_edge,
            size="down",
            option_string="fail_on=error",
        )
        img = _normalise(img).copy_memory()  # decode once; corrupt data raises here
        for _ in range(MAX_SHRINKS + 1):
            quality = spec.quality
            while True:
                out = _encode(img, spec, quality)
                if len(out) <= spec.max_bytes or quality <= spec.min_quality:
                    break
                quality = max(spec.min_quality, quality - QUALITY_STEP)
            if len(out) <= spec.max_bytes:
                return ImageResult(out, img.width, img.height, quality, spec.content_type)
            img = img.resize(0.8).copy_memory()  # still too big at the floor: fewer pixels
    except pyvips.Error as exc:
        raise MediaError("corrupt", _first_line(exc)) from None
    raise MediaError("too_large", f"cannot fit under {spec.max_bytes} bytes")


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return " / ".join(lines[:3])[:300]


def _init_worker(vips_threads: int) -> None:
    pyvips.cache_set_max(0)  # buffers are processed once: the operation cache only holds memory
    if vips_threads > 0:
        pyvips.concurrency_set(vips_threads)


class ImageWorker:
    """A bounded thread pool for libvips work (one slot per worker thread)."""

    def __init__(self, workers: int = 2, vips_threads: int = 0) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers,
            thread_name_prefix="vips",
            initializer=_init_worker,
            initargs=(vips_threads,),
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def close(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, True)
