"""An in-memory mirror of the accounts and sessions buckets, fed by KV watches.

Every gateway worker keeps one: a lookup is a dict read, and a logout, a disabled account or
a rotated key reaches every worker as soon as the watch delivers it (milliseconds). A key the
mirror does not know yet (an account created a moment ago, a session opened on another
worker) is read from the bucket once; an entry is only ever replaced by a newer revision, so
a slow read cannot bring back a session the watch has already seen deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from b9_common.accounts.store import Account, AccountStore, Session, key_matches, session_key, session_valid, split_key
from b9_common.jetstream.natsio import bucket_name

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Mirror(Generic[T]):
    """key -> (revision, value or None when deleted) for the keys starting with ``prefix``."""

    def __init__(self, kv: KeyValue, prefix: str, decode: Callable[[bytes], T]) -> None:
        self.kv = kv
        self.prefix = prefix
        self.decode = decode
        self.entries: dict[str, tuple[int, T | None]] = {}
        self.armed = asyncio.Event()

    def apply(self, key: str, revision: int, raw: bytes | None, op: str | None) -> None:
        current = self.entries.get(key)
        if current is not None and current[0] > revision:
            return
        value = None if raw is None or op in ("DEL", "PURGE") else self._decode(key, raw)
        self.entries[key] = (revision, value)

    def _decode(self, key: str, raw: bytes) -> T | None:
        try:
            return self.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("ignoring unreadable %s (%s)", key, exc)
            return None

    async def get(self, key: str) -> T | None:
        hit = self.entries.get(key)
        if hit is not None:
            return hit[1]
        await self.refresh(key)
        hit = self.entries.get(key)
        return hit[1] if hit else None

    async def refresh(self, key: str) -> None:
        """Read ``key`` from the bucket now (after this process changed it: its own next request
        must not wait for the watch)."""
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError as exc:
            gone = getattr(exc, "entry", None)  # deleted: the tombstone's revision
            if gone is not None and gone.revision:
                self.apply(key, gone.revision, None, "DEL")
            elif key in self.entries:  # purged
                self.apply(key, self.entries[key][0], None, "PURGE")
            return  # never existed: not remembered (made-up keys must not grow the mirror)
        self.apply(key, entry.revision or 0, entry.value, entry.operation)

    async def run(self) -> None:
        while True:
            try:
                watcher = await self.kv.watchall()
                try:
                    fresh: dict[str, tuple[int, T | None]] | None = {}
                    async for entry in watcher:
                        if entry is None:  # the current values are read: swap them in
                            if fresh is not None:
                                self.entries, fresh = fresh, None
                                self.armed.set()
                            continue
                        if not entry.key.startswith(self.prefix):
                            continue
                        if fresh is not None:
                            raw = entry.value
                            deleted = raw is None or entry.operation in ("DEL", "PURGE")
                            value = None if deleted or raw is None else self._decode(entry.key, raw)
                            fresh[entry.key] = (entry.revision or 0, value)
                        else:
                            self.apply(entry.key, entry.revision or 0, entry.value, entry.operation)
                finally:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS reconnecting, bucket recreated: watch again
                log.warning("watching %s failed (%s); retrying", bucket_name(self.kv), exc)
                await asyncio.sleep(1.0)


class AccountsMirror:
    """Who a key or a session cookie belongs to, from memory (see the module's docstring)."""

    def __init__(self, store: AccountStore) -> None:
        self.store = store
        self._accounts: _Mirror[Account] = _Mirror(
            store.accounts, "a.", lambda raw: msgspec.json.decode(raw, type=Account))
        self._sessions: _Mirror[Session] = _Mirror(
            store.sessions, "s.", lambda raw: msgspec.json.decode(raw, type=Session))
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    async def start(self, within: float = 5.0) -> None:
        """Start watching (once) and wait until both buckets' current values are read."""
        async with self._lock:
            if not self._tasks:
                self._tasks = [asyncio.create_task(m.run(), name=f"accounts-mirror:{m.prefix}")
                               for m in (self._accounts, self._sessions)]
        await asyncio.wait_for(asyncio.gather(self._accounts.armed.wait(), self._sessions.armed.wait()), within)

    @property
    def ready(self) -> bool:
        return self._accounts.armed.is_set() and self._sessions.armed.is_set()

    async def close(self) -> None:
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def refresh_account(self, account_id: str) -> None:
        await self._accounts.refresh(f"a.{account_id}")

    async def refresh_session(self, token: str) -> None:
        await self._sessions.refresh(session_key(token))

    async def account(self, account_id: str) -> Account | None:
        return await self._accounts.get(f"a.{account_id}")

    async def by_key(self, key: str) -> Account | None:
        """The enabled account whose API key this is."""
        parts = split_key(key)
        if parts is None:
            return None
        account = await self.account(parts[0])
        if account is not None and not key_matches(account, parts[1]):
            # Maybe a key rotated (or an account enabled) a moment ago elsewhere, and the watch
            # has not brought it yet: read once more (wrong keys are rate-limited by the caller).
            await self.refresh_account(account.id)
            account = await self.account(parts[0])
        return account if account is not None and key_matches(account, parts[1]) else None

    async def by_session(self, token: str, bootstrap: Account | None = None) -> Account | None:
        """The account of a live session (``bootstrap``: the GATEWAY_API_KEY account, if any)."""
        if not token or len(token) > 200:
            return None
        session = await self._sessions.get(session_key(token))
        if session is None:
            return None
        if bootstrap is not None and session.account_id == bootstrap.id:
            account: Account | None = bootstrap
        else:
            account = await self.account(session.account_id)
            if account is not None and not session_valid(session, account):
                await self.refresh_account(account.id)  # maybe begun under a key we have not seen yet
                account = await self.account(session.account_id)
        return account if session_valid(session, account) else None
