"""`b9 up` holds its data dir's lock, so a nats-server or postgres still running on that dir was
left by an earlier `b9 up` killed outright (before it made its children die with it): it is
stopped before anything starts. A server of another data dir is never touched, even one whose
path merely begins with the same text."""

from __future__ import annotations

import asyncio
from pathlib import Path

from b9_common.cli.up_backends import find_orphans, stop_orphans
from b9_common.embedded import EmbeddedNats


async def test_only_servers_of_this_data_dir_are_stopped(tmp_path: Path) -> None:
    ours = EmbeddedNats(tmp_path / "b9" / "nats")  # what an older b9 up ran: -sd <data>/nats
    other = EmbeddedNats(tmp_path / "b9-other" / "nats")
    await asyncio.gather(asyncio.to_thread(ours.start), asyncio.to_thread(other.start))
    try:
        assert ours.proc is not None and other.proc is not None
        assert [p.pid for p in find_orphans(tmp_path / "b9")] == [ours.proc.pid]
        assert await asyncio.to_thread(stop_orphans, tmp_path / "b9") == [ours.proc.pid]
        assert ours.proc.poll() is not None and other.proc.poll() is None
        assert find_orphans(tmp_path / "b9") == []
    finally:
        await asyncio.to_thread(other.stop)
        await asyncio.to_thread(ours.stop)
