"""The cluster's auth config (infra/nats/auth.conf): a service publishes only its own subjects."""

from __future__ import annotations

import asyncio

import pytest
from b9_common.errors import PublishError
from b9_common.events import (
    MediaStored,
    RedditScrapeRequested,
    ScrapeAttempted,
    SubredditDiscovered,
)
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import STREAMS
from nats.aio.client import Client as NATS

from ._cluster import Cluster
from .conftest import provision


async def connect_watching(cluster: Cluster, user: str) -> tuple[NATS, list[str]]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await cluster.connect(user, error_cb=on_error), errors


async def test_service_users_publish_only_their_own_subjects(cluster: Cluster) -> None:
    admin = await cluster.connect("admin")
    scraper, scraper_errors = await connect_watching(cluster, "reddit-scraper")
    persistence, persistence_errors = await connect_watching(cluster, "persistence")
    try:
        topology = await provision(admin.jetstream(timeout=10))
        as_scraper = Publisher(scraper.jetstream(), topology, "reddit-scraper@test", timeout=1.0)
        as_persistence = Publisher(
            persistence.jetstream(), topology, "persistence@test", timeout=1.0
        )

        # Its own facts: stored.
        await as_scraper.publish(SubredditDiscovered(name="pics"))
        await as_scraper.publish(
            ScrapeAttempted(
                scraper="reddit", target_kind="subreddit", target="pics", outcome="success"
            )
        )
        # Another service's subjects: refused by the server, never stored.
        with pytest.raises(PublishError):
            await as_scraper.publish(
                MediaStored(
                    source_url="https://x.test/a.jpg",
                    source_id="a",
                    kind="photo",
                    content_hash="0" * 64,
                    storage_key="k",
                    content_type="image/jpeg",
                    bytes_in=1,
                    bytes_out=1,
                )
            )
        with pytest.raises(PublishError):
            await as_scraper.publish(RedditScrapeRequested(kind="subreddit", name="pics"))
        with pytest.raises(PublishError):  # persistence only writes PostgreSQL (and DLQ copies)
            await as_persistence.publish(SubredditDiscovered(name="fake"))
        # Nor may a service delete a stream (JetStream API), even though it provisions them.
        with pytest.raises(Exception):  # noqa: B017 - no response: the request never reaches the API
            await persistence.jetstream(timeout=1.0).delete_stream(topology.stream("SCRAPE"))
        await asyncio.sleep(0.2)

        ajs = admin.jetstream()
        scrape = await ajs.stream_info(topology.stream("SCRAPE"))
        derived = await ajs.stream_info(topology.stream("DERIVED"))
        commands = await ajs.stream_info(topology.stream("COMMANDS"))
        assert scrape.state.messages == 2  # the scraper's two facts only
        assert derived.state.messages == 0 and commands.state.messages == 0
        assert any(
            'permissions violation for publish to "media.stored"' in e for e in scraper_errors
        ), scraper_errors
        assert any('"scrape.requested.reddit"' in e for e in scraper_errors), scraper_errors
        assert any('"subreddit.discovered"' in e for e in persistence_errors), persistence_errors
        assert any("$js.api.stream.delete" in e.lower() for e in persistence_errors), (
            persistence_errors
        )
    finally:
        for nc in (persistence, scraper, admin):
            await nc.close()


async def test_unknown_user_and_wrong_password_are_refused(cluster: Cluster) -> None:
    cluster.passwords["gateway"] = "wrong"
    with pytest.raises(Exception):  # noqa: B017 - nats-py raises its own auth/no-servers errors
        await cluster.connect("gateway", max_reconnect_attempts=0, allow_reconnect=False)


async def test_the_gateway_sees_every_streams_consumers(cluster: Cluster) -> None:
    """The overview lists each stream's consumers and their lag, DECISIONS included (it was refused)."""
    admin = await cluster.connect("admin")
    gateway = await cluster.connect("gateway")
    try:
        topology = await provision(admin.jetstream(timeout=10))
        js = gateway.jetstream(timeout=5)
        for stream in STREAMS:
            info = await js.stream_info(topology.stream(stream))
            assert info.config.name == topology.stream(stream)
            assert isinstance(await js.consumers_info(topology.stream(stream)), list), stream
    finally:
        for nc in (gateway, admin):
            await nc.close()
