"""Object stores: file:// (atomic writes, safe keys) and s3:// against moto's real S3 API server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from b9_common.storage import (
    FileStore,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    open_store,
)
from b9_common.storage.s3 import S3Store
from moto.server import ThreadedMotoServer

MB = 1024 * 1024


async def _roundtrip(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    key = "photos/ab/cd/abcd.jpg"
    assert not await store.exists(key) and await store.size(key) is None
    obj = await store.put(key, b"\xff\xd8\xff" + b"x" * 1000)
    assert (obj.size, obj.content_type) == (1003, "image/jpeg")
    assert await store.exists(key) and await store.size(key) == 1003
    assert (await store.get(key))[:3] == b"\xff\xd8\xff"
    await store.put(key, b"new")  # overwrite is whole
    assert await store.get(key) == b"new"
    await store.delete(key)
    await store.delete(key)  # absent: no error
    with pytest.raises(ObjectNotFound):
        await store.get(key)
    for bad in ("../etc/passwd", "/abs/key", "a/../../b", "a//b", "", "a/./b"):
        with pytest.raises(InvalidKey):
            await store.put(bad, b"x")


async def test_file_store_roundtrip_and_atomic_writes(tmp_path: Path) -> None:
    store = open_store((tmp_path / "media").as_uri())
    assert isinstance(store, FileStore)
    await _roundtrip(store)
    src = tmp_path / "video.bin"
    src.write_bytes(os.urandom(3 * MB))
    await store.put("videos/aa/bb/x.mp4", src)
    path = store.local_path("videos/aa/bb/x.mp4")
    assert path is not None and path.read_bytes() == src.read_bytes()
    leftovers = [p.name for p in (tmp_path / "media").rglob(".tmp-*")]
    assert leftovers == []
    assert (await store.url("videos/aa/bb/x.mp4")).startswith("file:///")


def test_open_store_refuses_bad_urls() -> None:
    for bad in ("file://relative/path", "s3://", "ftp://x/y", "/tmp/x"):
        with pytest.raises(ValueError):
            open_store(bad)


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
async def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[S3Store]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    settings = SimpleNamespace(s3_endpoint_url=moto_endpoint, aws_region="us-east-1",
                               media_upload_concurrency=4)
    store = open_store("s3://b9-media/prod", settings)
    assert isinstance(store, S3Store)
    client = await store._s3()
    await client.create_bucket(Bucket="b9-media")
    yield store
    await store.close()


async def test_s3_store_roundtrip(s3: S3Store) -> None:
    await _roundtrip(s3)
    client = await s3._s3()
    await s3.put("photos/aa/bb/y.webp", b"RIFF0000WEBP")
    head = await client.head_object(Bucket="b9-media", Key="prod/photos/aa/bb/y.webp")
    assert head["ContentType"] == "image/webp" and "immutable" in head["CacheControl"]


async def test_s3_multipart_upload_from_file(s3: S3Store, tmp_path: Path) -> None:
    src = tmp_path / "big.mp4"
    payload = os.urandom(21 * MB)  # over the 16 MB threshold: three parts of 8 MB
    src.write_bytes(payload)
    obj = await s3.put("videos/cc/dd/big.mp4", src)
    assert obj.size == len(payload) and obj.content_type == "video/mp4"
    client = await s3._s3()
    head = await client.head_object(Bucket="b9-media", Key="prod/videos/cc/dd/big.mp4")
    assert head["ETag"].strip('"').endswith("-3")  # stored as a 3-part multipart object
    assert await s3.get("videos/cc/dd/big.mp4") == payload
    url = await s3.url("videos/cc/dd/big.mp4", expires=60)
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "video/mp4"
        assert len(await resp.read()) == len(payload)
