"""Processes `b9 up` starts: each in its own session (Ctrl-C reaches only `b9 up`, which stops
them in order), each told by the kernel to stop when `b9 up` dies, even by SIGKILL
(``PR_SET_PDEATHSIG``), and a service that dies restarted with backoff.

Processes are spawned from the event loop's thread: the parent-death signal follows the
thread that forked, and a worker thread of ``asyncio.to_thread`` may end at any time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from b9_common.cli.settings import make_console
from b9_common.embedded import die_with_parent
from b9_common.ops.metrics import free_port

log = logging.getLogger("b9.up")
console = make_console(stderr=True)
CONFIG_REFUSED = 2  # exit_on_config_error's status: restarting cannot help
ORDER = ["persistence", "categorizer", "media", "reddit-scraper", "instagram-scraper", "alerts", "gateway"]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    if port <= 0:
        return False
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int, remembered: int, host: str = "127.0.0.1") -> int:
    for p in (remembered, preferred):
        if port_free(p, host):
            return p
    return free_port(host)


def available_services() -> dict[str, str]:
    """Services whose package is installed and importable: name -> console script."""
    found: dict[str, str] = {}
    for ep in entry_points(group="b9.services"):
        try:
            ep.load()
        except Exception as exc:  # not built yet, or broken: say so and go on
            console.print(f"[yellow]service {ep.name} not started: {type(exc).__name__}: {exc}[/]")
            continue
        found[ep.name] = f"b9-{ep.name}"
    return {n: found[n] for n in sorted(found, key=lambda n: ORDER.index(n) if n in ORDER else 99)}


async def spawn(argv: list[str], *, log_path: Path, env: dict[str, str] | None = None,
                on_parent_death: int = signal.SIGTERM, **kw: Any) -> asyncio.subprocess.Process:
    """Start ``argv`` with stdout+stderr appended to ``log_path``, in its own session."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            start_new_session=True, preexec_fn=die_with_parent(on_parent_death), **kw)


def backoff(attempt: int, cap: float = 30.0) -> float:
    """1, 2, 4, 8, 16, 30, 30, ... seconds."""
    return float(min(cap, 2 ** max(0, min(attempt - 1, 5))))


def say(message: str) -> None:
    """One line on the terminal and in the log (stderr: b9 up's table goes there too)."""
    console.print(message, markup=False, highlight=False)
    log.info(message)


@dataclass
class Child:
    """A service `b9 up` runs (one replica)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started: float = 0.0
    log_offset: int = 0  # where this start's output begins in the log file
    refused: str | None = None  # the one-line reason when it refused its configuration

    async def start(self) -> None:
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        # When `b9 up` dies outright, a service is killed, not asked to drain: its NATS is going
        # away at the same moment (draining would wait out its grace), and unacked work is redelivered.
        self.proc = await spawn(self.argv, log_path=self.log_path, env=self.env, on_parent_death=signal.SIGKILL)
        self.started = time.monotonic()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def refusal(self) -> str:
        """The configuration error line this start wrote (exit_on_config_error's line)."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self.log_offset)
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            lines = []
        for line in reversed(lines):
            if "configuration error" in line:
                return line.strip()
        return lines[-1].strip() if lines else f"exit status {CONFIG_REFUSED}, see {self.log_path}"


@dataclass
class Services:
    """Start, watch (restart with backoff; never one that refused its configuration), stop."""

    children: list[Child] = field(default_factory=list)
    stopping: bool = False
    refused: asyncio.Event = field(default_factory=asyncio.Event)

    async def start_all(self) -> None:
        for child in self.children:
            await child.start()

    async def supervise(self) -> None:
        while not self.stopping:
            await asyncio.sleep(0.25)
            for child in self.children:
                proc = child.proc
                if self.stopping or proc is None or proc.returncode is None:
                    continue
                child.proc = None
                if proc.returncode == CONFIG_REFUSED:
                    child.refused = child.refusal()
                    say(f"{child.name} refused its configuration: {child.refused}")
                    self.refused.set()
                    continue
                child.restarts += 1
                delay = backoff(child.restarts)
                say(f"{child.name} exited ({proc.returncode}); restarting in {delay:.0f}s "
                    f"(restart {child.restarts}; log {child.log_path})")
                asyncio.get_running_loop().call_later(delay, self._restart, child)

    def _restart(self, child: Child) -> None:
        if not self.stopping and child.proc is None:
            asyncio.ensure_future(child.start()).add_done_callback(self._started)

    @staticmethod
    def _started(task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            say(f"restarting a service failed: {task.exception()}")

    async def stop(self, grace: float = 25.0) -> None:
        self.stopping = True
        running = [c.proc for c in self.children if c.proc and c.proc.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        if running:
            await asyncio.wait([asyncio.ensure_future(p.wait()) for p in running], timeout=grace)
            for proc in running:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
