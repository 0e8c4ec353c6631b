"""A creator's posts include items that are reels too (#20.1); /media refuses a raw `..` path
that reaches the gateway itself (#20.14: an HTTP client normalising `..` proved nothing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import msgspec
import uvicorn
from b9_common.events import CreatorAnalytics
from b9_gateway.app import create_app
from gwdata import THUMB_BYTES, THUMB_KEY, creator, media
from gwenv import API_KEY, Env


async def _wait(cond, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_posts_that_are_also_reels_are_listed_with_the_figures_they_make(env: Env) -> None:
    base = creator(0)
    reels = [msgspec.structs.replace(media(0, k, "reel"), media_pk=f"both{k}",
                                     like_count=500 * (k + 1)) for k in range(2)]
    # the /user-feeds timeline: the same two reels (viral as a post by the post rule), one image
    posts = [msgspec.structs.replace(r, kind="post", is_viral=k == 1) for k, r in enumerate(reels)]
    posts.append(msgspec.structs.replace(media(0, 0, "post"), media_pk="image0"))
    fact = msgspec.structs.replace(
        base, ig_user_id="9777", username="both.kinds", reels=reels, posts=posts,
        analytics=CreatorAnalytics(viral_posts=1, avg_post_likes=(500 + 1000 + 100) / 3),
    )
    await env.rt.publisher.publish(fact)

    async def stored() -> bool:
        n = await env.pool.fetchval("SELECT count(*) FROM instagram_media WHERE ig_user_id = '9777'")
        return bool(n == 3)

    await _wait(stored)
    r = await env.client.get("/api/v1/creators/both.kinds")
    d = r.json()
    assert r.status_code == 200, d
    assert sorted(x["media_pk"] for x in d["reels"]) == ["both0", "both1"]
    listed = {x["media_pk"]: x for x in d["posts"]}
    assert sorted(listed) == ["both0", "both1", "image0"]
    # every figure computed from posts can be checked against the posts listed
    c = d["creator"]
    assert c["viral_posts"] == sum(x["is_viral"] for x in listed.values()) == 1
    assert c["avg_post_likes"] == sum(x["like_count"] for x in listed.values()) / len(listed)


@contextlib.asynccontextmanager
async def _real_server(env: Env) -> AsyncIterator[int]:
    """The gateway app behind a real uvicorn on loopback (port chosen by the OS)."""
    app = create_app(env.settings, env.deps)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(400):
            if server.started or task.done():
                break
            await asyncio.sleep(0.025)
        assert server.started, "uvicorn did not start"
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send the request line exactly as given: nothing resolves `..` on the way."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {API_KEY}\r\n"
                 "Connection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_media_refuses_a_raw_dot_dot_path(env: Env) -> None:
    secret = env.media_root.parent / "secret.txt"
    secret.write_bytes(b"TOP-SECRET")
    async with _real_server(env) as port:
        status, body = await _raw_get(port, f"/media/{THUMB_KEY}")
        assert (status, body) == (200, THUMB_BYTES)  # the same server serves a stored key
        for target in ("/media/../secret.txt", "/media/ab/../../secret.txt",
                       "/media/ab/%2e%2e/%2e%2e/secret.txt", "/media/..%2fsecret.txt"):
            status, body = await _raw_get(port, target)
            assert status == 404 and b"TOP-SECRET" not in body, (target, status, body)
            # answered by the media route with the `..` key (the check was reached)
            assert b"media " in body and b"../secret.txt not found" in body, (target, body)


async def test_media_stored_under_the_media_services_ids_reaches_the_creator_page(env: Env) -> None:
    """The media service names assets <media_pk>:thumbnail, <media_pk>:video, <media_pk>:<n> and
    profile:<owner>:<file> (services/media handlers.py): the creator page must find them."""
    from b9_common.events import MediaStored

    fact = msgspec.structs.replace(creator(1), ig_user_id="9888", username="real.ids",
                                   reels=[msgspec.structs.replace(media(1, 0, "reel"), media_pk="rr1")],
                                   posts=[msgspec.structs.replace(media(1, 0, "post"), media_pk="pp1")])
    await env.rt.publisher.publish(fact)

    def stored(source_id: str, kind: str, key: str) -> MediaStored:
        return MediaStored(source_url=f"https://cdn.example.com/{key}", source_id=source_id, owner="9888",
                           kind=kind, content_hash=key, storage_key=key, content_type="image/jpeg",
                           bytes_in=10, bytes_out=5)  # type: ignore[arg-type]

    for item in (stored("profile:9888:pic.jpg", "profile_picture", "k/pic"),
                 stored("rr1:thumbnail", "thumbnail", "k/rr1-thumb"), stored("rr1:video", "video", "k/rr1-video"),
                 stored("pp1:0", "photo", "k/pp1-photo")):
        await env.rt.publisher.publish(item)

    async def linked() -> bool:
        return await env.pool.fetchval(
            "SELECT profile_pic_key = 'k/pic' FROM instagram_creators WHERE ig_user_id = '9888'") is True \
            and await env.pool.fetchval("SELECT count(*) FROM media_assets WHERE owner = '9888'") == 4

    await _wait(linked)
    body = (await env.client.get("/api/v1/creators/9888")).json()
    assert body["creator"]["profile_pic_key"] == "k/pic"
    assert [(r["thumbnail_key"], r["video_key"]) for r in body["reels"]] == [("k/rr1-thumb", "k/rr1-video")]
    assert [p["thumbnail_key"] for p in body["posts"]] == ["k/pp1-photo"]
