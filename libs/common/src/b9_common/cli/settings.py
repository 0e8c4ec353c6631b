"""What the b9 command line reads from the environment, once."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
from pathlib import Path

import msgspec
from rich.console import Console

from b9_common.settings import CommonSettings, load_settings

DEFAULT_UA = "b9/0.1 (creator discovery pipeline; +https://github.com/b9/b9)"


class CliSettings(CommonSettings, kw_only=True):
    nats_url: str = ""
    database_url: str = ""
    media_store_url: str = ""
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 0
    gateway_api_key: str = ""
    # given to the alerts service only; unset: `b9 up` makes one in <data dir>/alert-webhook-secret
    alert_webhook_secret: str = ""
    reddit_user_agent: str = ""
    b9_data_dir: str = ".b9"
    # `b9 up`: how long every service it starts may take to be ready before it gives up.
    up_ready_timeout: float = 180.0

    def validate(self) -> None:
        if self.nats_url:
            super().validate()

    @property
    def data_dir(self) -> Path:
        return Path(self.b9_data_dir).resolve()


def load_cli_settings() -> CliSettings:
    return load_settings(CliSettings)


class StackFile(msgspec.Struct, kw_only=True):
    """Where a running (or last) `b9 up` put everything; written to <data dir>/stack.json."""

    nats_url: str = ""
    database_url: str = ""
    gateway_url: str = ""
    media_store_url: str = ""
    nats_port: int = 0
    gateway_port: int = 0
    metrics_ports: dict[str, int] = msgspec.field(default_factory=dict)
    pid: int = 0
    # <data dir>/nats-auth.json when b9 up runs its embedded nats-server with users (mode 0600)
    nats_auth_file: str = ""
    api_key_file: str = ""
    # the loopback port `b9 seed` serves its generated media on: the one origin this stack's media
    # service may fetch over http from loopback (MEDIA_ALLOWED_ORIGINS=http://127.0.0.1:<port>)
    seed_media_port: int = 0


class NotRunning(Exception):
    """No stack answers here; ``str()`` is the one line the CLI prints (exit status 3)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"b9 is not running here ({why}): start it with `make run`")


LOCK_FILE = "up.lock"
AUTH_FILE = "nats-auth.json"
_CREDS = re.compile(r"//([^:/@]+):([^@/]*)@")


def redact(url: str) -> str:
    """``nats://user:secret@host`` -> ``nats://user:***@host`` (for messages and logs)."""
    return _CREDS.sub(r"//\1:***@", url)


def up_running(data_dir: Path) -> bool:
    """True while a `b9 up` holds <data dir>/up.lock (the kernel drops it when that process dies)."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a shared lock taken just now
    return False


def with_user(url: str, user: str, password: str) -> str:
    """Credentials into every server of a NATS URL list."""
    return ",".join(re.sub(r"^(\w+://)", rf"\g<1>{user}:{password}@", u.strip()) for u in url.split(","))


def read_auth(data_dir: Path) -> dict[str, str]:
    path = data_dir / AUTH_FILE
    if not path.exists():
        return {}
    out: dict[str, str] = msgspec.json.decode(path.read_bytes(), type=dict[str, str])
    return out


def read_stack(data_dir: Path) -> StackFile | None:
    path = data_dir / "stack.json"
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=StackFile)
    except (msgspec.DecodeError, json.JSONDecodeError):
        return None


def write_stack(data_dir: Path, stack: StackFile) -> None:
    tmp = data_dir / "stack.json.tmp"
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(stack)))
    tmp.replace(data_dir / "stack.json")


def running_stack(s: CliSettings) -> StackFile:
    """The stack a live `b9 up` runs from this data dir, or NotRunning saying why not."""
    stack = read_stack(s.data_dir)
    if stack is None or not stack.nats_url:
        raise NotRunning(f"no {s.data_dir / 'stack.json'}")
    if not up_running(s.data_dir):
        raise NotRunning(f"no `b9 up` holds {s.data_dir / LOCK_FILE}")
    return stack


def effective_nats_url(s: CliSettings) -> str:
    """NATS_URL, else the running stack's, as its admin user (credentials from <data dir>)."""
    if s.nats_url:
        return s.nats_url
    stack = running_stack(s)
    admin = read_auth(s.data_dir).get("admin") if stack.nats_auth_file else None
    return with_user(stack.nats_url, "admin", admin) if admin else stack.nats_url


def effective_database_url(s: CliSettings) -> str:
    if s.database_url:
        return s.database_url
    stack = read_stack(s.data_dir)
    return stack.database_url if stack and up_running(s.data_dir) else ""


def make_console(stderr: bool = False) -> Console:
    """A rich console as wide as the terminal (any of stdin/stdout/stderr), else $COLUMNS, else 160."""
    width = None
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        try:
            if stream is not None and stream.isatty():
                width = os.get_terminal_size(stream.fileno()).columns
                break
        except (OSError, ValueError):
            continue
    if width is None:
        width = shutil.get_terminal_size((160, 40)).columns if os.environ.get("COLUMNS") else 160
    return Console(stderr=stderr, width=width)


def child_environment() -> dict[str, str]:
    """The environment `b9 up` hands down to the services it starts (plus what it sets)."""
    return dict(os.environ)
