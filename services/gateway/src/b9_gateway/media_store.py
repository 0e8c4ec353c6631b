"""Reading stored media for /media/{key}, over ``b9_common.storage``: a local file to stream
(file:// store) or a presigned/public URL to redirect to (s3:// store)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from b9_common.storage import InvalidKey, ObjectStore, StorageError, check_key, open_store


@dataclass
class MediaStore:
    store: ObjectStore

    @property
    def kind(self) -> str:
        return str(self.store.scheme)

    async def locate(self, key: str) -> tuple[str, str] | None:
        """("file", path) or ("redirect", url) for a stored key; None when it is not stored."""
        try:
            check_key(key)
            path = self.store.local_path(key)
        except (InvalidKey, StorageError):
            return None
        if path is not None:
            try:
                stored = await asyncio.to_thread(path.is_file)
            except OSError:  # e.g. a name longer than the file system allows
                return None
            return ("file", str(path)) if stored else None
        if not await self.store.exists(key):
            return None
        return "redirect", await self.store.url(key)

    async def ping(self) -> None:
        """Raise when the store cannot be reached (a missing key is an answer)."""
        await self.store.exists("b9-ready-probe")

    async def close(self) -> None:
        await self.store.close()


def open_media(url: str, settings: Any = None) -> MediaStore:
    return MediaStore(open_store(url, settings))
