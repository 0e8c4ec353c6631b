"""One `b9 up` per data dir: an exclusive ``flock`` on <data dir>/up.lock for its lifetime.

The kernel drops the lock when the process ends, however it ends (SIGKILL, OOM kill), so a
stale lock cannot exist. The descriptor is close-on-exec: the servers and services `b9 up`
starts never hold it. The CLI's ``up_running`` takes a shared lock for an instant to ask;
``acquire`` retries for a second so that such a probe never looks like a running stack.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

from b9_common.cli.settings import LOCK_FILE


class AlreadyRunning(Exception):
    pass


def _open(data: Path) -> int:
    data.mkdir(parents=True, exist_ok=True)
    return os.open(data / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


async def acquire(data: Path, patience: float = 1.0) -> int:
    """The locked descriptor (keep it open), or AlreadyRunning."""
    fd = _open(data)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if loop.time() > deadline:
                os.close(fd)
                raise AlreadyRunning(str(data)) from None
            await asyncio.sleep(0.05)


def release(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
