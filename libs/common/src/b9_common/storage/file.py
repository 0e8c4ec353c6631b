"""``file://`` object store: a directory tree, atomic writes (temp file + ``os.replace``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from b9_common.storage.base import (
    ObjectNotFound,
    StorageError,
    StoredObject,
    check_key,
    content_type_for,
)


class FileStore:
    scheme = "file"

    def __init__(self, root: Path | str, *, public_base_url: str = "") -> None:
        self.root = Path(root).resolve()
        self.public_base_url = public_base_url.rstrip("/")

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise StorageError(f"key {key!r} escapes the store root")
        return path

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def _put_sync(self, path: Path, data: bytes | Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, Path):
                    with data.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                else:
                    out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return path.stat().st_size

    async def put(
        self, key: str, data: bytes | Path, content_type: str | None = None
    ) -> StoredObject:
        path = self._path(key)
        try:
            size = await asyncio.to_thread(self._put_sync, path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc}") from exc
        return StoredObject(key=key, size=size, content_type=content_type or content_type_for(key))

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    async def size(self, key: str) -> int | None:
        path = self._path(key)
        try:
            st = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        return st.st_size

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)

    async def url(self, key: str, expires: int = 3600) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{check_key(key)}"
        return self._path(key).as_uri()

    async def close(self) -> None:
        return None
