"""What the b9 command line reads from the environment, once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec

from b9_common.settings import CommonSettings, load_settings

DEFAULT_UA = "b9/0.1 (creator discovery pipeline; +https://github.com/b9/b9)"


class CliSettings(CommonSettings, kw_only=True):
    nats_url: str = ""
    database_url: str = ""
    media_store_url: str = ""
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 0
    gateway_api_key: str = ""
    reddit_user_agent: str = ""
    b9_data_dir: str = ".b9"

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


def effective_nats_url(s: CliSettings) -> str:
    """NATS_URL, else the URL of the stack `b9 up` is running, else the local default."""
    if s.nats_url:
        return s.nats_url
    stack = read_stack(s.data_dir)
    if stack and stack.nats_url:
        return stack.nats_url
    return "nats://127.0.0.1:4222"


def effective_database_url(s: CliSettings) -> str:
    if s.database_url:
        return s.database_url
    stack = read_stack(s.data_dir)
    return stack.database_url if stack else ""


def child_environment() -> dict[str, str]:
    """The environment `b9 up` hands down to the services it starts (plus what it sets)."""
    return dict(os.environ)
