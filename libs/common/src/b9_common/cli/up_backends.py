"""The embedded nats-server and PostgreSQL of `b9 up`: started as its own children (so the
kernel stops them when `b9 up` dies), watched, and restarted on the same port and data.

NATS runs with the accounts of ``b9_common.jetstream.auth`` (the same users and permissions as
infra/): one user per service, an admin for the CLI, passwords generated once into
``<data dir>/nats-auth.json`` (mode 0600) and handed to nats-server through its environment.
PostgreSQL is pgserver's build, run as ``postgres -D <data dir>/pg`` on a Unix socket only
(not via ``pg_ctl``, which would detach it from `b9 up`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from b9_common.cli.settings import AUTH_FILE
from b9_common.cli.up_procs import backoff, say, spawn
from b9_common.embedded import nats_server_binary
from b9_common.extras import MissingExtra
from b9_common.jetstream.auth import ROLES, password_var, render
from b9_common.jetstream.topology import Topology

if TYPE_CHECKING:
    import psutil

USERS = ("admin", "sys", *ROLES)


def load_or_make_passwords(data: Path) -> dict[str, str]:
    """Every user's password from <data>/nats-auth.json; missing ones generated (file mode 0600)."""
    path = data / AUTH_FILE
    known: dict[str, str] = {}
    if path.exists():
        known = msgspec.json.decode(path.read_bytes(), type=dict[str, str])
    # nats-server parses an environment variable's value as a config token: a password like
    # "2026-..." or "1e5..." would become a date or a number. A letter, then hex, is a string.
    known = {u: pw for u, pw in known.items() if re.fullmatch(r"[a-z][0-9a-f]{32,}", pw)}
    if all(u in known for u in USERS):
        return known
    full = {u: known.get(u) or "p" + secrets.token_hex(24) for u in USERS}
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(msgspec.json.format(msgspec.json.encode(full)))
    tmp.replace(path)
    return full


def find_orphans(data: Path) -> list[psutil.Process]:
    """nats-server / postgres processes still using this data dir (left by a `b9 up` of an older
    version that was killed outright): we hold the lock, so they belong to no one."""
    try:  # the embedded extra: only a b9 up that starts its own servers looks for these
        import psutil
    except ModuleNotFoundError as exc:
        raise MissingExtra("embedded", "b9 up's embedded servers", exc) from exc
    inside = str(data.resolve()) + os.sep
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        argv = proc.info["cmdline"] or []
        # a path under this data dir, not one that merely starts with the same text (/tmp/b9-other)
        if proc.info["name"] in ("nats-server", "postgres") and any(a.startswith(inside) for a in argv):
            found.append(proc)
    return found


def stop_orphans(data: Path) -> list[int]:
    """Stop them (postgres: fast shutdown), killing what is left after 10 s. Blocking."""
    import psutil

    procs = find_orphans(data)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGINT if proc.info["name"] == "postgres" else signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=10)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return [p.pid for p in procs]


class Backend:
    """One supervised server process: start, wait until it answers, restart when it dies."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.started = 0.0

    async def launch(self) -> asyncio.subprocess.Process:
        raise NotImplementedError

    async def answers(self) -> bool:
        raise NotImplementedError

    async def start(self, wait: float = 30.0) -> None:
        self.proc = await self.launch()
        self.started = time.monotonic()
        deadline = time.monotonic() + wait
        while not await self.answers():
            if self.proc.returncode is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}) while starting; see {self.logs}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {wait:.0f} s; see {self.logs}")
            await asyncio.sleep(0.1)

    async def watch(self, stopping: asyncio.Event) -> None:
        """Restart the server (same port, same data) whenever it dies, with backoff."""
        while not stopping.is_set():
            proc = self.proc
            if proc is None or proc.returncode is None:
                await asyncio.sleep(0.25)
                continue
            if time.monotonic() - self.started > 120:
                self.restarts = 0  # it had been fine for a while
            self.restarts += 1
            delay = backoff(self.restarts)
            say(f"{self.name} exited ({proc.returncode}); restarting it in {delay:.0f}s on the same port and data")
            try:
                await asyncio.wait_for(stopping.wait(), delay)
                return
            except TimeoutError:
                pass
            try:
                await self.start()
                say(f"{self.name} restarted (restart {self.restarts})")
            except (RuntimeError, OSError) as exc:
                say(f"{self.name} failed to restart: {exc}")

    async def stop(self, grace: float = 20.0) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(self.stop_signal)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class NatsBackend(Backend):
    name = "NATS"

    def __init__(self, data: Path, port: int, passwords: dict[str, str], topology: Topology,
                 host: str = "127.0.0.1") -> None:
        super().__init__(data / "logs" / "nats-server.log")
        self.store = data / "nats"
        self.port, self.host, self.passwords = port, host, passwords
        self.store.mkdir(parents=True, exist_ok=True)
        self.config = self.store / "nats.conf"
        self.config.write_text(
            "# Written by `b9 up` at each start: the accounts are b9_common.jetstream.auth's (as infra/nats).\n"
            f"listen: {host}:{port}\n"
            f'jetstream {{ store_dir: "{self.store}" }}\n' + render(topology))

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def url_for(self, user: str) -> str:
        return f"nats://{user}:{self.passwords[user]}@{self.host}:{self.port}"

    async def launch(self) -> asyncio.subprocess.Process:
        env = dict(os.environ)
        env.update({password_var(u): pw for u, pw in self.passwords.items()})
        return await spawn([nats_server_binary(), "-c", str(self.config)], log_path=self.logs, env=env)

    async def answers(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 1)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True


class PostgresBackend(Backend):
    name = "PostgreSQL"
    stop_signal = signal.SIGINT  # fast shutdown: SIGTERM would wait for every client to leave

    def __init__(self, data: Path) -> None:
        super().__init__(data / "logs" / "postgres.log")
        self.pgdata = (data / "pg").resolve()
        self.user: str | None = None
        self.socket_dir = self.pgdata

    def prepare(self) -> None:
        """initdb when new (as pgserver does; as its system user when we are root)."""
        try:
            from pgserver._commands import POSTGRES_BIN_PATH
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
                find_suitable_socket_dir,
            )
        except ModuleNotFoundError as exc:
            raise MissingExtra("embedded", "b9 up's embedded PostgreSQL", exc) from exc

        self.bin = POSTGRES_BIN_PATH
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self.user = "pgserver"
            entry = ensure_user_exists(self.user)
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            if entry is not None:
                os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            done = subprocess.run([str(POSTGRES_BIN_PATH / "initdb"), "-D", str(self.pgdata), "--auth=trust",
                                   "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                                  capture_output=True, user=self.user)
            if done.returncode:
                why = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"initdb {self.pgdata} failed: {why[-1] if why else done.returncode}")
        self.socket_dir = find_suitable_socket_dir(self.pgdata, Path("/tmp") / "b9-pg")
        if self.user and self.socket_dir != self.pgdata:
            ensure_prefix_permissions(self.socket_dir)
            self.socket_dir.chmod(0o777)

    @property
    def url(self) -> str:
        return f"postgresql://postgres:@/postgres?host={self.socket_dir}"

    async def launch(self) -> asyncio.subprocess.Process:
        argv = [str(self.bin / "postgres"), "-D", str(self.pgdata), "-h", "", "-k", str(self.socket_dir)]
        return await spawn(argv, log_path=self.logs, on_parent_death=signal.SIGINT, user=self.user)

    async def answers(self) -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(self.url, timeout=2)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        await conn.close()
        return True
