"""`b9 status` / `b9 streams`: a readable view of streams, consumers, lag, DLQ and replicas."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import nats
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from rich.table import Table
from rich.text import Text

from b9_common.cli.settings import CliSettings, make_console, redact
from b9_common.cli.up_reach import connect_cli
from b9_common.jetstream.kv import kv_keys
from b9_common.jetstream.topology import STREAMS, Topology
from b9_common.ops.heartbeat import Beat

console = make_console()


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n //= 1024
    return f"{n} TB"


async def status(s: CliSettings, services: bool = True) -> int:
    nc = await connect_cli(s)
    try:
        return await _report(nc, s, services)
    finally:
        await nc.close()


async def _report(nc: NATS, s: CliSettings, services: bool) -> int:
    url = redact(nc.connected_url.geturl() if nc.connected_url else "")
    js = nc.jetstream(timeout=5)
    topo = Topology(namespace=s.b9_namespace)
    st = Table(title=f"streams at {url}")
    for col in ("stream", "messages", "size", "first seq", "last seq", "consumers"):
        st.add_column(col, justify="right" if col != "stream" else "left")
    ct = Table(title="consumers")
    for col in ("stream", "consumer", "pending (lag)", "ack pending", "redelivered", "waiting"):
        ct.add_column(col, justify="right" if col not in ("stream", "consumer") else "left")
    dlq_depth = 0
    for name in STREAMS:
        stream = topo.stream(name)
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            st.add_row(stream, "-", "-", "-", "-", "not created")
            continue
        state = info.state
        st.add_row(stream, f"{state.messages:,}", _size(state.bytes), str(state.first_seq),
                   str(state.last_seq), str(state.consumer_count))
        if name == "DLQ":
            dlq_depth = state.messages
        for c in await js.consumers_info(stream):
            ct.add_row(stream, c.name, f"{c.num_pending:,}", f"{c.num_ack_pending:,}",
                       f"{c.num_redelivered:,}", str(c.num_waiting))
    console.print(st)
    console.print(ct)
    console.print(f"DLQ depth: [{'red' if dlq_depth else 'green'}]{dlq_depth}[/]")
    if services:
        await _services(js, topo)
    return 0


async def _services(js: nats.js.JetStreamContext, topo: Topology) -> None:
    rt = Table(title="service replicas (heartbeats)")
    for col in ("service", "replica", "status", "version", "age", "detail"):
        rt.add_column(col)
    try:
        kv = await js.key_value(topo.bucket("heartbeats"))
        keys = await kv_keys(kv)
    except Exception:
        keys = []
    now = datetime.now(UTC)
    for key in sorted(keys):
        try:
            entry = await kv.get(key)
            beat = msgspec.json.decode(entry.value or b"", type=Beat)
        except Exception:
            continue
        age = (now - beat.at).total_seconds()
        detail = ", ".join(f"{k}={v}" for k, v in list(beat.detail.items())[:4])
        # what services report is shown as it is (a "[/x]" in a detail is not rich markup)
        rt.add_row(*(Text(v) for v in (beat.service, beat.replica, beat.status, beat.version, f"{age:.0f}s", detail)))
    console.print(rt if keys else "no live service replicas")
