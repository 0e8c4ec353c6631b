"""Publishing results in bulk (``Publisher.publish_many``, which frames ``HPUB`` itself while
connected): every message is stored in order with its ``Nats-Msg-Id``, so a re-publish of the
same results is deduplicated; ids the framing does not handle go through the client's own
``publish`` in their place."""

from __future__ import annotations

import pytest
from b9_common.events import SubredditDiscovered
from b9_common.service import Runtime
from nats.errors import MaxPayloadError


async def test_bulk_publish_keeps_order_and_ids_and_dedups(rt: Runtime) -> None:
    pub = rt.publisher
    envs = [pub.envelope(SubredditDiscovered(name=f"f{i}"), id_=f"r-{i}") for i in range(1500)]
    odd = pub.envelope(SubredditDiscovered(name="odd"), id_="résultat-ü")  # non-ASCII: client path
    batch = [*envs[:700], odd, *envs[700:]]
    assert await pub.publish_many(batch) == 1501
    assert await pub.publish_many(batch) == 1501  # acked again, as duplicates
    stream = rt.topology.stream("SCRAPE")
    info = await rt.js.stream_info(stream)
    assert info.state.messages == 1501
    for seq, env in ((1, envs[0]), (700, envs[699]), (701, odd), (702, envs[700]), (1501, envs[-1])):
        msg = await rt.js.get_msg(stream, seq)
        assert msg.data is not None and msg.data.startswith(f'{{"id":"{env.id}"'.encode())
        if env is not odd:  # (get_msg's header parser garbles non-ASCII values)
            assert (msg.headers or {}).get("Nats-Msg-Id") == env.id


async def test_oversized_event_is_the_clients_error(rt: Runtime) -> None:
    big = SubredditDiscovered(name="x" * (rt.nc.max_payload + 10))
    with pytest.raises(MaxPayloadError):
        await rt.publisher.publish_many([SubredditDiscovered(name="small"), big])
