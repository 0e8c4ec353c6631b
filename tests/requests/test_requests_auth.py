"""Under the real NATS accounts (``b9_common.jetstream.auth``, as ``b9 up`` and infra run them) the
gateway opens, updates and watches requests, and every service that runs commands reports them;
a service without the permission (persistence) cannot."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import nats
import pytest
from b9_common.cli.up_backends import NatsBackend, load_or_make_passwords
from b9_common.jetstream.topology import Topology
from b9_common.ops.requests import Reporter, RequestBook


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_each_role_reaches_the_requests_bucket(tmp_path: Path) -> None:
    topo = Topology()
    server = NatsBackend(tmp_path, _free_port(), load_or_make_passwords(tmp_path), topo)
    await server.start()
    conns = []
    try:
        async def js_of(user: str):  # type: ignore[no-untyped-def]
            nc = await nats.connect(server.url_for(user), allow_reconnect=False)
            conns.append(nc)
            return nc.jetstream(timeout=2)

        gw = RequestBook(await topo.requests_kv(await js_of("gateway")))
        rec, created = await gw.open({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "kind": "subreddit", "target": "pics"})
        assert created
        again, created = await gw.open({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAW", "kind": "subreddit", "target": "pics"})
        assert not created and again["id"] == rec["id"]
        watcher = await gw.kv.watchall()
        for service in ("reddit-scraper", "instagram-scraper", "categorizer", "media"):
            book = RequestBook(await topo.requests_kv(await js_of(service)))
            await Reporter(book, service).set(rec["id"], "running")
            got = await gw.get(rec["id"])
            assert got is not None and got["replica"] == service, (service, got)
        await watcher.stop()
        # persistence has no business there: its writes are refused (the reporter only logs)
        denied = RequestBook(await topo.requests_kv(await js_of("persistence")))
        with pytest.raises(Exception):  # noqa: B017 - a permission violation surfaces as a timeout
            await asyncio.wait_for(denied.set(rec["id"], "done"), 3)
        assert (await gw.get(rec["id"]) or {})["status"] == "running"
    finally:
        for nc in conns:
            await nc.close()
        await server.stop()
