"""`b9 replay`: re-run a service's consumer over a stream slice, with a progress bar.

    b9 replay categorizer --since 2d
    b9 replay persistence --stream DERIVED --from-seq 1000 --to-seq 5000 --subject media.stored
    b9 replay persistence --dry-run          # what the slice holds, per subject; nothing runs
    b9 replay --list                         # recorded replays

Live traffic keeps flowing: the replay reads through its own ephemeral consumer. Ctrl-C
stops cleanly (in-flight work finishes) and prints the command that resumes where it left.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from datetime import datetime
from typing import Any

import typer
from nats.js.errors import APIError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from b9_common.cli.service_settings import quiet_logging, service_settings
from b9_common.cli.settings import CliSettings, effective_database_url, load_cli_settings, make_console
from b9_common.cli.up_reach import cli_nats, ensure_reachable
from b9_common.jetstream.topology import Topology
from b9_common.replay.jobs import ReplayError, ReplayRequest, ReplayResult, load_service, run_replay, split_target
from b9_common.replay.log import list_records
from b9_common.replay.runner import ReplayReport
from b9_common.replay.slices import Resolved, parse_time
from b9_common.service import ConsumerDef, ServiceDef
from b9_common.settings import ConfigError, exit_on_config_error

console = make_console()
# Services with nothing to replay: the gateway has no consumers, the scrapers read only COMMANDS
# (a work queue: consumed commands are gone). Kept in step with the gateway's replay API.
NOT_REPLAYABLE = {"gateway": "has no consumers",
                  "reddit-scraper": "reads only COMMANDS, a work queue",
                  "instagram-scraper": "reads only COMMANDS, a work queue"}


def replayable_services() -> list[str]:
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group="b9.services") if ep.name not in NOT_REPLAYABLE)


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} ev/s" if speed else "- ev/s", style="cyan")


def _time(value: str | None, flag: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=flag) from None


def replay_command(
    consumer: str = typer.Argument("", help="<service> or <service>:<consumer>: persistence, categorizer or media"),
    stream: str = typer.Option("", "--stream", help="SCRAPE, DERIVED, ... (default: the consumer's stream)"),
    since: str | None = typer.Option(None, "--since", help="start time: ISO-8601 or relative (30m, 2h, 1d)"),
    from_seq: int | None = typer.Option(None, "--from-seq", min=1, help="start sequence"),
    until: str | None = typer.Option(None, "--until", help="end time: ISO-8601 or relative"),
    to_seq: int | None = typer.Option(None, "--to-seq", min=1, help="end sequence (inclusive)"),
    subject: list[str] | None = typer.Option(None, "--subject", help="event type filter (repeatable)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="count what the slice holds; run nothing"),
    rate: float | None = typer.Option(None, "--rate", min=0.1, help="at most N events/s"),
    list_: bool = typer.Option(False, "--list", help="show recorded replays"),
    limit: int = typer.Option(20, "--limit", help="rows for --list"),
) -> None:
    """Re-run a consumer's handler over a slice of its stream (by time or sequence, by subject)."""
    with exit_on_config_error("b9"):
        cli = load_cli_settings()
    quiet_logging(cli)
    if list_:
        raise typer.Exit(asyncio.run(show_list(cli, limit)))
    offer = ", ".join(replayable_services()) or "none installed"
    if not consumer:
        raise typer.BadParameter(f"name the consumer to replay: {offer}", param_hint="CONSUMER")
    service = split_target(consumer)[0]
    if service in NOT_REPLAYABLE:
        raise typer.BadParameter(f"{service} {NOT_REPLAYABLE[service]}: nothing to replay; replayable: {offer}",
                                 param_hint="CONSUMER")
    if service not in replayable_services():
        raise typer.BadParameter(f"unknown service {service!r}; replayable: {offer}", param_hint="CONSUMER")
    if since and from_seq:
        raise typer.BadParameter("give --since or --from-seq, not both")
    if until and to_seq:
        raise typer.BadParameter("give --until or --to-seq, not both")
    if from_seq is not None and to_seq is not None and from_seq > to_seq:
        raise typer.BadParameter(f"the range is reversed: --from-seq {from_seq} is after --to-seq {to_seq}")
    req = ReplayRequest(target=consumer, stream=stream or None, subjects=tuple(subject or ()), from_seq=from_seq,
                        to_seq=to_seq, since=_time(since, "--since"), until=_time(until, "--until"),
                        rate=rate, dry_run=dry_run)
    if req.since and req.until and req.since > req.until:
        raise typer.BadParameter(f"the range is reversed: --since {since} is after --until {until}")
    asyncio.run(ensure_reachable(cli))
    try:
        sdef = load_service(split_target(consumer)[0])
        with exit_on_config_error(f"b9 replay {sdef.name}"):
            settings = service_settings(sdef, cli)
    except ReplayError as exc:
        msg = str(exc)
        if msg.startswith("unknown service"):
            msg = f"unknown service {service!r}; replayable: {offer}"
        console.print(f"[red]{msg}[/]")
        raise typer.Exit(2) from None
    raise typer.Exit(asyncio.run(replay_main(sdef, settings, req, cli)))


async def replay_main(sdef: ServiceDef, settings: Any, req: ReplayRequest, cli: CliSettings,
                      stop: asyncio.Event | None = None) -> int:
    stop = stop or asyncio.Event()
    interrupted = False
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        if not stop.is_set():
            console.print("[yellow]stopping: letting in-flight work finish...[/]")
        stop.set()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
        pass
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                   TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[detail]}"),
                   console=console, transient=False, refresh_per_second=5)
    task_id = None

    def plan(res: Resolved, cdef: ConsumerDef) -> None:
        nonlocal task_id
        console.print(plan_table(res, f"{split_target(req.target)[0]}:{cdef.spec.name}", req.dry_run))
        if not req.dry_run and res.total:
            task_id = bar.add_task("replaying", total=res.total, detail="")
            bar.start()
            # Everything alive now (imports, the bootstrapped service) lives as long as this
            # process: keep the collector's full passes off it (they were ~20 % of a replay's CPU).
            gc.freeze()

    def progress(report: ReplayReport, total: int) -> None:
        if task_id is None:
            return
        bar.update(task_id, completed=report.visited,
                   detail=f"ok {report.handled:,} · skip {report.skipped:,} · dlq {report.dead_lettered:,}")

    try:
        result = await run_replay(sdef, settings, req, database_url=effective_database_url(cli), on_plan=plan,
                                  progress=progress, stop=stop)
    except (ReplayError, ConfigError, ConnectionError, APIError) as exc:
        bar.stop()
        console.print(f"[red]{exc}[/]")
        return 2
    finally:
        gc.unfreeze()  # replay_main also runs in-process (tests, benches): leave the heap as it was
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    if task_id is not None and result.report is not None:
        bar.update(task_id, completed=result.report.visited)
    bar.stop()
    for note in result.notes:
        console.print(f"[dim]{note}[/]")
    if result.report is None:
        return 0
    console.print(summary_table(result))
    if result.resume_from is not None:
        console.print(f"[yellow]stopped before the end. Resume with:[/]\n  {resume_command(req, result)}")
        return 130 if interrupted else 1
    return 0


def plan_table(res: Resolved, consumer: str, dry_run: bool) -> Table:
    t = Table(title=f"{'dry run: ' if dry_run else ''}replay {consumer} over {res.stream}")
    t.add_column("subject")
    t.add_column("messages", justify="right")
    for subj, n in res.counts.items():
        t.add_row(subj, f"{n:,}")
    rng = f"seq {res.start}..{res.end}" if res.start <= res.end else "empty"
    window = "".join([f" since {res.since:%Y-%m-%d %H:%M:%S}" if res.since else "",
                      f" until {res.until:%Y-%m-%d %H:%M:%S}" if res.until else ""])
    t.add_row(f"[b]total[/] ({rng}{window})", f"[b]{res.total:,}[/]")
    return t


def summary_table(result: ReplayResult) -> Table:
    r = result.report
    assert r is not None
    t = Table(title=f"replay {result.consumer}: {result.status}", show_header=False)
    rate = r.visited / result.elapsed if result.elapsed else 0.0
    rows = [("visited", f"{r.visited:,} of {result.resolved.total:,}"), ("handled", f"{r.handled:,}"),
            ("skipped (unchanged / not for this consumer)", f"{r.skipped:,}"),
            ("failed → DLQ", f"[{'red' if r.dead_lettered else 'green'}]{r.dead_lettered:,}[/]"),
            ("transient retries", f"{r.retried:,}"), ("time", f"{result.elapsed:.1f} s ({rate:,.0f} events/s)")]
    if result.record is not None:
        rows.append(("record", result.record.id))
    for k, v in rows:
        t.add_row(k, v)
    return t


def resume_command(req: ReplayRequest, result: ReplayResult) -> str:
    parts = ["b9 replay", req.target, f"--stream {result.resolved.stream}",
             f"--from-seq {result.resume_from}", f"--to-seq {result.resolved.end}"]
    parts += [f"--subject {s}" for s in req.subjects]
    if req.rate:
        parts.append(f"--rate {req.rate:g}")
    return " ".join(parts)


async def show_list(cli: CliSettings, limit: int) -> int:
    async with cli_nats(cli) as nc:
        records = await list_records(nc.jetstream(), Topology(namespace=cli.b9_namespace),
                                     effective_database_url(cli), limit)
    t = Table(title=f"replays ({len(records)})")
    for col in ("id", "started", "by", "consumer", "slice", "status", "handled", "skipped", "dlq", "resume"):
        t.add_column(col, overflow="fold")
    for r in records:
        s, o = r.slice, r.outcome
        what = f"{s.get('stream')} {s.get('from_seq')}..{s.get('to_seq')} {','.join(s.get('subjects') or [])}"
        cells = (r.id, f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.started_by, r.consumer, what, r.status,
                 o.get("handled", ""), o.get("skipped", ""), o.get("dead_lettered", ""), o.get("resume_from") or "")
        t.add_row(*(Text(str(v)) for v in cells))  # recorded values as they are, not rich markup
    console.print(t if records else "no replays recorded")
    return 0
