"""``s3://bucket/prefix`` object store via aioboto3 (AWS S3, Cloudflare R2, MinIO, moto).

Credentials and region come from the usual AWS sources (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, profiles) that botocore reads itself;
``endpoint_url`` (``S3_ENDPOINT_URL``) points at an S3-compatible server. Requests are
bounded by one semaphore per store; objects above ``multipart_threshold`` go up in parts
(several at once) and an interrupted multipart upload is aborted.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from b9_common.storage.base import (
    ObjectNotFound,
    StorageError,
    StoredObject,
    check_key,
    content_type_for,
)

MB = 1024 * 1024
CACHE_CONTROL = "public, max-age=31536000, immutable"


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


class S3Store:
    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        public_base_url: str = "",
        max_concurrency: int = 8,
        multipart_threshold: int = 16 * MB,
        part_size: int = 8 * MB,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.region = region or None
        self.public_base_url = public_base_url.rstrip("/")
        self.multipart_threshold = max(multipart_threshold, 5 * MB)
        self.part_size = max(part_size, 5 * MB)  # S3's minimum part size
        self._sem = asyncio.Semaphore(max_concurrency)
        self._config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=max_concurrency * 2,
        )
        self._session = aioboto3.Session()
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    stack = contextlib.AsyncExitStack()
                    self._client = await stack.enter_async_context(
                        self._session.client(
                            "s3",
                            endpoint_url=self.endpoint_url,
                            region_name=self.region,
                            config=self._config,
                        )
                    )
                    self._stack = stack
        return self._client

    async def put(
        self, key: str, data: bytes | Path, content_type: str | None = None
    ) -> StoredObject:
        ctype = content_type or content_type_for(key)
        size = (await asyncio.to_thread(data.stat)).st_size if isinstance(data, Path) else len(data)
        extra = {"ContentType": ctype, "CacheControl": CACHE_CONTROL}
        try:
            if size > self.multipart_threshold:
                await self._multipart(self._key(key), data, size, extra)
            else:
                body = await asyncio.to_thread(data.read_bytes) if isinstance(data, Path) else data
                s3 = await self._s3()
                async with self._sem:
                    await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, **extra)
        except (ClientError, BotoCoreError, OSError) as exc:
            raise StorageError(f"cannot store {key} in s3://{self.bucket}: {exc}") from exc
        return StoredObject(key=key, size=size, content_type=ctype)

    async def _multipart(
        self, full_key: str, data: bytes | Path, size: int, extra: dict[str, str]
    ) -> None:
        s3 = await self._s3()
        created = await s3.create_multipart_upload(Bucket=self.bucket, Key=full_key, **extra)
        upload_id = created["UploadId"]

        def read_part(offset: int) -> bytes:
            if isinstance(data, bytes):
                return data[offset : offset + self.part_size]
            with data.open("rb") as fh:
                fh.seek(offset)
                return fh.read(self.part_size)

        async def one(number: int, offset: int) -> dict[str, Any]:
            async with self._sem:
                body = await asyncio.to_thread(read_part, offset)
                resp = await s3.upload_part(
                    Bucket=self.bucket,
                    Key=full_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=body,
                )
            return {"PartNumber": number, "ETag": resp["ETag"]}

        try:
            parts = await asyncio.gather(
                *(one(i + 1, off) for i, off in enumerate(range(0, size, self.part_size)))
            )
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": list(parts)},
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await s3.abort_multipart_upload(
                    Bucket=self.bucket, Key=full_key, UploadId=upload_id
                )
            raise

    async def get(self, key: str) -> bytes:
        s3 = await self._s3()
        try:
            async with self._sem:
                resp = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
                async with resp["Body"] as body:
                    data: bytes = await body.read()
                    return data
        except ClientError as exc:
            if _missing(exc):
                raise ObjectNotFound(key) from None
            raise StorageError(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {key}: {exc}") from exc

    async def size(self, key: str) -> int | None:
        s3 = await self._s3()
        try:
            async with self._sem:
                resp = await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise StorageError(f"cannot check {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot check {key}: {exc}") from exc
        return int(resp["ContentLength"])

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        try:
            async with self._sem:
                await s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"cannot delete {key}: {exc}") from exc

    def local_path(self, key: str) -> Path | None:
        return None

    async def url(self, key: str, expires: int = 3600) -> str:
        if self.public_base_url:
            return f"{self.public_base_url}/{self._key(key)}"
        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires
        )
        return url

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack, self._client = None, None
