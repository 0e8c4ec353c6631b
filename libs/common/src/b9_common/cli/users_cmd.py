"""`b9 users`: people's accounts (roles viewer / reviewer / admin) in the accounts KV bucket.

    b9 users add alice --role reviewer     # prints alice's API key as the last line
    b9 users list
    b9 users disable alice                 # her key and sessions stop working at once
    b9 users enable alice
    b9 users key alice                     # a new key; the old one and its sessions end
    b9 users role alice admin

`b9 up` creates an ``admin`` account on first start (``ensure_bootstrap_admin``) and writes its
key to ``<data dir>/admin-api-key`` (mode 0600), printing where it is, never the key.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import typer
from nats.js import JetStreamContext
from rich.table import Table

from b9_common.accounts.store import Account, AccountError, AccountStore, ensure_admin
from b9_common.cli.settings import CliSettings, load_cli_settings, make_console
from b9_common.cli.up_reach import cli_nats
from b9_common.events.decisions import ROLES
from b9_common.jetstream.topology import Topology
from b9_common.settings import exit_on_config_error

console = make_console()
users_app = typer.Typer(help="People's accounts: add, list, disable, rotate keys", no_args_is_help=True)
T = TypeVar("T")
ADMIN_KEY_FILE = "admin-api-key"


async def store_for(js: JetStreamContext, topology: Topology) -> AccountStore:
    return AccountStore(await topology.accounts_kv(js), await topology.sessions_kv(js))


async def ensure_bootstrap_admin(js: JetStreamContext, topology: Topology, data_dir: Path) -> Path | None:
    """Create the ``admin`` account when there is none and write its key to
    ``data_dir/admin-api-key`` (0600). Prints where the key is; returns the file (None when an
    admin account existed and its key file is gone: `b9 users key admin` makes a new one)."""
    account, key = await ensure_admin(await store_for(js, topology))
    path = data_dir / ADMIN_KEY_FILE
    if key is not None:
        await asyncio.to_thread(write_secret, path, key)
        console.print(f"created account 'admin' (role admin); its API key is in {path}")
        return path
    if await asyncio.to_thread(path.exists):
        console.print(f"account 'admin': API key in {path}")
        return path
    console.print(f"account '{account.name}' exists; its key file is gone: `b9 users key admin` makes a new key")
    return None


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    path.chmod(0o600)


def _cli() -> CliSettings:
    with exit_on_config_error("b9"):
        return load_cli_settings()


async def with_store(cli: CliSettings, fn: Callable[[AccountStore], Awaitable[T]]) -> T:
    async with cli_nats(cli) as nc:  # as the CLI's NATS user; NotRunning -> one line, exit 3
        store = await store_for(nc.jetstream(timeout=10), Topology(namespace=cli.b9_namespace))
        try:
            return await fn(store)
        except AccountError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None


def _run(fn: Callable[[AccountStore], Awaitable[T]]) -> T:
    return asyncio.run(with_store(_cli(), fn))


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def _print_key(account: Account, key: str, what: str) -> None:
    console.print(f"{what} {account.name} ({account.role}). Its API key, shown only now:")
    typer.echo(key)  # the last line of output, plain (never wrapped), for scripts


def _role(role: str) -> str:
    if role not in ROLES:
        raise typer.BadParameter(f"one of {', '.join(ROLES)}", param_hint="--role")
    return role


@users_app.command("add")
def add_cmd(name: str, role: str = typer.Option(..., "--role", help="viewer, reviewer or admin")) -> None:
    """Create an account; prints its API key as the last line."""
    account, key = _run(lambda store: store.add(name, _role(role)))
    _print_key(account, key, "created")


@users_app.command("list")
def list_cmd() -> None:
    """Every account with its role and state."""
    accounts = _run(lambda store: store.list())
    t = Table(title=f"accounts ({len(accounts)})")
    for col in ("name", "role", "state", "id", "created", "key rotated"):
        t.add_column(col)
    for a in accounts:
        state = f"disabled {_when(a.disabled_at)}" if a.disabled else "active"
        t.add_row(a.name, a.role, state, a.id, _when(a.created_at), _when(a.key_rotated_at))
    console.print(t)


@users_app.command("disable")
def disable_cmd(name: str) -> None:
    """Disable an account: its key and sessions are refused at once, on every gateway worker."""
    _run(lambda store: store.set_disabled(name, True))
    console.print(f"disabled {name}")


@users_app.command("enable")
def enable_cmd(name: str) -> None:
    """Enable a disabled account again (its key works again; ended sessions stay ended)."""
    _run(lambda store: store.set_disabled(name, False))
    console.print(f"enabled {name}")


@users_app.command("key")
def key_cmd(name: str) -> None:
    """A new API key (printed as the last line); the old key and its sessions stop working."""
    account, key = _run(lambda store: store.rotate(name))
    if name == "admin":  # the account `b9 up` made: keep its key file true
        path = _cli().data_dir / ADMIN_KEY_FILE
        write_secret(path, key)
        console.print(f"(also written to {path})")
    _print_key(account, key, "new key for")


@users_app.command("role")
def role_cmd(name: str, role: str) -> None:
    """Change an account's role (effective on its next request)."""
    account = _run(lambda store: store.set_role(name, _role(role)))
    console.print(f"{account.name} is now {account.role}")
