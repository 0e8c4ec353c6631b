"""Batch handlers of the two consumers: SCRAPE facts and ``categorize.requested`` commands."""

from __future__ import annotations

from dataclasses import dataclass

from b9_common.events import CategorizeRequested, CreatorScraped, SubredditFetched
from b9_common.jetstream.delivery import Delivery
from b9_common.ops.requests import Reporter

from b9_categorizer.content import (
    CreatorInput,
    SubredditInput,
    creator_input,
    item_input,
    subreddit_input,
)
from b9_categorizer.pipeline import Mark, Pipeline

MAX_DELIVER = 6  # main.COMMANDS_SPEC.max_deliver: the last delivery of a retried chunk settles it


async def handle_scrape(pipeline: Pipeline, ds: list[Delivery]) -> None:
    """``subreddit.fetched`` and ``creator.scraped``: tag what changed, skip the rest."""
    subs: list[tuple[Mark, SubredditInput, str | None]] = []
    creators: list[tuple[Mark, CreatorInput, str | None]] = []
    for d in ds:
        assert d.envelope is not None
        data = d.envelope.data
        if isinstance(data, SubredditFetched):
            if data.availability != "ok":
                d.skip(f"subreddit {data.availability}")
                continue
            subs.append((d, subreddit_input(data), d.envelope.trace))
        elif isinstance(data, CreatorScraped):
            if data.availability != "ok" or data.is_private:
                d.skip(f"creator {'private' if data.is_private else data.availability}")
                continue
            creators.append((d, creator_input(data), d.envelope.trace))
        else:
            d.skip(f"not for the categorizer: {d.type}")
    if subs:
        await pipeline.subreddits(subs)
    if creators:
        await pipeline.creators(creators)


@dataclass
class ItemMark:
    """The outcome of one item of a command."""

    key: str
    outcome: str | None = None
    reason: str = ""
    delay: float | None = None

    def retry(self, reason: str, delay: float | None = None) -> None:
        self.outcome, self.reason, self.delay = "retry", reason, delay

    def reject(self, reason: str) -> None:
        self.outcome, self.reason = "reject", reason

    def skip(self, reason: str = "unchanged") -> None:
        self.outcome, self.reason = "skip", reason


def settle_command(d: Delivery, marks: list[ItemMark]) -> None:
    """A command is retried if any item is transient, else dead-lettered if any item failed.

    Items already tagged are in the cache by then, so a retry or a DLQ replay only sends
    the items that failed (``force`` applies to the first delivery only).
    """
    retry = [m for m in marks if m.outcome == "retry"]
    if retry:
        delays = [m.delay for m in retry if m.delay is not None]
        d.retry(
            f"{len(retry)} item(s) transient: {retry[0].key}: {retry[0].reason}",
            max(delays) if delays else None,
        )
        return
    rejected = [m for m in marks if m.outcome == "reject"]
    if rejected:
        keys = ", ".join(m.key for m in rejected[:10])
        d.reject(f"{len(rejected)} of {len(marks)} item(s) failed ({keys}): {rejected[0].reason}")


async def report_part(reporter: Reporter, pipeline: Pipeline, d: Delivery, cmd: CategorizeRequested,
                      marks: list[ItemMark]) -> None:
    """A followed categorization (``request_id``, one request for all the chunks of a job):
    this chunk's counts once it is settled; a chunk that will be retried is not settled yet."""
    if cmd.request_id is None:
        return
    if d.outcome == "retry" and d.meta.num_delivered < MAX_DELIVER:
        return
    counts = {"tagged": sum(m.outcome is None for m in marks), "unchanged": sum(m.outcome == "skip" for m in marks),
              "failed": sum(m.outcome in ("reject", "retry") for m in marks)}
    method, model, _ = pipeline.subreddit_model
    kind = cmd.items[0].kind if cmd.items else "subreddit"

    def result(total: dict[str, int]) -> dict[str, object]:
        return {**total, "kind": kind, "method": method, "model": model,
                "api": "/api/v1/categorization/stats"}

    await reporter.part(cmd.request_id, d.envelope.id if d.envelope else "?", counts, result)


async def handle_commands(pipeline: Pipeline, ds: list[Delivery], reporter: Reporter | None = None) -> None:
    report = reporter or Reporter(None)
    for d in ds:
        assert d.envelope is not None
        cmd: CategorizeRequested = d.envelope.data
        await report.start(cmd.request_id)
        force = cmd.force and d.meta.num_delivered == 1
        subs: list[tuple[Mark, SubredditInput, str | None]] = []
        creators: list[tuple[Mark, CreatorInput, str | None]] = []
        marks: list[ItemMark] = []
        for item in cmd.items:
            mark = ItemMark(item.key)
            marks.append(mark)
            inp = item_input(item)
            if isinstance(inp, SubredditInput):
                subs.append((mark, inp, d.envelope.trace))
            else:
                creators.append((mark, inp, d.envelope.trace))
        if subs:
            await pipeline.subreddits(subs, force=force)
        if creators:
            await pipeline.creators(creators, force=force)
        settle_command(d, marks)
        await report_part(report, pipeline, d, cmd, marks)
