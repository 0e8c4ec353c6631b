"""Subreddits people asked for that are not scraped yet: they count as known for discovery.

``COMMANDS`` is a work-queue stream: a ``scrape.requested.reddit`` message stays in it until the
replica that runs it acks it, so the stream holds exactly the queued and in-flight requests of
every replica. They are read with direct gets by subject (no consumer: a work-queue stream
allows only one per subject). The result is cached for ``ttl`` seconds; discovery calls this
once per refreshed subreddit. Once a command is acked, the claim key the command handler wrote
(``d.<name>`` in the scraper's KV, see cycle.py) and persistence's row keep the name known.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from b9_common.events import decoder_for
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

TYPE = "scrape.requested.reddit"


class PendingCommands:
    def __init__(self, js: Any, topology: Any, *, ttl: float = 1.0, limit: int = 10_000,
                 error_backoff: float = 30.0) -> None:
        self.js = js
        self.stream = topology.stream("COMMANDS")
        self.subject = topology.subject(TYPE)
        self.ttl = ttl
        self.limit = limit
        self.error_backoff = error_backoff  # a failing read (server away, no permission) waits
        self._names: set[str] = set()
        self._at = float("-inf")
        self._decoder = decoder_for(TYPE)

    async def names(self) -> set[str]:
        """Lower-cased names of subreddits with a command queued or in flight."""
        if time.monotonic() - self._at > self.ttl:
            names, ok = await self._read()
            self._names = names if ok else self._names | names
            self._at = time.monotonic() + (0.0 if ok else self.error_backoff)
        return set(self._names)

    async def _read(self) -> tuple[set[str], bool]:
        names: set[str] = set()
        seq = 0
        for _ in range(self.limit):
            try:
                msg = await self.js.get_msg(self.stream, seq + 1, subject=self.subject, next=True)
            except NotFoundError:
                break
            except Exception as exc:  # server away: discovery goes on with what it knows
                log.warning("could not read queued commands (next try in %.0f s): %r",
                            self.error_backoff, exc)
                return names, False
            seq = msg.seq
            try:
                cmd = self._decoder.decode(msg.data).data
            except Exception:
                continue
            if cmd.kind == "subreddit":
                names.add(cmd.name.lower())
        return names, True
