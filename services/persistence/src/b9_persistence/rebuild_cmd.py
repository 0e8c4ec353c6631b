"""`b9 rebuild`: the read model rebuilt from the streams alone (``b9`` finds this command through
this package's ``b9.commands`` entry point: libs/common does not import persistence).

    b9 rebuild --verify            # into a scratch database on the same server, compare, drop it
    b9 rebuild --verify --keep     # ... and keep the scratch database (its URL is printed)
    b9 rebuild --into URL          # disaster recovery: rebuild into URL (created if missing, must be empty)

Exit status: 0 identical / rebuilt, 1 differences or an incomplete rebuild, 2 cannot run.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import typer
from b9_common.cli.service_settings import quiet_logging, service_env
from b9_common.cli.settings import CliSettings, effective_database_url, load_cli_settings
from b9_common.settings import ConfigError, exit_on_config_error, load_settings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from b9_persistence.rebuild import (
    RebuildError,
    RebuildReport,
    StreamRun,
    create_database,
    drop_database,
    prepare_target,
    rebuild,
    with_database,
)
from b9_persistence.rebuild_verify import verify_against
from b9_persistence.settings import Settings

console = Console()


def rebuild_command(
    verify: bool = typer.Option(False, "--verify",
                                help="rebuild into a scratch database and compare with the live one"),
    into: str = typer.Option("", "--into", help="rebuild into this (empty) database: disaster recovery"),
    keep: bool = typer.Option(False, "--keep", help="with --verify: keep the scratch database"),
    stall: float = typer.Option(120.0, "--stall", min=1.0, help="stop a stream that makes no progress for N s"),
    wait: float = typer.Option(60.0, "--wait", min=0.0,
                               help="with --verify: wait up to N s for live persistence to reach the same point"),
) -> None:
    """Rebuild the read model from the streams alone (--verify compares it with the live one)."""
    if verify == bool(into):
        raise typer.BadParameter("give --verify or --into DATABASE_URL (one of them)")
    with exit_on_config_error("b9"):
        cli = load_cli_settings()
    quiet_logging(cli)
    with exit_on_config_error("b9 rebuild"):
        # --into needs no live database (it may be the one lost): the target stands in for it.
        env = service_env(cli) | ({"DATABASE_URL": into} if into else {})
        settings: Settings = load_settings(Settings, env)
    raise typer.Exit(asyncio.run(rebuild_main(settings, cli, verify=verify, into=into, keep=keep, stall=stall,
                                         wait=wait)))


async def rebuild_main(settings: Settings, cli: CliSettings | None = None, *, verify: bool, into: str = "",
                       keep: bool = False, stall: float = 120.0, wait: float = 60.0) -> int:
    live_url = (effective_database_url(cli) if cli else "") or settings.database_url
    if verify:
        target = with_database(live_url, f"b9_rebuild_{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid4().hex[:6]}")
    else:
        target = into
    try:
        if verify:
            await create_database(target)
        else:
            await prepare_target(target)
    except (RebuildError, OSError, asyncpg.PostgresError) as exc:
        console.print(f"[red]b9 rebuild: {exc}[/]")
        return 2
    try:
        report = await run_with_bar(settings, target, stall)
        if report is None:
            return 2
        if not verify:
            return 0 if report.complete else 1
        if not report.complete:
            console.print("[red]the rebuild did not complete: nothing compared[/]")
            return 1
        same = await verify_against(settings, report, live_url, target, console, wait)
        return 0 if same else 1
    finally:
        if verify and not keep:
            await drop_database(target)
        elif verify:
            console.print(f"scratch database kept: {target}")


async def run_with_bar(settings: Settings, target: str, stall: float) -> RebuildReport | None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
        pass
    bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                   TextColumn("{task.fields[detail]}"), console=console, refresh_per_second=5)
    tasks: dict[str, TaskID] = {}
    overall: list[TaskID] = []

    def plan(runs: list[StreamRun]) -> None:
        for run in runs:
            counts = ", ".join(f"{k} {v:,}" for k, v in run.plan.counts.items() if v)
            console.print(f"{run.stream}: seq {run.plan.start:,}..{run.plan.end:,}, {run.total:,} messages "
                          f"for {run.consumer.spec.name} ({counts})")
        total = sum(r.total for r in runs)
        overall.append(bar.add_task("all", total=total, rate="", detail=""))
        for run in runs:
            tasks[run.stream] = bar.add_task(run.stream, total=run.total, rate="", detail="")
        bar.start()
        gc.freeze()  # the bootstrapped service lives as long as the rebuild (see b9 replay)

    def progress(run: StreamRun) -> None:
        r = run.report
        rate = r.visited / max(1e-3, bar.tasks[tasks[run.stream]].elapsed or 1e-3)
        detail = f"ok {r.handled:,} · skip {r.skipped:,} · refused {r.dead_lettered:,} · retried {r.retried:,}"
        bar.update(tasks[run.stream], completed=r.visited, rate=f"{rate:,.0f} ev/s", detail=detail)
        done = sum(bar.tasks[t].completed for t in tasks.values())
        bar.update(overall[0], completed=done)

    try:
        report = await rebuild(settings, target, on_plan=plan, progress=progress, stop=stop, stall=stall)
    except (RebuildError, ConfigError, ConnectionError, OSError) as exc:
        bar.stop()
        console.print(f"[red]b9 rebuild: {exc}[/]")
        return None
    finally:
        gc.unfreeze()
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    bar.stop()
    print_summary(report)
    return report


def print_summary(report: RebuildReport) -> None:
    rate = report.visited / report.seconds if report.seconds else 0.0
    console.print(f"rebuilt from {len(report.runs)} streams: {report.visited:,} messages in {report.seconds:.1f} s "
                  f"({report.seconds / 60:.1f} min, {rate:,.0f} messages/s)")
    for run in report.runs:
        if run.stalled:
            console.print(f"[red]{run.stream}: stopped after {run.report.visited:,} of {run.total:,}: no progress "
                          f"for the stall limit while {run.report.retried:,} deliveries were retried[/]")
        elif not run.report.complete and run.total:
            console.print(f"[red]{run.stream}: incomplete ({run.report.visited:,} of {run.total:,})[/]")
    if report.refused:
        console.print(f"[yellow]{len(report.refused):,} messages refused by the handler (not re-dead-lettered; "
                      "the live run refused them too unless the rules changed):[/]")
        for f in report.refused[:5]:
            console.print(f"  {f.stream} #{f.seq} {f.subject}: {f.reason}")
