"""Load with wrk (C, epoll) against local HTTP workers, and what the workers felt: requests/s,
p50/p99, connections per worker, CPU waits (run queue and PSI). Shared by the gateway,
decisions, scale and freshness benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

KEY = "bench-key-0123456789abcdef"


def _tcp(port: int, state: str) -> list[str]:
    """Socket inodes on local ``port`` in ``state`` (``0A`` listening, ``01`` established)."""
    rows = [ln.split() for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return [r[9] for r in rows if r[1].endswith(f":{port:04X}") and r[3] == state]


async def wait_up(url: str, port: int, listeners: int) -> None:
    """Every worker serving (each SO_REUSEPORT worker listens on its own socket: a load run
    started while one is still starting would send every connection to the other)."""
    import aiohttp

    async with aiohttp.ClientSession() as s:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(url, headers={"Authorization": f"Bearer {KEY}"}) as r:
                    if r.status == 200 and len(_tcp(port, "0A")) >= listeners:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _worker_pids(procs: list[subprocess.Popen[bytes]]) -> list[int]:
    """The processes that serve: ours, or uvicorn --workers' children."""
    pids = []
    for p in procs:
        kids = [int(c) for t in Path(f"/proc/{p.pid}/task").iterdir() for c in (t / "children").read_text().split()]
        pids += [k for k in kids if "multiprocessing" in Path(f"/proc/{k}/cmdline").read_text()] or [p.pid]
    return pids


def connections_per_worker(pids: list[int], port: int) -> list[int]:
    """Established connections on ``port`` held by each worker (by socket inode)."""
    inodes = {f"socket:[{i}]" for i in _tcp(port, "01")}

    def held(pid: int) -> int:
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                links.append(os.readlink(fd))
        return sum(link in inodes for link in links)

    return sorted(held(pid) for pid in pids)


def cpu_waits(pids: list[int]) -> tuple[float, float]:
    """Seconds the workers spent runnable but waiting for a CPU (summed), and seconds during
    which any task on the machine waited (PSI ``some``): how contended the cores were."""
    waits = sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) for pid in pids) / 1e9
    psi = Path("/proc/pressure/cpu").read_text().split()[4]  # some ... total=<us>
    return waits, int(psi.split("=")[1]) / 1e6


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    assert m, text
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v


@dataclass
class Load:
    rps: float
    p50: float
    p99: float
    errors: int
    wrk_cpu: float  # cores the load generator used
    split: list[int]  # connections per worker
    runq: float  # share of the time a worker waited for a CPU (mean over workers)
    psi: float  # share of the time some task waited for a CPU


async def wrk(url: str, duration: int, pids: list[int], port: int) -> Load:
    """``wrk -t2 -c64`` (C, epoll): a few % of a core at 5,000 req/s, where a Python load
    generator would need a core of its own on this 2-core machine."""
    r0, w0 = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_waits(pids)
    t0 = time.monotonic()
    cmd = ["wrk", *f"-t2 -c64 -d{duration}s --latency".split(), "-H", f"Authorization: Bearer {KEY}", url]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    await asyncio.sleep(min(1.0, duration / 2))
    split = connections_per_worker(pids, port) if pids else []
    out = (await proc.communicate())[0].decode()
    assert proc.returncode == 0, out
    wall = time.monotonic() - t0
    r1, w1 = resource.getrusage(resource.RUSAGE_CHILDREN), cpu_waits(pids)
    runq, psi = (w1[0] - w0[0]) / wall / max(1, len(pids)), (w1[1] - w0[1]) / wall
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    lat = dict(re.findall(r"\s(50|99)%\s+(\S+)", out))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    err = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    n_err = int(err.group(1)) if err else 0
    return Load(rps, _ms(lat["50"]), _ms(lat["99"]), n_err, cpu / wall, split, runq, psi)
