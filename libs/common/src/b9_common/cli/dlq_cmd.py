"""`b9 dlq`: look at dead letters, retry them once the cause is fixed, purge them.

    b9 dlq list [--subject subreddit.fetched] [--reason "database refused"]
    b9 dlq show 42
    b9 dlq retry 42            # or: b9 dlq retry --all [--subject ...] [--reason ...]
    b9 dlq purge [--subject ...] [--yes]

IDs are DLQ stream sequences. ``--subject`` is an event type or pattern (``subreddit.*``).
A retry republishes the original bytes to the original subject (every consumer of that
subject sees it again; they are idempotent) and then deletes the dead letter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from nats.js.errors import NotFoundError
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from b9_common.cli.settings import CliSettings, load_cli_settings, make_console
from b9_common.cli.up_reach import cli_nats
from b9_common.jetstream.dlq_admin import DeadLetter, DlqAdmin, counts_by_type
from b9_common.jetstream.topology import Topology
from b9_common.settings import exit_on_config_error

console = make_console()
dlq_app = typer.Typer(help="Dead letters: list, show, retry, purge", no_args_is_help=True, rich_markup_mode=None)
T = TypeVar("T")


def _cli() -> CliSettings:
    with exit_on_config_error("b9"):
        return load_cli_settings()


async def with_admin(cli: CliSettings, fn: Callable[[DlqAdmin], Awaitable[T]]) -> T:
    async with cli_nats(cli) as nc:
        admin = DlqAdmin(nc.jetstream(timeout=10), Topology(namespace=cli.b9_namespace))
        try:
            return await fn(admin)
        except NotFoundError:
            console.print(f"[red]no {admin.stream} stream: start the stack once (`b9 up`)[/]")
            raise typer.Exit(1) from None


def _plain(*values: object) -> list[Text]:
    """Table cells shown as they are: a reason or header with "[/x]" is not rich markup."""
    return [Text(str(v)) for v in values]


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dlq_app.command("list")
def list_cmd(
    subject: str | None = typer.Option(None, "--subject", help="event type or pattern, e.g. subreddit.*"),
    reason: str | None = typer.Option(None, "--reason", help="text the reason contains"),
    limit: int = typer.Option(50, "--limit"),
    after: int = typer.Option(0, "--after", help="list dead letters after this ID"),
) -> None:
    """Dead letters, oldest first."""

    async def run(admin: DlqAdmin) -> tuple[list[DeadLetter], int]:
        items = await admin.scan(type_pattern=subject, reason=reason, after_seq=after, limit=limit)
        return items, await admin.depth()

    items, depth = asyncio.run(with_admin(_cli(), run))
    t = Table(title=f"dead letters ({len(items)} shown, {depth} in DLQ)")
    for col in ("id", "type", "original subject", "consumer", "deliveries", "failed at", "reason"):
        t.add_column(col, overflow="fold", justify="right" if col in ("id", "deliveries") else "left")
    for it in items:
        t.add_row(*_plain(it.seq, it.type, it.original_subject, it.consumer or "", it.deliveries or "",
                          (it.failed_at or "")[:19], _short(it.reason)))
    console.print(t)
    if items:
        console.print("by type: " + ", ".join(f"{k} {v}" for k, v in counts_by_type(items)))
        if len(items) == limit:
            console.print(f"[dim]more: b9 dlq list --after {items[-1].seq}[/]")


@dlq_app.command("show")
def show_cmd(dlq_id: int = typer.Argument(..., metavar="ID", help="dead letter ID (DLQ sequence)")) -> None:
    """One dead letter: reason, headers, payload, and its delivery history."""

    async def run(admin: DlqAdmin) -> tuple[DeadLetter | None, list[DeadLetter]]:
        item = await admin.get(dlq_id)
        if item is None:
            return None, []
        # Earlier or later failures of the same event (by event id, else by original position).
        same = await admin.scan(type_pattern=item.type, limit=1000)
        history = [d for d in same if (item.event_id and d.event_id == item.event_id)
                   or (d.original_stream == item.original_stream and d.original_seq == item.original_seq)]
        return item, history

    item, history = asyncio.run(with_admin(_cli(), run))
    if item is None:
        console.print(f"[red]no dead letter {dlq_id}[/]")
        raise typer.Exit(1)
    facts = Table(show_header=False, box=None)
    for k, v in (("id", item.seq), ("type", item.type), ("reason", item.reason),
                 ("original", f"{item.original_subject} (stream {item.original_stream}, seq {item.original_seq})"),
                 ("consumer", item.consumer), ("deliveries", item.deliveries), ("failed at", item.failed_at),
                 ("stored at", item.stored_at), ("event id", item.event_id), ("size", f"{item.size} B")):
        facts.add_row(Text(k, style="bold"), *_plain(v if v is not None else "-"))
    console.print(Panel(facts, title=f"dead letter {item.seq}"))
    headers = Table(title="headers")
    headers.add_column("header")
    headers.add_column("value", overflow="fold")
    for k, v in sorted((item.headers or {}).items()):
        headers.add_row(*_plain(k, v))
    console.print(headers)
    console.print(Panel(Syntax(_pretty(item.data or ""), "json", word_wrap=True), title="payload"))
    hist = Table(title="delivery history (dead letters of this event)")
    for col in ("id", "consumer", "deliveries", "failed at", "reason"):
        hist.add_column(col, overflow="fold")
    for d in history:
        hist.add_row(*_plain(d.seq, d.consumer or "", d.deliveries or "", d.failed_at or "", _short(d.reason, 120)))
    console.print(hist)


def _pretty(data: str) -> str:
    try:
        return json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        return data


@dlq_app.command("retry")
def retry_cmd(
    dlq_id: int | None = typer.Argument(None, metavar="[ID]", help="dead letter ID"),
    all_: bool = typer.Option(False, "--all", help="retry every dead letter (narrow with --subject/--reason)"),
    subject: str | None = typer.Option(None, "--subject", help="event type or pattern"),
    reason: str | None = typer.Option(None, "--reason", help="text the reason contains"),
) -> None:
    """Republish to the original subject, then remove from DLQ."""
    if (dlq_id is None) == (not all_):
        raise typer.BadParameter("give an ID or --all")

    async def run(admin: DlqAdmin) -> int:
        if dlq_id is not None:
            item = await admin.retry(dlq_id)
            if item is None:
                console.print(f"[red]no dead letter {dlq_id}[/]")
                raise typer.Exit(1)
            console.print(f"retried {dlq_id}: republished to {item.original_subject}")
            return 1
        return await admin.retry_all(type_pattern=subject, reason=reason)

    n = asyncio.run(with_admin(_cli(), run))
    if all_:
        console.print(f"retried {n} dead letter(s): republished to their original subjects")


@dlq_app.command("purge")
def purge_cmd(
    subject: str | None = typer.Option(None, "--subject", help="only this event type or pattern"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask"),
) -> None:
    """Delete dead letters for good."""
    cli = _cli()
    what = f"dead letters of {subject}" if subject else "ALL dead letters"
    if not yes:
        depth = asyncio.run(with_admin(cli, lambda a: a.depth()))
        typer.confirm(f"Delete {what} ({depth} in DLQ)?", abort=True)
    n = asyncio.run(with_admin(cli, lambda a: a.purge(type_pattern=subject)))
    console.print(f"purged {n} dead letter(s)")
