"""Object storage behind one interface: ``file://`` (embedded default) and ``s3://`` (``S3Store``
in ``storage.s3``, the s3 extra)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from b9_common.extras import MissingExtra
from b9_common.storage.base import (
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    StorageError,
    StoredObject,
    check_key,
    content_type_for,
)
from b9_common.storage.file import FileStore

__all__ = [
    "FileStore",
    "InvalidKey",
    "ObjectNotFound",
    "ObjectStore",
    "StorageError",
    "StoredObject",
    "check_key",
    "content_type_for",
    "open_store",
]


def open_store(url: str, settings: Any = None) -> ObjectStore:
    """Build the store named by ``url`` (``file:///abs/path`` or ``s3://bucket/prefix``).

    ``settings`` is any object; these optional attributes are used when present:
    ``s3_endpoint_url``, ``aws_region``, ``media_public_base_url``, ``media_upload_concurrency``.
    """
    public = str(getattr(settings, "media_public_base_url", "") or "")
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise ValueError(f"file store URL must be file:///absolute/path (got {url!r})")
        return FileStore(path, public_base_url=public)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"s3 store URL must name a bucket: s3://bucket/prefix (got {url!r})")
        try:  # aioboto3 is the s3 extra: a service that never stores in S3 does without it
            from b9_common.storage.s3 import S3Store
        except ModuleNotFoundError as exc:
            raise MissingExtra("s3", f"the store {url}", exc) from exc
        return S3Store(
            parts.netloc,
            parts.path.strip("/"),
            endpoint_url=getattr(settings, "s3_endpoint_url", None) or None,
            region=getattr(settings, "aws_region", None) or None,
            public_base_url=public,
            max_concurrency=int(getattr(settings, "media_upload_concurrency", 8) or 8),
        )
    raise ValueError(f"unsupported store URL {url!r}: use file:///abs/path or s3://bucket/prefix")
