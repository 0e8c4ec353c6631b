"""`b9 up` as a real process in a temporary data dir (B9_DATA_DIR), read as a user reads it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

BIN = Path(sys.executable).parent
B9 = BIN / "b9"
SERVICES = {"persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "alerts", "gateway"}
UNSET = ("NATS_URL", "DATABASE_URL", "GATEWAY_API_KEY", "GATEWAY_PORT", "B9_NAMESPACE", "MEDIA_STORE_URL")


def data_root() -> Path:
    """A fresh directory under /tmp, not pytest's tmp_path: when tests run as root, PostgreSQL
    runs as pgserver's own user and must traverse the path, but pytest resets its base
    directory to mode 0700 whenever another session starts."""
    return Path(tempfile.mkdtemp(prefix="b9-launcher-"))


def env_for(data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(B9_DATA_DIR=str(data), COLUMNS="200", **extra)
    return env


class Up:
    """A running `b9 up`: its output lines as they come, its stack file, its processes."""

    def __init__(self, data: Path, proc: asyncio.subprocess.Process) -> None:
        self.data = data
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, data: Path, **extra: str) -> Up:
        proc = await asyncio.create_subprocess_exec(
            str(B9), "up", env=env_for(data, **extra), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        return cls(data, proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip())

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    async def wait_line(self, pattern: str, timeout: float, start: int = 0) -> str:
        """The first line (from index ``start``) matching ``pattern``; fails with the output."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if rx.search(line):
                    return line
            if self.proc.returncode is not None and self._reader.done():
                break
            await asyncio.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output:\n{self.output[-4000:]}")

    async def wait_up(self, timeout: float = 120) -> None:
        await self.wait_line(r"Ctrl-C stops everything", timeout)

    @property
    def stack(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads((self.data / "stack.json").read_text())
        return out

    def admin_url(self) -> str:
        pw = json.loads((self.data / "nats-auth.json").read_text())["admin"]
        return str(self.stack["nats_url"]).replace("nats://", f"nats://admin:{pw}@")

    def user_url(self, user: str) -> str:
        pw = json.loads((self.data / "nats-auth.json").read_text())[user]
        return str(self.stack["nats_url"]).replace("nats://", f"nats://{user}:{pw}@")

    async def stop(self, sig: int = 2, timeout: float = 60) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(self._reader, 10)
        return self.proc.returncode or 0


def parents() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    tree = parents()
    out: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in tree.items() if pp in frontier} - out
        out |= frontier
    return out


def cmdline(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if not cmd:  # exiting: say what it was
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            cmd = " ".join(line for line in status if line.startswith(("Name:", "State:", "Threads:")))
        return cmd
    except OSError:
        return ""


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def service_pids(up_pid: int) -> dict[str, int]:
    """Service name -> pid of the `b9-<name>` processes `b9 up` runs."""
    out = {}
    for pid in descendants(up_pid):
        cmd = cmdline(pid)
        m = re.search(r"/b9-([a-z-]+)\b", cmd)
        if m and m.group(1) in SERVICES:
            out[m.group(1)] = pid
    return out


def alive(pids: set[int]) -> set[int]:
    tree = parents()
    return {p for p in pids if p in tree}


async def wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    left = alive(pids)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        left = alive(pids)
    return left


async def ready(url: str, timeout: float) -> float:
    """Seconds until GET /ready answers 200 (fails after ``timeout``)."""
    t0 = time.monotonic()
    last: object = None
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - t0 < timeout:
            try:
                async with http.get(f"{url}/ready", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    last = resp.status
                    if resp.status == 200:
                        return time.monotonic() - t0
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = exc
            await asyncio.sleep(0.3)
    raise AssertionError(f"/ready not 200 within {timeout}s (last: {last})")


async def run_b9(*args: str, env: dict[str, str], timeout: float = 30) -> tuple[int, str, float]:
    """(exit status, stdout+stderr, seconds) of one `b9` command."""
    t0 = time.monotonic()
    proc = await asyncio.create_subprocess_exec(str(B9), *args, env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(errors="replace"), time.monotonic() - t0
