"""`b9 replay`: ask the owning service to re-run its consumer over a stream slice; follow it.

    b9 replay categorizer --since 2d
    b9 replay persistence --stream DERIVED --from-seq 1000 --to-seq 5000 --subject media.stored
    b9 replay persistence --dry-run          # what the slice holds, per subject; nothing runs
    b9 replay --list                         # recorded replays

The command publishes ``replay.requested.<service>``; a running replica of that service claims
it and runs it in its own process through the same handlers as live traffic (live traffic
keeps flowing: the replay reads through its own ephemeral consumer), writing its progress to
KV bucket ``replays``. This command follows that record with a progress bar. With no replica
of the service alive (no heartbeat) it says so at once. Ctrl-C asks the replica to stop
(in-flight work finishes) and prints the command that resumes where it left.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime

import typer
from nats.aio.client import Client as NATS
from nats.js.kv import KeyValue
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

import b9_common.replay.request as ask_
from b9_common.cli.service_settings import quiet_logging
from b9_common.cli.settings import CliSettings, effective_database_url, load_cli_settings, make_console
from b9_common.cli.up_reach import cli_nats, ensure_reachable
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.replay.jobs import ReplayError, ReplayRequest, split_target
from b9_common.replay.log import ReplayRecord, list_records, who
from b9_common.replay.slices import parse_time
from b9_common.settings import exit_on_config_error

console = make_console()
# Services with nothing to replay: the gateway has no consumers, the scrapers read only COMMANDS
# (a work queue: consumed commands are gone). Kept in step with the gateway's replay API.
NOT_REPLAYABLE = {"gateway": "has no consumers",
                  "reddit-scraper": "reads only COMMANDS, a work queue",
                  "instagram-scraper": "reads only COMMANDS, a work queue"}
PLAN_WITHIN = 30.0  # seconds for a replica to claim and plan the replay


def replayable_services() -> list[str]:
    return sorted(ask_.REPLAYABLE)


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
    """Ask the service that owns a consumer to re-run it over a slice of its stream, and follow it."""
    with exit_on_config_error("b9"):
        cli = load_cli_settings()
    quiet_logging(cli)
    if list_:
        raise typer.Exit(asyncio.run(show_list(cli, limit)))
    offer = ", ".join(replayable_services())
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
    req = ReplayRequest(target=consumer, stream=stream.upper() or None, subjects=tuple(subject or ()),
                        from_seq=from_seq, to_seq=to_seq, since=_time(since, "--since"),
                        until=_time(until, "--until"), rate=rate, dry_run=dry_run)
    if req.since and req.until and req.since > req.until:
        raise typer.BadParameter(f"the range is reversed: --since {since} is after --until {until}")
    asyncio.run(ensure_reachable(cli))
    raise typer.Exit(asyncio.run(replay_main(req, cli)))


async def replay_main(req: ReplayRequest, cli: CliSettings, stop: asyncio.Event | None = None) -> int:
    """Ask, follow, summarise. Exit code: 0 complete (or dry run), 1 stopped or failed while
    running, 2 refused (bad consumer, subject, stream; no replica running), 130 Ctrl-C."""
    stop = stop or asyncio.Event()
    async with cli_nats(cli, timeout=5) as nc:
        js = nc.jetstream(timeout=10)
        topo = Topology(namespace=cli.b9_namespace)
        try:
            rid = await ask_.ask(js, topo, Publisher(js, topo, source="b9-cli"), req, who())
        except (ReplayError, ask_.NoOwner) as exc:
            console.print(f"[red]{exc}[/]")
            return 2
        kv = await ask_.record_kv(js, topo, req)
        rec = await ask_.wait_record(kv, rid, ask_.planned, PLAN_WITHIN)
        refused = _refused(rec, rid, split_target(req.target)[0])
        if refused or rec is None:
            console.print(f"[red]{refused}[/]")
            return 2
        console.print(plan_table(rec))
        console.print(f"[dim]{runner_line(rec)}[/]")
        for note in rec.outcome.get("notes") or []:
            console.print(f"[dim]{note}[/]")
        if rec.status == "dry-run":
            return 0
        return await _follow(nc, topo, kv, rec, req, stop)


def _refused(rec: ReplayRecord | None, rid: str, service: str) -> str:
    """Why a replay did not start ("" when it did)."""
    if rec is None or rec.status == "starting":
        return f"no {service} replica {'took' if rec is None else 'planned'} replay {rid} within {PLAN_WITHIN:.0f} s"
    return str(rec.outcome.get("error") or "the replay failed") if rec.status == "failed" else ""


async def _follow(nc: NATS, topo: Topology, kv: KeyValue, rec: ReplayRecord, req: ReplayRequest,
                  stop: asyncio.Event) -> int:
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
    total = int(rec.outcome.get("total") or 0)
    task_id = bar.add_task("replaying", total=total or None, detail="")
    bar.start()
    service, rid = rec.consumer.partition(":")[0], rec.id

    async def ask_to_stop() -> None:  # the replica running it stops it; the record says where
        await stop.wait()
        await ask_.stop(nc, topo, service, rid)

    stopper = asyncio.create_task(ask_to_stop())
    try:
        async for now in ask_.follow(kv, rid):
            rec, o = now, now.outcome
            bar.update(task_id, completed=int(o.get("visited") or 0),
                       detail=f"ok {o.get('handled', 0):,} · skip {o.get('skipped', 0):,} · "
                              f"dlq {o.get('dead_lettered', 0):,}")
    finally:
        stopper.cancel()
        bar.stop()
        try:
            loop.remove_signal_handler(signal.SIGINT)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    return _ending(rec, req, interrupted)


def _ending(rec: ReplayRecord, req: ReplayRequest, interrupted: bool) -> int:
    if rec.status in ask_.ACTIVE:  # follow ended on a record no longer updated
        who_ = rec.runner.get("replica") or "its replica"
        console.print(f"[red]replay {rec.id}: no progress from {who_} since "
                      f"{(rec.updated_at or rec.started_at):%H:%M:%S}: it stopped[/]")
        return 1
    if rec.status == "failed":
        console.print(f"[red]replay {rec.id} failed: {rec.outcome.get('error') or 'no reason given'}[/]")
        return 1
    console.print(summary_table(rec))
    resume = rec.outcome.get("resume_from")
    if resume is not None:
        console.print(f"[yellow]stopped before the end. Resume with:[/]\n  {resume_command(req, rec)}")
        return 130 if interrupted else 1
    return 0


def runner_line(rec: ReplayRecord) -> str:
    r = rec.runner
    return (f"replay {rec.id} runs in {r.get('service', '?')} replica {r.get('replica', '?')} "
            f"(host {r.get('host', '?')}, pid {r.get('pid', '?')})")


def plan_table(rec: ReplayRecord) -> Table:
    s = rec.slice
    dry = rec.status == "dry-run"
    t = Table(title=f"{'dry run: ' if dry else ''}replay {rec.consumer} over {s.get('stream')}")
    t.add_column("subject")
    t.add_column("messages", justify="right")
    counts = s.get("counts") or {}
    for subj, n in counts.items():
        t.add_row(subj, f"{n:,}")
    start, end = s.get("from_seq") or 0, s.get("to_seq") or 0
    rng = f"seq {start}..{end}" if start <= end else "empty"
    window = "".join([f" since {s['since'][:19].replace('T', ' ')}" if s.get("since") else "",
                      f" until {s['until'][:19].replace('T', ' ')}" if s.get("until") else ""])
    t.add_row(f"[b]total[/] ({rng}{window})", f"[b]{sum(counts.values()):,}[/]")
    return t


def summary_table(rec: ReplayRecord) -> Table:
    o = rec.outcome
    t = Table(title=f"replay {rec.consumer}: {rec.status}", show_header=False)
    visited, seconds = int(o.get("visited") or 0), float(o.get("seconds") or 0.0)
    rate = visited / seconds if seconds else 0.0
    dlq = int(o.get("dead_lettered") or 0)
    rows = [("visited", f"{visited:,} of {int(o.get('total') or 0):,}"), ("handled", f"{o.get('handled', 0):,}"),
            ("skipped (unchanged / not for this consumer)", f"{o.get('skipped', 0):,}"),
            ("failed → DLQ", f"[{'red' if dlq else 'green'}]{dlq:,}[/]"),
            ("transient retries", f"{o.get('retried', 0):,}"), ("time", f"{seconds:.1f} s ({rate:,.0f} events/s)"),
            ("ran in", f"{rec.runner.get('service', '?')} pid {rec.runner.get('pid', '?')} "
                       f"on {rec.runner.get('host', '?')}"),
            ("record", rec.id)]
    for k, v in rows:
        t.add_row(k, v)
    return t


def resume_command(req: ReplayRequest, rec: ReplayRecord) -> str:
    parts = ["b9 replay", req.target, f"--stream {rec.slice.get('stream')}",
             f"--from-seq {rec.outcome.get('resume_from')}", f"--to-seq {rec.slice.get('to_seq')}"]
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
