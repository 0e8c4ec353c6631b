"""The object-store interface shared by the media service (writer) and the gateway (reader).

Keys are relative, slash-separated paths such as ``photos/ab/cd/<sha256>.jpg``. They are
validated everywhere (no ``..``, no absolute paths, a small character set) because the
gateway passes keys that arrive in URLs.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*")
_EXTRA_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".avif": "image/avif",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".json": "application/json",
}


class StorageError(Exception):
    """The store could not be reached or refused the operation (transient for callers)."""


class InvalidKey(ValueError):
    """A key that is not a safe relative path."""


class ObjectNotFound(KeyError):
    """No object under that key."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative object key, else raise ``InvalidKey``."""
    if (
        len(key) > 1024
        or not _KEY_RE.fullmatch(key)
        or any(p in {".", ".."} for p in key.split("/"))
    ):
        raise InvalidKey(f"invalid object key {key!r}")
    return key


def content_type_for(key: str) -> str:
    """Content type from the key's extension (``application/octet-stream`` if unknown)."""
    suffix = Path(key).suffix.lower()
    return _EXTRA_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    content_type: str


@runtime_checkable
class ObjectStore(Protocol):
    """What every backend offers. ``data`` for ``put`` is bytes or a local file to read."""

    scheme: str

    async def put(
        self, key: str, data: bytes | Path, content_type: str | None = None
    ) -> StoredObject:
        """Store ``data`` under ``key`` atomically: readers see the old or the whole new object."""
        ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; ``ObjectNotFound`` if absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int | None:
        """Size in bytes, or None if absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object (no error if absent)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file the caller may serve directly (file:// stores), else None."""
        ...

    async def url(self, key: str, expires: int = 3600) -> str:
        """A URL a browser can fetch: public base URL, presigned URL, or file:// URL."""
        ...

    async def close(self) -> None: ...
