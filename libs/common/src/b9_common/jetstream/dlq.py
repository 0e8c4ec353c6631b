"""Dead-lettering: copy a message into ``DLQ`` with the reason, then terminate it."""

from __future__ import annotations

from datetime import UTC, datetime

from b9_common.jetstream.delivery import AckMeta
from b9_common.jetstream.publisher import MSG_ID, Publisher

REASON = "B9-Dlq-Reason"
ORIGINAL_SUBJECT = "B9-Original-Subject"
ORIGINAL_STREAM = "B9-Original-Stream"
ORIGINAL_SEQ = "B9-Original-Seq"
CONSUMER = "B9-Consumer"
DELIVERIES = "B9-Deliveries"
FAILED_AT = "B9-Failed-At"
# Headers that describe the DLQ copy itself and must not travel back on a retry.
DLQ_HEADERS = (REASON, ORIGINAL_SUBJECT, ORIGINAL_STREAM, ORIGINAL_SEQ, CONSUMER, DELIVERIES, FAILED_AT)


def dlq_headers(
    original: dict[str, str] | None,
    *,
    reason: str,
    subject: str,
    meta: AckMeta,
) -> dict[str, str]:
    headers = {k: v for k, v in (original or {}).items() if k not in ("Status", "Description")}
    # A copy must be stored even if the original's event id was seen recently.
    if MSG_ID in headers:
        headers["B9-Event-Id"] = headers[MSG_ID]
    headers.update({
        MSG_ID: f"dlq:{meta.stream}:{meta.stream_seq}:{meta.consumer}",
        REASON: reason.replace("\r", " ").replace("\n", " ")[:1000],
        ORIGINAL_SUBJECT: subject,
        ORIGINAL_STREAM: meta.stream,
        ORIGINAL_SEQ: str(meta.stream_seq),
        CONSUMER: meta.consumer,
        DELIVERIES: str(meta.num_delivered),
        FAILED_AT: datetime.now(UTC).isoformat(),
    })
    return headers


async def dead_letter(
    publisher: Publisher,
    *,
    type_: str,
    subject: str,
    data: bytes,
    original_headers: dict[str, str] | None,
    meta: AckMeta,
    reason: str,
) -> None:
    """Publish the DLQ copy and wait for its ack (raises PublishError if it is not stored)."""
    headers = dlq_headers(original_headers, reason=reason, subject=subject, meta=meta)
    await publisher.publish_raw(publisher.topology.dlq_subject(type_ or "unknown"), data, headers)
