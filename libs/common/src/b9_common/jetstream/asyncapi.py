"""The event catalogue as an AsyncAPI 3.1.0 document, generated from the msgspec Structs.

``b9 asyncapi`` prints it and the gateway serves it at ``/asyncapi.json``. Every event
type in ``EVENTS`` becomes a channel (address = the wire subject), a message whose payload
is the envelope around that type's payload, and a ``send`` operation by its producers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from b9_common.events.catalogue import EVENTS
from b9_common.events.envelope import Envelope
from b9_common.jetstream.dlq import DLQ_HEADERS, REASON
from b9_common.jetstream.publisher import MSG_ID
from b9_common.jetstream.topology import Topology

REF = "#/components/schemas/{name}"

STREAM_TEXT = {
    "SCRAPE": "facts from upstream (limits retention, replayable)",
    "DERIVED": "results of processing facts (limits retention, replayable)",
    "COMMANDS": "on-demand work (work-queue retention: one consumer takes each message)",
}


def _channel_id(type_: str) -> str:
    return type_.replace(".", "_")


def _message_name(spec: Any) -> str:
    return str(spec.payload.__name__)


def generate(
    topology: Topology | None = None,
    *,
    version: str = "1",
    title: str = "b9 events",
    nats_url: str | None = None,
) -> dict[str, Any]:
    topology = topology or Topology()
    specs = sorted(EVENTS.values(), key=lambda s: (s.stream, s.type))
    envelopes = [Envelope[s.payload] for s in specs]  # type: ignore[name-defined]
    refs, schemas = msgspec.json.schema_components(envelopes, ref_template=REF)
    headers = {
        "type": "object",
        "properties": {
            MSG_ID: {
                "type": "string",
                "description": "The event id; JetStream drops "
                "a re-publish with the same id inside the duplicate window",
            }
        },
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec, ref in zip(specs, refs, strict=True):
        cid, name = _channel_id(spec.type), _message_name(spec)
        messages[name] = {
            "name": name,
            "title": spec.type,
            "summary": spec.summary,
            "contentType": "application/json",
            "headers": headers,
            "payload": ref,
            "x-b9-version": spec.version,
        }
        channels[cid] = {
            "address": topology.subject(spec.type),
            "title": spec.type,
            "description": f"{spec.summary}. Stream {topology.stream(spec.stream)}: "
            f"{STREAM_TEXT.get(spec.stream, '')}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"send_{cid}"] = {
            "action": "send",
            "title": f"publish {spec.type}",
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
        }
    channels["dlq"] = {
        "address": topology.dlq_subject("{type}"),
        "title": "dead letters",
        "description": "Messages rejected or past max deliveries: the original bytes, with headers "
        + ", ".join(DLQ_HEADERS)
        + f" ({REASON} says why).",
        "parameters": {"type": {"description": "the original event type"}},
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "dead letter",
        "contentType": "application/json",
        "headers": {"type": "object", "properties": {h: {"type": "string"} for h in DLQ_HEADERS}},
        "payload": {"description": "the original message bytes, unchanged"},
    }
    doc: dict[str, Any] = {
        "asyncapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every b9 event travels in one envelope (id, type, version, occurred_at, "
            "source, trace, data). Subjects carry the namespace prefix when one is set.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
    if nats_url:
        host = nats_url.split(",")[0].split("://", 1)[-1]
        doc["servers"] = {"nats": {"host": host, "protocol": "nats"}}
    return doc


def generate_json(topology: Topology | None = None, **kwargs: Any) -> bytes:
    return msgspec.json.format(msgspec.json.encode(generate(topology, **kwargs)), indent=2)
