"""Media: 12 MP JPEG -> 1080 px JPEG <= 300 KB through the service vs bare pyvips (and Pillow),
one 15 s 1080p clip -> 720p H.264 <= 1.5 MB, peak RSS per worker process.

    .venv/bin/python bench/bench_media.py [--quick] [--json PATH]

Each phase runs in a fresh child process so its peak RSS is its own. Images are generated
(gradients + sensor-like noise, ~4.7 MB each) and each one is distinct. "pipeline" is the
service's ``process_image`` (header check, shrink-on-load, sRGB, strip, size loop);
"end to end" adds the loopback download, sha256, dedup checks and the file:// store write.
The machine is shared: read numbers as ratios and lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "media"))

from common import Row, print_table, write_json


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_images(folder: str, n: int) -> list[str]:
    from _media_helpers import photo_12mp

    paths = []
    for i in range(n):
        p = Path(folder) / f"img{i}.jpg"
        p.write_bytes(photo_12mp(seed_shift=i * 97))
        paths.append(str(p))
    return paths


def _timed(fn: Any, datas: list[bytes], reps: int) -> float:
    fn(datas[0])  # warm up
    t0 = time.perf_counter()
    for _ in range(reps):
        for d in datas:
            fn(d)
    return reps * len(datas) / (time.perf_counter() - t0)


def phase_bare(paths: list[str], reps: int) -> dict[str, float]:
    import pyvips

    pyvips.cache_set_max(0)
    datas = [Path(p).read_bytes() for p in paths]
    sizes: list[int] = []

    def one(d: bytes) -> None:
        img = pyvips.Image.thumbnail_buffer(d, 1080, height=1080, size="down")
        sizes.append(len(img.jpegsave_buffer(Q=82, keep=0, optimize_coding=True)))

    rate = _timed(one, datas, reps)
    return {"rate": rate, "rss": _rss_mb(), "max_bytes": max(sizes)}


def phase_pipeline(paths: list[str], reps: int) -> dict[str, float]:
    from b9_media.images import ImageSpec, _init_worker, process_image

    _init_worker(0)
    spec = ImageSpec(1080, 300_000)
    datas = [Path(p).read_bytes() for p in paths]
    sizes: list[int] = []
    rate = _timed(lambda d: sizes.append(len(process_image(d, spec).data)), datas, reps)
    return {"rate": rate, "rss": _rss_mb(), "max_bytes": max(sizes)}


def phase_pillow(paths: list[str], reps: int) -> dict[str, float]:
    import io

    from PIL import Image

    datas = [Path(p).read_bytes() for p in paths]
    sizes: list[int] = []

    def one(d: bytes) -> None:
        im = Image.open(io.BytesIO(d))
        im.draft("RGB", (1080, 1080))
        im = im.convert("RGB")
        im.thumbnail((1080, 1080), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=82, optimize=True)
        sizes.append(buf.tell())

    rate = _timed(one, datas, reps)
    return {"rate": rate, "rss": _rss_mb(), "max_bytes": max(sizes)}


def phase_end_to_end(paths: list[str], workers: int) -> dict[str, float]:
    return asyncio.run(_end_to_end(paths, workers))


async def _end_to_end(paths: list[str], workers: int) -> dict[str, float]:
    from _media_helpers import Origin, Published, loopback_settings
    from b9_common.events import MediaItem, MediaStored
    from b9_common.storage import FileStore
    from b9_media.download import Downloader
    from b9_media.images import ImageWorker
    from b9_media.index import MemoryIndex
    from b9_media.main import image_specs, url_policy
    from b9_media.pipeline import Limits, MediaPipeline
    from b9_media.video import Transcoder

    settings = loopback_settings()
    origin = Origin()
    await origin.start()
    datas = [await asyncio.to_thread(Path(p).read_bytes) for p in paths]
    urls = [origin.bytes(f"/{i}.jpg", d) for i, d in enumerate(datas)]
    photo, profile = image_specs(settings)
    published = Published()
    with tempfile.TemporaryDirectory() as root:
        pipeline = MediaPipeline(
            store=FileStore(root), index=MemoryIndex(), downloader=Downloader(url_policy(settings)),
            images=ImageWorker(workers), transcoder=Transcoder("ffmpeg"), publish=published,
            photo=photo, profile=profile, limits=Limits(25_000_000, 250_000_000, 30, 60))
        sem = asyncio.Semaphore(workers)

        async def one(i: int, url: str) -> None:
            async with sem:
                await pipeline.handle(MediaItem(url=url, source_id=f"s{i}", kind="photo"))

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))
        rate = len(urls) / (time.perf_counter() - t0)
        await pipeline.downloader.close()
        await pipeline.images.close()
    await origin.stop()
    stored = published.of(MediaStored)
    assert len(stored) == len(urls), published
    return {"rate": rate, "rss": _rss_mb(), "max_bytes": max(s.bytes_out for s in stored)}


def phase_video(clip: str) -> dict[str, float]:
    from b9_media.main import ffmpeg_path
    from b9_media.settings import Settings
    from b9_media.video import Transcoder

    async def go() -> dict[str, float]:
        tr = Transcoder(ffmpeg_path(Settings()))
        with tempfile.TemporaryDirectory() as work:
            t0 = time.perf_counter()
            out = await tr.transcode(Path(clip), Path(work))
            secs = time.perf_counter() - t0
            return {"seconds": secs, "bytes": out.size, "height": out.height,
                    "duration": out.duration, "rss": _rss_mb()}

    return asyncio.run(go())


def run_child(fn: Any, *args: Any) -> Any:
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(fn, args)


def make_clip(path: Path) -> None:
    from b9_media.main import ffmpeg_path
    from b9_media.settings import Settings

    subprocess.run([ffmpeg_path(Settings()), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=15",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=15",
                    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-c:a", "aac",
                    "-shortest", str(path)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    n, reps = (4, 1) if args.quick else (12, 2)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = run_child(make_images, tmp, n)
        bare = run_child(phase_bare, paths, reps)
        pipe = run_child(phase_pipeline, paths, reps)
        e2e1 = run_child(phase_end_to_end, paths, 1)
        e2e2 = run_child(phase_end_to_end, paths, 2)
        rows += [
            Row("12MP->1080px: bare pyvips (thumbnail + jpegsave)", bare["rate"], "img/s"),
            Row("12MP->1080px: service process_image", pipe["rate"], "img/s", ">= 8, >= 0.85x bare",
                bare["rate"], pipe["rate"] / bare["rate"]),
            Row("12MP->1080px: service end to end, 1 at a time", e2e1["rate"], "img/s", "",
                bare["rate"], e2e1["rate"] / bare["rate"]),
            Row("12MP->1080px: service end to end, 2 workers", e2e2["rate"], "img/s", ">= 8",
                bare["rate"], e2e2["rate"] / bare["rate"]),
            Row("largest output (service)", max(pipe["max_bytes"], e2e2["max_bytes"]) / 1000, "KB",
                "<= 300"),
        ]
        try:
            import PIL  # noqa: F401

            pil = run_child(phase_pillow, paths, reps)
            rows.append(Row("12MP->1080px: Pillow draft+thumbnail (peer)", pil["rate"], "img/s", "",
                            bare["rate"], pil["rate"] / bare["rate"]))
            rows.append(Row("peak RSS: Pillow worker", pil["rss"], "MB"))
        except ImportError:
            pass
        rows += [Row("peak RSS: bare pyvips worker", bare["rss"], "MB"),
                 Row("peak RSS: service images worker (end to end, 2 workers)", e2e2["rss"], "MB")]
        clip = Path(tmp) / "clip.mp4"
        make_clip(clip)
        video = run_child(phase_video, str(clip))
        rows += [
            Row("15s 1080p clip -> 720p H.264", video["seconds"], "s",
                "< 15 (faster than real time)", 15.0, 15.0 / video["seconds"]),
            Row("video output size", video["bytes"] / 1e6, "MB", "<= 1.5"),
            Row("peak RSS: video worker (python side; ffmpeg is a child)", video["rss"], "MB"),
        ]
    name = "media" + (" (quick)" if args.quick else "")
    print_table(name, rows)
    write_json(args.json, name, rows, {"images": n, "reps": reps})


if __name__ == "__main__":
    main()
