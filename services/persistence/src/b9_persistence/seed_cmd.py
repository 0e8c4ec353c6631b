"""`b9 seed --scale small|full|3x|10x|<factor>x`: publish the synthetic data set through JetStream.

A ``b9`` command this package adds through its ``b9.commands`` entry point (as ``b9 rebuild``):
the generator is persistence's (``seed``, ``seed_run``), and libs/common imports no service.
Data are relative to now; with media (the default) a loopback origin serves generated images
and clips until the media service has answered for each (``seed_run``), on the port the running
`b9 up` reserved for it (``seed_media_port``: its media service allows exactly
``http://127.0.0.1:<that port>``), or on ``--media-port``.
"""

from __future__ import annotations

import asyncio
import time

import typer
from b9_common.cli.settings import CliSettings, effective_nats_url, load_cli_settings, make_console, running_stack
from b9_common.settings import CommonSettings, exit_on_config_error
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

console = make_console()


def seed_command(
    scale: str = typer.Option("small", "--scale", help="small (~5k events, 18k posts), full (the original's size), "
                              "3x, 10x (346,820 subreddits, 3.1 M users, 18.3 M posts, 12,470 creators) or <factor>x"),
    media: bool = typer.Option(True, "--media/--no-media",
                               help="generate images and clips for a few creators; the media service stores them"),
    media_wait: float = typer.Option(120.0, "--media-wait", help="seconds to wait for the media service's answers"),
    media_port: int = typer.Option(0, "--media-port", min=0, max=65535,
                                   help="loopback port of the media origin (default: the one `b9 up` allows)"),
) -> None:
    """Publish synthetic subreddits, users, posts, creators, categorizations, decisions and media."""
    from b9_persistence.seed import scale_counts  # here: every b9 invocation loads this module

    try:
        scale_counts(scale)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scale") from None
    with exit_on_config_error("b9"):
        cli = load_cli_settings()
    raise typer.Exit(asyncio.run(seed_main(cli, scale, media=media, media_wait=media_wait, media_port=media_port)))


async def seed_main(cli: CliSettings, scale: str, *, media: bool = True, media_wait: float = 120.0,
                    media_port: int = 0) -> int:
    # loaded when the command runs: every b9 invocation loads this module (b9 --help included)
    from b9_common.service import connect

    from b9_persistence.seed_run import run

    url = effective_nats_url(cli)  # NotRunning at once when no `b9 up` runs here
    if not media_port and not cli.nats_url:  # the port `b9 up`'s media service allows
        media_port = running_stack(cli).seed_media_port
    settings = CommonSettings(nats_url=url, b9_namespace=cli.b9_namespace, stream_replicas=cli.stream_replicas,
                              startup_timeout=cli.startup_timeout, facts_max_age_days=cli.facts_max_age_days)
    try:  # a stack that is (re)starting its NATS: retried with backoff for STARTUP_TIMEOUT s
        rt = await connect(settings, "seed", "0")
    except ConnectionError as exc:
        console.print(f"b9 seed: {exc}", markup=False, highlight=False)
        return 1
    bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)
    tasks: dict[str, TaskID] = {}

    def progress(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=max(total, done))

    t0 = time.perf_counter()
    try:
        with bar:
            counts: dict[str, int] = await run(rt, scale, progress=progress, media=media, media_wait=media_wait,
                                               media_port=media_port,
                                               say=lambda m: console.print(m, markup=False, highlight=False))
    finally:
        await rt.close()
    elapsed = time.perf_counter() - t0
    t = Table(title=f"seeded ({scale}) in {elapsed:.1f} s")
    t.add_column("phase")
    t.add_column("events", justify="right")
    for phase, n in counts.items():
        t.add_row(phase, f"{n:,}")
    total = sum(n for phase, n in counts.items() if phase != "media stored")  # an outcome, not an event
    t.add_row("[b]total[/]", f"[b]{total:,}[/] ({total / elapsed:,.0f}/s)" if elapsed else str(total))
    console.print(t)
    return 0
