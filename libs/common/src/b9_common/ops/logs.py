"""Structured logging: one JSON object per line, with the event id and subject when known."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec

event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
subject_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("subject", default=None)



@contextlib.contextmanager
def message_context(event_id: str | None, subject: str | None) -> Iterator[None]:
    """Log lines written while one message is handled carry its event id and subject, and
    only its own: both are reset afterwards (a worker handles many messages in turn)."""
    t_id, t_subject = event_id_var.set(event_id), subject_var.set(subject)
    try:
        yield
    finally:
        event_id_var.reset(t_id)
        subject_var.reset(t_subject)


_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_encoder = msgspec.json.Encoder()


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        eid, subj = event_id_var.get(), subject_var.get()
        if eid:
            out["event_id"] = eid
        if subj:
            out["subject"] = subj
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_"):
                out[key] = value if isinstance(value, str | int | float | bool | None) else repr(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(out).decode()


def setup_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "asyncio", "aiobotocore", "botocore", "urllib3", "httpx", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
