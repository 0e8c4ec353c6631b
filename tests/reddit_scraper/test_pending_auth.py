"""Under the real NATS accounts (``b9_common.jetstream.auth``, as ``b9 up`` and infra run them) the
reddit-scraper user can read the queued subreddit commands discovery treats as known."""

from __future__ import annotations

import socket
from pathlib import Path

import nats
from b9_common.cli.up_backends import NatsBackend, load_or_make_passwords
from b9_common.events import RedditScrapeRequested
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_reddit_scraper.pending import PendingCommands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_reddit_scraper_user_reads_queued_commands(tmp_path: Path) -> None:
    topo = Topology()
    server = NatsBackend(tmp_path, _free_port(), load_or_make_passwords(tmp_path), topo)
    await server.start()
    conns = []
    try:
        admin = await nats.connect(server.url_for("admin"), allow_reconnect=False)
        conns.append(admin)
        await topo.provision(admin.jetstream(timeout=5))
        gateway = await nats.connect(server.url_for("gateway"), allow_reconnect=False)
        conns.append(gateway)
        pub = Publisher(gateway.jetstream(timeout=5), topo, "gateway@test")
        for name in ("Pics", "aww"):
            await pub.publish(RedditScrapeRequested(kind="subreddit", name=name))
        await pub.publish(RedditScrapeRequested(kind="user", name="spez"))
        scraper = await nats.connect(server.url_for("reddit-scraper"), allow_reconnect=False)
        conns.append(scraper)
        pending = PendingCommands(scraper.jetstream(timeout=2), topo)
        assert await pending.names() == {"pics", "aww"}
    finally:
        for nc in conns:
            await nc.close()
        await server.stop()
