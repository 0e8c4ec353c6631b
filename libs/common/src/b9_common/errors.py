"""Errors that say what happens to the message.

A handler raises one of these; the consumer runtime maps them:

- ``Retry``   -> nak with a delay; after ``max_deliver`` deliveries -> DLQ.
- ``Reject``  -> terminate and copy into ``DLQ`` with the reason; never redelivered.
- ``Skip``    -> ack without effect (e.g. a stale or duplicate fact), counted as skipped.

Any other exception is treated as ``Retry`` with the default delay (a bug must not
lose the message, and must not spin either).
"""

from __future__ import annotations


class HandlerError(Exception):
    """Base of the errors a handler may raise."""


class Retry(HandlerError):
    """Transient: upstream or database down. The message comes back after ``delay`` seconds."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Reject(HandlerError):
    """Permanent: the message can never succeed. It goes to DLQ with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Skip(HandlerError):
    """Nothing to do: ack and count as skipped."""

    def __init__(self, reason: str = "unchanged") -> None:
        super().__init__(reason)
        self.reason = reason


class DecodeError(Reject):
    """The bytes are not a valid event for the subject (undecodable or failing validation)."""


class PublishError(Exception):
    """The server did not acknowledge a publish (no stream, timeout, or an error reply)."""
