"""The accounts store and its in-memory mirror against a real NATS server."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from b9_common.accounts.mirror import AccountsMirror
from b9_common.accounts.store import AccountError, AccountStore, Session, ensure_admin, session_key, split_key
from b9_common.service import Runtime


async def _store(rt: Runtime) -> AccountStore:
    await rt.topology.provision(rt.js)
    return AccountStore(await rt.topology.accounts_kv(rt.js), await rt.topology.sessions_kv(rt.js))


async def _until(check, within: float = 1.0) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``await check()`` is true; fails after ``within``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await check():
        if loop.time() - start > within:
            raise AssertionError(f"not within {within} s")
        await asyncio.sleep(0.01)
    return loop.time() - start


async def test_add_list_keys_and_names(rt: Runtime) -> None:
    store = await _store(rt)
    assert await store.list() == []
    alice, key = await store.add("alice", "reviewer")
    viewer, vkey = await store.add("vic", "viewer")
    assert split_key(key) is not None and split_key(key)[0] == alice.id  # type: ignore[index]
    assert key.startswith(f"b9_{alice.id}_") and key != vkey
    assert alice.key_hash not in key  # only the hash is stored
    raw = (await store.accounts.get(f"a.{alice.id}")).value or b""
    assert split_key(key)[1].encode() not in raw  # type: ignore[index]
    assert [a.name for a in await store.list()] == ["alice", "vic"]
    assert (await store.by_name("vic")) == viewer
    assert (await store.check_key(key)) == alice
    assert await store.check_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert await store.check_key(f"b9_{viewer.id}_{split_key(key)[1]}") is None  # type: ignore[index]
    assert await store.check_key("nonsense") is None
    with pytest.raises(AccountError, match="exists"):
        await store.add("alice", "admin")
    with pytest.raises(AccountError, match="invalid role"):
        await store.add("bob", "god")
    with pytest.raises(AccountError, match="invalid name"):
        await store.add("bob smith", "viewer")
    with pytest.raises(AccountError, match="no account"):
        await store.set_disabled("nobody")


async def test_disable_and_rotate_end_keys_and_sessions(rt: Runtime) -> None:
    store = await _store(rt)
    bob, key = await store.add("bob", "reviewer")
    token, _ = await store.open_session(bob, 60)
    assert (await store.session(token)) is not None
    rotated, new_key = await store.rotate("bob")
    assert rotated.key_rotated_at >= bob.key_rotated_at and rotated.key_hash != bob.key_hash
    assert await store.check_key(key) is None
    assert (await store.check_key(new_key)) == rotated
    await store.set_disabled("bob")
    assert await store.check_key(new_key) is None
    assert (await store.set_disabled("bob", False)).disabled is False
    assert (await store.check_key(new_key)) is not None
    await store.close_session(token)
    assert await store.session(token) is None


async def test_ensure_admin_creates_once(rt: Runtime) -> None:
    store = await _store(rt)
    admin, key = await ensure_admin(store)
    assert admin.role == "admin" and key is not None and (await store.check_key(key)) == admin
    again, key2 = await ensure_admin(store)
    assert again.id == admin.id and key2 is None


async def test_mirror_follows_logout_disable_and_rotation_within_a_second(rt: Runtime) -> None:
    store = await _store(rt)
    carol, key = await store.add("carol", "reviewer")
    token, _ = await store.open_session(carol, 60)
    mirror = AccountsMirror(store)
    await mirror.start()
    try:
        assert (await mirror.by_session(token)) == carol
        assert (await mirror.by_key(key)) == carol
        # created after the mirror started: found (read once from the bucket, then watched)
        dave, dkey = await store.add("dave", "viewer")
        assert (await mirror.by_key(dkey)) == dave
        other, _ = await store.open_session(dave, 60)
        assert (await mirror.by_session(other)) == dave

        await store.close_session(token)
        await _until(lambda: _is_none(mirror.by_session(token)))
        await store.set_disabled("dave")
        await _until(lambda: _is_none(mirror.by_key(dkey)))
        assert await mirror.by_session(other) is None  # a disabled account's sessions end too
        await store.rotate("carol")
        await _until(lambda: _is_none(mirror.by_key(key)))
    finally:
        await mirror.close()


async def test_mirror_refuses_expired_sessions_and_keeps_the_newest_revision(rt: Runtime) -> None:
    store = await _store(rt)
    erin, _ = await store.add("erin", "viewer")
    expired = Session(account_id=erin.id, key_hash=erin.key_hash, created_at=1.0, expires_at=2.0)
    await store.sessions.put(session_key("old-token"), msgspec.json.encode(expired))
    mirror = AccountsMirror(store)
    await mirror.start()
    try:
        assert await mirror.by_session("old-token") is None
        token, _ = await store.open_session(erin, 60)
        entry = await store.sessions.get(session_key(token))
        await store.close_session(token)
        await _until(lambda: _is_none(mirror.by_session(token)))
        # a late read of the session's older revision does not bring it back
        mirror._sessions.apply(entry.key, entry.revision or 0, entry.value, entry.operation)
        assert await mirror.by_session(token) is None
    finally:
        await mirror.close()


async def _is_none(aw) -> bool:  # type: ignore[no-untyped-def]
    return (await aw) is None


async def test_mirror_reads_its_own_changes_at_once_and_deleted_keys_are_misses(rt: Runtime) -> None:
    store = await _store(rt)
    gus, key = await store.add("gus", "reviewer")
    token, _ = await store.open_session(gus, 60)
    unwatched = AccountsMirror(store)  # not started: every answer comes from reading the bucket
    assert (await unwatched.by_session(token)) == gus
    await store.close_session(token)
    await unwatched.refresh_session(token)  # what the gateway does after its own logout
    assert await unwatched.by_session(token) is None
    other = AccountsMirror(store)
    assert await other.by_session(token) is None  # a deleted key read from the bucket: no error
    await store.set_disabled("gus")
    assert (await unwatched.by_key(key)) is not None  # still the old value in memory ...
    await unwatched.refresh_account(gus.id)
    assert await unwatched.by_key(key) is None  # ... until this process reads its own change


async def test_a_key_rotated_elsewhere_works_before_the_watch_brings_it(rt: Runtime) -> None:
    store = await _store(rt)
    hal, old = await store.add("hal", "reviewer")
    unwatched = AccountsMirror(store)  # stands for a worker whose watch is behind
    assert (await unwatched.by_key(old)) == hal
    rotated, new = await store.rotate("hal")  # another process
    assert (await unwatched.by_key(new)) == rotated  # a mismatch reads the account again
    assert await unwatched.by_key(old) is None
    token, _ = await store.open_session(rotated, 60)
    assert (await unwatched.by_session(token)) == rotated
