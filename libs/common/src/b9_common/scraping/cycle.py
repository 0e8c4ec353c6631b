"""One pass of a cycle: claimed targets worked on ``batch_size`` at a time, stopped by a disable.

``run_claimed`` starts ``work(item)`` for every item whose ``claim(item)`` this replica wins,
with at most ``control.config.batch_size`` running (read before each start, so a change
applies at once); with a ``gate`` it waits for commands to finish before each start.

When the scraper is disabled (the control value, or a task ending in ``ScraperDisabled``) no
new item starts and ``ScraperDisabled`` is raised once the tasks in flight have ended:
cancelled at once with ``cancel_on_disable``, else left to end by themselves (their next
``check``/``sleep`` raises; a request already sent is read and reported). Every task's
exception is retrieved; ``work`` owns its claim (finish or release it, even when cancelled).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

from b9_common.scraping.control import ControlWatch, ScraperDisabled
from b9_common.scraping.gate import CommandsFirst

log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_claimed(items: Iterable[T], *, control: ControlWatch[Any],
                      claim: Callable[[T], Awaitable[bool]], work: Callable[[T], Coroutine[Any, Any, None]],
                      gate: CommandsFirst | None = None, cancel_on_disable: bool = False) -> int:
    """Work through ``items``; the number of items started (raises ScraperDisabled)."""
    it = iter(items)
    running: set[asyncio.Task[None]] = set()
    disabled = asyncio.ensure_future(control.wait_disabled())
    started = 0
    try:
        while True:
            while control.enabled and len(running) < control.config.batch_size:
                if gate is not None:
                    await _first(gate.wait_idle(), disabled)
                    if not control.enabled:
                        break
                item = next(it, None)
                if item is None:
                    break
                if await claim(item):
                    running.add(asyncio.create_task(work(item)))
                    started += 1
            if not control.enabled:
                await _stop(running, cancel=cancel_on_disable)
                raise ScraperDisabled("disabled during the cycle")
            if not running:
                return started
            done, _ = await asyncio.wait({*running, disabled}, return_when=asyncio.FIRST_COMPLETED)
            running -= done
            if disabled in done or _ended_disabled(done):
                await _stop(running, cancel=cancel_on_disable)
                raise ScraperDisabled("disabled during the cycle")
    finally:  # shutdown or an error of claim(): nothing is left running
        disabled.cancel()
        await _stop(running, cancel=True)


async def _first(waiting: Awaitable[None], disabled: asyncio.Future[None]) -> None:
    """Wait for ``waiting`` or the disable, whichever comes first."""
    task = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait({task, disabled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()


def _ended_disabled(done: Iterable[asyncio.Future[Any]]) -> bool:
    """Retrieve every finished task's exception (unretrieved ones are logged by asyncio as
    "Task exception was never retrieved"); True if one of them was ScraperDisabled."""
    seen = False
    for task in done:
        if task.cancelled():
            continue
        exc = task.exception()
        if isinstance(exc, ScraperDisabled):
            seen = True
        elif exc is not None:
            log.error("cycle work failed", exc_info=exc)
    return seen


async def _stop(running: set[asyncio.Task[None]], *, cancel: bool) -> None:
    """Wait for the tasks in flight (cancelled first when ``cancel``), retrieving each result."""
    if not running:
        return
    if cancel:
        for task in running:
            task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    running.clear()
