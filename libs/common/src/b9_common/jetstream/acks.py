"""Acks of per-event handlers, written together.

A per-event consumer acks each message when its handler returns; one ``nc.publish`` each was
the largest single cost of the runtime's per-message path after nats-py's own parsing. ``Acks``
collects the reply subjects and writes them as one ``natsio.write_frames`` once per event-loop
turn (a small task woken by the first ack of a turn). While disconnected it falls back to
``publish`` (nats-py's reconnect buffer). An ack that is never written only means the server
redelivers after ``ack_wait``: the runtime stays at-least-once. ``close`` writes what is left.
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client as NATS

from b9_common.jetstream.natsio import ack_frames, can_frame, write_frames

log = logging.getLogger(__name__)

ACK = b"+ACK"


class Acks:
    def __init__(self, nc: NATS, name: str = "") -> None:
        self.nc = nc
        self.name = name
        self.replies: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.writes = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"acks:{self.name}")

    def add(self, reply: str) -> None:
        if not self.replies:
            self._wake.set()
        self.replies.append(reply)

    async def flush(self) -> None:
        replies, self.replies = self.replies, []
        if not replies:
            return
        self.writes += 1
        try:
            if can_frame(self.nc, 0):
                await write_frames(self.nc, ack_frames(replies), len(replies), len(ACK) * len(replies))
            else:
                for reply in replies:
                    await self.nc.publish(reply, ACK)
        except Exception as exc:  # connection gone: the server redelivers after ack_wait
            log.warning("could not ack %d messages: %s", len(replies), exc, extra={"consumer": self.name})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
