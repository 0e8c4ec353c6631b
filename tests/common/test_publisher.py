"""Publisher: bulk publishing is acknowledged and deduplicated; a missing stream is a clear error."""

from __future__ import annotations

import pytest
from b9_common.errors import PublishError
from b9_common.events import SubredditDiscovered
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.service import Runtime


async def test_publish_many_acks_every_event_and_dedups_ids(rt: Runtime) -> None:
    envs = [rt.publisher.envelope(SubredditDiscovered(name=f"s{i}")) for i in range(3000)]
    assert await rt.publisher.publish_many(envs) == 3000
    assert await rt.publisher.publish_many(envs[:500]) == 500  # acked as duplicates
    info = await rt.js.stream_info(rt.topology.stream("SCRAPE"))
    assert info.state.messages == 3000


async def test_publish_without_stream_is_a_clear_error(rt: Runtime) -> None:
    orphan = Publisher(rt.js, Topology(namespace=rt.topology.namespace + "x"), "tests@0", timeout=2)
    with pytest.raises(PublishError, match="no stream"):
        await orphan.publish(SubredditDiscovered(name="a"))
    with pytest.raises(PublishError, match="no stream accepts"):
        await orphan.publish_many([SubredditDiscovered(name="b")])


def test_event_ids_are_valid_time_ordered_ulids() -> None:
    import time

    from b9_common.events import new_id
    from ulid import ULID

    before = time.time()
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == 2000 and all(len(i) == 26 for i in ids)
    stamps = [ULID.from_str(i).timestamp for i in ids]
    assert before - 0.01 <= stamps[0] <= stamps[-1] <= time.time() + 0.01
