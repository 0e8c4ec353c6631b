"""Commands first: on-demand work a person asked for goes ahead of the cycle.

A command runs inside ``async with gate.command():``. The cycle waits for ``wait_idle()``
before it starts a new target, and its tasks can mark themselves ``background()`` so that
``wait_turn()`` (called before each upstream request) holds them while commands run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

_BACKGROUND: ContextVar[bool] = ContextVar("b9_scraping_background", default=False)


class CommandsFirst:
    """Commands in progress; cycle work waits until there are none."""

    def __init__(self) -> None:
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @asynccontextmanager
    async def command(self) -> AsyncIterator[None]:
        self.active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    @staticmethod
    def background() -> None:
        """Mark the current task (its context) as cycle work."""
        _BACKGROUND.set(True)

    @staticmethod
    def in_background() -> bool:
        """Is the current task cycle work (``background()``)? Budgets let the others go first."""
        return _BACKGROUND.get()

    async def wait_turn(self) -> None:
        """Before a request: cycle work waits while commands run; commands go at once."""
        if _BACKGROUND.get():
            await self._idle.wait()
