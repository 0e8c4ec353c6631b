"""Video transcoding with ffmpeg: 720p H.264 yuv420p + AAC, +faststart, size from duration.

ffmpeg runs as an asyncio subprocess with a timeout, one transcode at a time per process
(one already fills a small machine). Bitrate: the container budget
``target_bytes * 8 / duration * 0.90`` minus the audio bitrate goes to video, capped at
``MAX_VIDEO_KBPS``; a result still over the target is re-encoded once at a scaled-down rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from b9_media.errors import MediaError

log = logging.getLogger(__name__)
_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
MIN_VIDEO_KBPS = 150
MAX_VIDEO_KBPS = 2500
OVERHEAD = 0.90


@dataclass(frozen=True)
class Probe:
    duration: float
    width: int
    height: int
    has_audio: bool


@dataclass(frozen=True)
class Transcoded:
    path: Path
    poster: Path
    width: int
    height: int
    duration: float
    size: int
    video_kbps: int


def plan_bitrates(duration: float, target_bytes: int, has_audio: bool) -> tuple[int, int]:
    """(video kbit/s, audio kbit/s) so that ``duration`` seconds fit in ``target_bytes``."""
    total = target_bytes * 8 / max(duration, 1.0) / 1000 * OVERHEAD
    audio = 0 if not has_audio else (96 if total >= 600 else 64 if total >= 300 else 48)
    video = int(min(MAX_VIDEO_KBPS, max(MIN_VIDEO_KBPS, total - audio)))
    return video, audio


def parse_probe(stderr: str) -> Probe:
    m = _DURATION.search(stderr)
    v = _VIDEO.search(stderr)
    if v is None:
        if "Invalid data" in stderr or "moov atom not found" in stderr:
            raise MediaError("corrupt", "ffmpeg cannot read the video")
        raise MediaError("unsupported", "no video stream")
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else 0.0
    return Probe(duration, int(v.group(1)), int(v.group(2)), "Audio:" in stderr)


class Transcoder:
    def __init__(
        self,
        ffmpeg: str,
        *,
        max_edge: int = 720,
        target_bytes: int = 1_500_000,
        timeout: float = 300.0,
        max_seconds: float = 900.0,
        preset: str = "veryfast",
    ) -> None:
        self.ffmpeg = ffmpeg
        self.max_edge = max_edge
        self.target_bytes = target_bytes
        self.timeout = timeout
        self.max_seconds = max_seconds
        self.preset = preset
        self._one = asyncio.Semaphore(1)

    async def _run(self, args: list[str], limit: float) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            self.ffmpeg,
            "-hide_banner",
            "-nostdin",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), limit)
        except (TimeoutError, asyncio.CancelledError):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        return proc.returncode or 0, err.decode("utf-8", "replace")[-20_000:]

    async def probe(self, src: Path) -> Probe:
        _, err = await self._run(["-i", str(src)], 60)
        return parse_probe(err)

    def _scale(self) -> str:
        e = self.max_edge  # the shorter side becomes at most e, both sides even
        return (
            f"scale=w='if(gte(iw,ih),-2,trunc(min(iw,{e})/2)*2)'"
            f":h='if(gte(iw,ih),trunc(min(ih,{e})/2)*2,-2)',format=yuv420p"
        )

    async def _encode(self, src: Path, out: Path, video: int, audio: int) -> None:
        args = [
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(src),
            "-map",
            "0:v:0",
            "-t",
            str(self.max_seconds),
            "-vf",
            self._scale(),
            "-c:v",
            "libx264",
            "-preset",
            self.preset,
            "-profile:v",
            "high",
            "-b:v",
            f"{video}k",
            "-maxrate",
            f"{video}k",
            "-bufsize",
            f"{video * 2}k",
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
        ]
        args += (
            ["-map", "0:a:0", "-c:a", "aac", "-b:a", f"{audio}k", "-ac", "2"] if audio else ["-an"]
        )
        code, err = await self._run([*args, str(out)], self.timeout)
        if code != 0:
            raise MediaError("corrupt", f"ffmpeg failed ({code}): {err.strip()[-300:]}")

    async def transcode(self, src: Path, workdir: Path) -> Transcoded:
        """Transcode ``src`` into ``workdir``; MediaError for unreadable or over-long input."""
        async with self._one:
            try:
                return await self._transcode(src, workdir)
            except TimeoutError:
                raise MediaError(
                    "timeout", f"ffmpeg took longer than {self.timeout:.0f}s"
                ) from None

    async def _transcode(self, src: Path, workdir: Path) -> Transcoded:
        info = await self.probe(src)
        if info.duration > self.max_seconds:
            raise MediaError("too_large", f"{info.duration:.0f}s > limit {self.max_seconds:.0f}s")
        video, audio = plan_bitrates(info.duration, self.target_bytes, info.has_audio)
        out = workdir / "out.mp4"
        await self._encode(src, out, video, audio)
        size = out.stat().st_size
        if size > self.target_bytes and video > MIN_VIDEO_KBPS:
            video = max(MIN_VIDEO_KBPS, int(video * self.target_bytes / size * 0.93))
            log.info("video over target, re-encoding", extra={"bytes": size, "video_kbps": video})
            await self._encode(src, out, video, audio)
            size = out.stat().st_size
        result = await self.probe(out)
        poster = workdir / "poster.png"
        at = min(1.0, result.duration / 3) if result.duration else 0.0
        code, err = await self._run(
            [
                "-y",
                "-loglevel",
                "error",
                "-ss",
                f"{at:.2f}",
                "-i",
                str(out),
                "-frames:v",
                "1",
                str(poster),
            ],
            60,
        )
        if code != 0 or not poster.exists():
            raise MediaError("corrupt", f"no poster frame: {err.strip()[-200:]}")
        return Transcoded(
            out, poster, result.width, result.height, result.duration or info.duration, size, video
        )
