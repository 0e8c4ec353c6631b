"""The keys of a JetStream KV bucket, read from its stream's per-subject counts.

Not nats-py's ``KeyValue.keys()``: its watcher reads the consumer's pending count after the
server may already have delivered every entry, and then puts its "no more keys" marker first,
answering "no keys" for a bucket that has them (seen under load: an empty account list, and
the same can hide every heartbeat). This reads the stream's subjects in one request instead.
Deleted keys are included (their delete marker is the subject's last message): callers skip
them when they read the value. The bucket's stream name and subject prefix are nats-py
attributes, read through ``natsio.kv_parts`` (the nats-py seam).
"""

from __future__ import annotations

from nats.js.kv import KeyValue

from b9_common.jetstream.natsio import kv_parts


async def kv_keys(kv: KeyValue, prefix: str = "") -> list[str]:
    js, stream, pre = kv_parts(kv)
    info = await js.stream_info(stream, subjects_filter=f"{pre}{prefix}>")
    return sorted(subject[len(pre):] for subject in (info.state.subjects or {}))
