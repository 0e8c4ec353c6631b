"""`b9 rebuild --verify`'s second half: let the live consumers reach the rebuild's end, compare
every table (``rebuild_compare``), print one line per table and the verdict.

The live read model is compared as it is once persistence's live durable consumers have
settled every message up to the sequences the rebuild stopped at (waited for up to ``wait``
seconds). Messages stored after the rebuild started are in the live tables only: when there
are any, the verdict says so (compare on a quiet system).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from b9_common.service import connect
from rich.console import Console

from b9_persistence import __version__
from b9_persistence.rebuild import RebuildReport
from b9_persistence.rebuild_compare import TableDiff, compare
from b9_persistence.settings import Settings

log = logging.getLogger(__name__)


async def live_caught_up(settings: Settings, report: RebuildReport, wait: float = 60.0) -> tuple[list[str], int]:
    """Wait until each live durable (same name as in persistence's specs) has settled up to the
    rebuild's end sequence. Returns (notes, messages stored since the rebuild started)."""
    rt = await connect(settings, "rebuild-verify", __version__, connect_timeout=10)
    notes: list[str] = []
    newer = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        for run in report.runs:
            stream = rt.topology.stream(run.stream)
            name = run.consumer.spec.name
            while True:
                try:
                    info = await rt.js.consumer_info(stream, name)
                except Exception:
                    notes.append(f"{run.stream}: no live consumer {name!r} (persistence never ran here?)")
                    break
                floor = info.ack_floor.stream_seq if info.ack_floor else 0
                idle = not info.num_pending and not info.num_ack_pending
                if floor >= run.plan.end or idle:
                    break
                if loop.time() > deadline:
                    notes.append(f"{run.stream}: live {name} has settled up to #{floor:,} only "
                                 f"(rebuild went to #{run.plan.end:,}); compared anyway")
                    break
                await asyncio.sleep(0.2)
            last = (await rt.js.stream_info(stream)).state.last_seq
            newer += max(0, last - run.plan.end)
    finally:
        await rt.close()
    return notes, newer


async def migrations_apart(live_url: str, rebuilt_url: str) -> list[str]:
    """A migration the rebuild applied and the live database has not (or the reverse) makes its
    tables differ by columns: say so (persistence applies new migrations when it restarts)."""
    names = []
    for url in (live_url, rebuilt_url):
        conn = await asyncpg.connect(url)
        try:
            names.append({r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")})
        finally:
            await conn.close()
    notes = []
    if names[1] - names[0]:
        notes.append(f"the live database lacks migrations {sorted(names[1] - names[0])} "
                     "(restart persistence to apply them)")
    if names[0] - names[1]:
        notes.append(f"the live database has migrations this code does not: {sorted(names[0] - names[1])}")
    return notes


def line(d: TableDiff) -> str:
    head = f"{d.table:<28} live {d.live_rows:>10,}  rebuilt {d.rebuilt_rows:>10,}  "
    if d.problem:
        return head + f"[red]{d.problem}[/]"
    if d.identical:
        return head + "[green]identical[/]"
    text = head + f"[red]{d.differing:,} differing keys[/]"
    return text + "".join(f"\n    {e}" for e in d.examples)


async def verify_against(settings: Settings, report: RebuildReport, live_url: str, rebuilt_url: str,
                         console: Console, wait: float = 60.0) -> bool:
    notes, newer = await live_caught_up(settings, report, wait)
    notes += await migrations_apart(live_url, rebuilt_url)
    for note in notes:
        console.print(f"[yellow]{note}[/]")
    diffs = await compare(live_url, rebuilt_url, on_table=lambda d: console.print(line(d), highlight=False))
    bad = [d for d in diffs if not d.identical]
    rows = sum(d.live_rows for d in diffs)
    if not bad:
        console.print(f"[green]identical: {len(diffs)} tables, {rows:,} rows[/]")
        return True
    keys = sum(d.differing for d in bad)
    console.print(f"[red]different: {len(bad)} of {len(diffs)} tables "
                  f"({', '.join(d.table for d in bad)}), {keys:,} differing keys[/]")
    if newer:
        console.print(f"[yellow]{newer:,} messages were stored after the rebuild started: the live tables "
                      "hold them, the rebuilt ones do not (verify on a quiet system)[/]")
    return False
