"""Resident memory of processes while a benchmark runs: the proportional set size (``Pss`` of
``/proc/<pid>/smaps_rollup``: each shared page split between the processes mapping it, so
PostgreSQL's shared buffers count once over its backends and sums add up) of each process and
its children, ``VmRSS`` where smaps cannot be read, sampled every ``every`` seconds, peak kept
per name."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path


def children(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += children(p)
    return seen


def rss_kb(pid: int) -> int:
    """Pss in kB, else VmRSS, else 0 (gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def postgres_pids(admin_url: str) -> list[int]:
    """The postmaster serving ``admin_url`` (its ``postmaster.pid`` when readable: an embedded
    server's data dir, or the local server's when we may read it), else the process listening
    on its port; children are added by the sampler. Empty when neither can be found."""
    import re
    from urllib.parse import urlparse

    u = urlparse(admin_url)
    m = re.search(r"host=([^&]+)", u.query or "")
    if m:  # an embedded server on a unix socket: <data dir>/... holds postmaster.pid nearby
        for parent in (Path(m.group(1)), *Path(m.group(1)).parents):
            pidfile = parent / "postmaster.pid"
            if pidfile.exists():
                with contextlib.suppress(OSError, ValueError):
                    return [int(pidfile.read_text().split()[0])]
    return listening_pids(u.port or 5432)


def listening_pids(port: int) -> list[int]:
    """Processes holding a listening TCP socket on ``port`` (by socket inode)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for ln in Path(table).read_text().splitlines()[1:]:
                r = ln.split()
                if r[1].endswith(f":{port:04X}") and r[3] == "0A":
                    inodes.add(f"socket:[{r[9]}]")
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if str(fd.readlink()) in inodes:
                        pids.append(int(proc.name))
                        break
    return pids


class RssSampler:
    """Peak RSS (MB) per name; each name's roots are looked up at every sample (workers come
    and go), their process trees summed."""

    def __init__(self, roots: dict[str, Callable[[], list[int]]], every: float = 0.5) -> None:
        self.roots, self.every = roots, every
        self.peak: dict[str, int] = dict.fromkeys(roots, 0)
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        for name, pids in self.roots.items():
            total = sum(rss_kb(p) for root in pids() for p in tree(root))
            self.peak[name] = max(self.peak[name], total)

    def start(self) -> None:
        self.sample()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await asyncio.to_thread(self.sample)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def peaks_mb(self) -> dict[str, float]:
        return {k: round(v / 1024, 1) for k, v in self.peak.items()}
