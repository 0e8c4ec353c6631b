"""`b9`: run the stack, look at it, replay streams, handle dead letters, seed data."""

from __future__ import annotations

import asyncio
import logging
import sys
import warnings

import typer

from b9_common.cli.app import app, debug
from b9_common.cli.settings import CliSettings, NotRunning, load_cli_settings
from b9_common.ops.logs import setup_logging
from b9_common.settings import exit_on_config_error

NOT_RUNNING = 3  # exit status when the stack is not running here


def _settings() -> CliSettings:
    with exit_on_config_error("b9"):
        return load_cli_settings()


@app.command()
def up() -> None:
    """Start NATS, PostgreSQL (embedded unless NATS_URL / DATABASE_URL are set) and every service."""
    from b9_common.cli.up import up as run_up

    s = _settings()
    setup_logging("b9", s.log_level)
    for quiet in ("b9_common", "pgserver"):
        logging.getLogger(quiet).setLevel(logging.WARNING)
    raise typer.Exit(asyncio.run(run_up(s)))


@app.command()
def status() -> None:
    """Streams, consumers, lag, DLQ depth and live service replicas."""
    from b9_common.cli.status import status as run_status

    raise typer.Exit(asyncio.run(run_status(_settings())))


@app.command()
def streams() -> None:
    """Streams with their sizes and consumers (like `nats stream ls` + `nats consumer ls`)."""
    from b9_common.cli.status import status as run_status

    raise typer.Exit(asyncio.run(run_status(_settings(), services=False)))


@app.command()
def asyncapi() -> None:
    """Print the AsyncAPI 3.1.0 document of the event catalogue."""
    import sys

    from b9_common.jetstream.asyncapi import generate_json

    sys.stdout.write(generate_json().decode() + "\n")


_loaded: set[str] = set()


def load_plugins(group: str = "b9.commands") -> None:
    """Commands other packages add under the ``b9.commands`` entry point group (name = verb):
    a ``typer.Typer`` becomes a sub-command group, a function a command. A package that fails
    to load is reported and skipped; the rest of the CLI works. Loading twice adds nothing."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=group):
        if ep.name in _loaded:
            continue
        _loaded.add(ep.name)
        try:
            obj = ep.load()
        except Exception as exc:
            logging.getLogger(__name__).warning("b9 %s unavailable: %s", ep.name, exc)
            continue
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=ep.name)
        else:
            app.command(ep.name)(obj)


def main() -> None:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it falls back correctly.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from b9_common.cli import commands  # noqa: F401 - registers replay, dlq, seed

    load_plugins()
    try:
        app()
    except NotRunning as exc:
        if debug["on"]:
            raise
        sys.stderr.write(f"{exc}\n")
        raise SystemExit(NOT_RUNNING) from None
    except Exception as exc:  # one line; the traceback with --debug
        if debug["on"]:
            raise
        sys.stderr.write(f"b9: {type(exc).__name__}: {exc} (run with --debug for the traceback)\n")
        raise SystemExit(1) from None
