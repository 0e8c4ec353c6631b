"""Outcomes of working on one media item that are not success.

``MediaError`` is a *result*: the item cannot be stored (blocked, too large, corrupt...);
the service publishes ``media.failed`` and acks. ``TransientError`` (timeouts, 5xx,
storage down) makes the handler raise ``Retry`` so the event comes back later.
"""

from __future__ import annotations

from b9_common.events.derived import MediaFailure


class MediaError(Exception):
    def __init__(self, reason: MediaFailure, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: MediaFailure = reason
        self.detail = detail[:500]


class TransientError(Exception):
    """Worth retrying later: upstream timeout or 5xx, storage unavailable."""
