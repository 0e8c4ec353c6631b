"""One real `b9 up` in a temporary data dir, through what a user and an operator do to it:
up means up, one stack per data dir, credentials on the embedded NATS, secrets kept to the
gateway, dead servers and services restarted, and nothing left when it stops or is killed.
The tests run in order on the same stack (module fixture)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import msgspec
import nats
import pytest
from b9_common.errors import PublishError
from b9_common.events import SubredditDiscovered, SubredditFetched
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology
from b9_common.ops.heartbeat import Beat

from ._stack import (
    SERVICES,
    Up,
    alive,
    cmdline,
    data_root,
    descendants,
    env_for,
    environ,
    ready,
    run_b9,
    service_pids,
    wait_gone,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def up() -> AsyncIterator[Up]:
    root = data_root()
    stack = await Up.start(root / "b9")
    try:
        await stack.wait_up(150)
        yield stack
    finally:
        kids = descendants(stack.proc.pid)
        await stack.stop()
        assert not await wait_gone(kids, 15), [cmdline(p) for p in alive(kids)]
        shutil.rmtree(root, ignore_errors=True)


async def _heartbeats(up: Up) -> dict[str, set[int]]:
    nc = await nats.connect(up.admin_url())
    try:
        kv = await nc.jetstream().key_value("heartbeats")
        pids: dict[str, set[int]] = {}
        for key in await kv.keys():
            beat = msgspec.json.decode((await kv.get(key)).value or b"", type=Beat)
            pids.setdefault(beat.service, set()).add(beat.pid)
        return pids
    finally:
        await nc.close()


async def _lands(up: Up, name: str, timeout: float = 45) -> None:
    """Publish a fact as the admin (retrying while NATS comes back); it reaches PostgreSQL."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            nc = await nats.connect(up.admin_url(), connect_timeout=2, max_reconnect_attempts=1)
            try:
                await Publisher(nc.jetstream(), Topology(), "launcher-test", timeout=5).publish(
                    SubredditDiscovered(name=name))
            finally:
                await nc.close()
            break
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.5)
    while loop.time() < deadline:
        try:
            conn = await asyncpg.connect(up.stack["database_url"], timeout=3)
            try:
                if await conn.fetchval("SELECT count(*) FROM subreddits WHERE name = $1", name):
                    return
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"{name} never reached PostgreSQL")


async def test_the_table_comes_when_every_service_is_ready(up: Up) -> None:
    assert await ready(up.stack["gateway_url"], 3) < 3  # green when the table is printed
    beats = await _heartbeats(up)
    pids = service_pids(up.proc.pid)
    assert set(pids) == SERVICES, pids
    assert all(pids[s] in beats.get(s, set()) for s in SERVICES), (pids, beats)


async def test_secrets_stay_where_they_belong(up: Up) -> None:
    key_file = up.data / "gateway-api-key"
    key = key_file.read_text().strip()
    assert len(key) >= 16 and key not in up.output and str(key_file) in up.output
    auth = up.data / "nats-auth.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and stat.S_IMODE(auth.stat().st_mode) == 0o600
    passwords = msgspec.json.decode(auth.read_bytes(), type=dict[str, str])
    assert all(pw not in up.output for pw in passwords.values())
    signing = up.data / "alert-webhook-secret"  # made once; webhook receivers verify with it
    secret = signing.read_text().strip()
    assert len(secret) >= 32 and stat.S_IMODE(signing.stat().st_mode) == 0o600 and secret not in up.output
    for name, pid in service_pids(up.proc.pid).items():
        env = environ(pid)
        assert ("GATEWAY_API_KEY" in env) == (name == "gateway"), name
        assert (env.get("ALERT_WEBHOOK_SECRET") == secret) == (name == "alerts"), name
        assert secret not in "\0".join(v for k, v in env.items() if k != "ALERT_WEBHOOK_SECRET"), name
        assert env["NATS_URL"].startswith(f"nats://{name}:{passwords[name]}@"), name
        others = [u for u, pw in passwords.items() if u != name and pw in "\0".join(env.values())]
        assert not others, (name, others)


async def test_the_embedded_nats_wants_credentials(up: Up) -> None:
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(up.stack["nats_url"], connect_timeout=2, max_reconnect_attempts=1, allow_reconnect=False)
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(up.user_url("persistence"), error_cb=on_error)
    try:
        fact = SubredditFetched(name="fake", subscribers=1)
        with pytest.raises(PublishError):  # persistence stores facts; it may not publish them
            await Publisher(nc.jetstream(), Topology(), "intruder", timeout=1.0).publish(fact)
    finally:
        await nc.close()
    assert any("permissions violation" in e for e in errors), errors


async def test_a_second_up_is_refused_and_touches_nothing(up: Up) -> None:
    before = (up.data / "stack.json").read_bytes(), (up.data / "stack.json").stat().st_mtime_ns
    servers = {p for p in descendants(up.proc.pid) if "nats-server" in cmdline(p) or "postgres -D" in cmdline(p)}
    code, out, took = await run_b9("up", env=env_for(up.data), timeout=30)
    assert code != 0 and took < 30, (code, out)
    assert f"b9 is already running here: {up.stack['gateway_url']}" in out, out
    assert ((up.data / "stack.json").read_bytes(), (up.data / "stack.json").stat().st_mtime_ns) == before
    assert alive(servers) == servers and len(servers) >= 2
    assert await ready(up.stack["gateway_url"], 5) < 5


async def test_the_cli_works_against_it(up: Up) -> None:
    nc = await nats.connect(up.admin_url())
    try:
        # a reason with what rich would take for markup: shown as it is, not an error
        ack = await nc.jetstream().publish("dlq.subreddit.fetched", b'{"id": "x"}',
                                           headers={"B9-Dlq-Reason": "bad [bold]value[/x] at $[0]"})
    finally:
        await nc.close()
    env = env_for(up.data)
    admin_pw = msgspec.json.decode((up.data / "nats-auth.json").read_bytes(), type=dict[str, str])["admin"]
    for verb in [("status",), ("streams",), ("dlq", "list"), ("dlq", "show", str(ack.seq))]:
        code, out, _ = await run_b9(*verb, env=env)
        assert code == 0, (verb, out)
        assert admin_pw not in out, verb  # the CLI is admin, and says so without the password
    code, out, _ = await run_b9("dlq", "list", env=env)
    assert "subreddit.fetched" in out and "bad [bold]value[/x] at $[0]" in out, out


async def test_seed_media_reach_the_reels_page(up: Up) -> None:
    """`b9 seed --scale small` on the default stack: its generated pictures and clips go through
    the real media service, which may fetch exactly the seed's loopback origin (b9 up names it in
    MEDIA_ALLOWED_ORIGINS), are stored, and the Reels API lists reels with their images."""
    port = up.stack["seed_media_port"]
    media_env = environ(service_pids(up.proc.pid)["media"])
    assert media_env["MEDIA_ALLOWED_ORIGINS"] == f"http://127.0.0.1:{port}", media_env.get("MEDIA_ALLOWED_ORIGINS")
    assert "MEDIA_ALLOW_HTTP" not in media_env and "MEDIA_ALLOWED_NETWORKS" not in media_env  # nothing broader
    code, out, _ = await run_b9("seed", "--scale", "small", "--media-wait", "150", env=env_for(up.data), timeout=420)
    assert code == 0, out
    assert "blocked" not in out and "failed" not in out and "skipped" not in out, out
    conn = await asyncpg.connect(up.stack["database_url"], timeout=10)
    try:
        for _ in range(300):  # persistence stores media.stored a moment after the seed saw it
            stored = await conn.fetch("SELECT kind, storage_key FROM media_assets WHERE status = 'stored'")
            if len(stored) >= 50:
                break
            await asyncio.sleep(0.2)
        failed = await conn.fetchval("SELECT count(*) FROM media_assets WHERE status = 'failed'")
    finally:
        await conn.close()
    assert len(stored) >= 50 and failed == 0, (len(stored), failed)
    assert {r["kind"] for r in stored} >= {"profile_picture", "thumbnail", "video"}
    root = Path(up.stack["media_store_url"].removeprefix("file://"))
    assert all((root / r["storage_key"]).is_file() for r in stored), root  # the objects are in the store
    key = (up.data / "admin-api-key").read_text().strip()
    async with aiohttp.ClientSession(up.stack["gateway_url"], headers={"Authorization": f"Bearer {key}"}) as http:
        async with http.get("/api/v1/reels", params={"review": "ok", "sort": "views", "per_page": "36"}) as r:
            assert r.status == 200, await r.text()
            reels = (await r.json())["items"]
        shown = [m for m in reels if m["thumbnail_key"]]
        assert len(shown) >= 6, [(m["media_pk"], m["thumbnail_key"]) for m in reels]
        async with http.get(f"/media/{shown[0]['thumbnail_key']}") as r:
            assert r.status == 200 and r.content_type.startswith("image/") and len(await r.read()) > 1000


async def test_a_crashed_service_is_restarted(up: Up) -> None:
    old = service_pids(up.proc.pid)["media"]
    mark = len(up.lines)
    os.kill(old, signal.SIGKILL)
    await up.wait_line(r"media exited \(-9\); restarting in", 10, mark)
    for _ in range(150):
        new = service_pids(up.proc.pid).get("media")
        if new and new != old and new in (await _heartbeats(up)).get("media", set()):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("media was not restarted")


@pytest.mark.parametrize("server", ["NATS", "PostgreSQL"])
async def test_a_killed_server_comes_back(up: Up, server: str) -> None:
    needle = "nats-server" if server == "NATS" else "postgres -D"
    pid = next(p for p in descendants(up.proc.pid) if needle in cmdline(p))
    mark = len(up.lines)
    os.kill(pid, signal.SIGKILL)
    await up.wait_line(rf"{server} exited \(-9\); restarting it", 10, mark)
    await up.wait_line(rf"{server} restarted", 40, mark)
    assert f"{server} restarted" in (up.data / "logs" / "b9-up.log").read_text()  # printed and logged
    assert await ready(up.stack["gateway_url"], 30) < 30
    await _lands(up, f"after_{server.lower()}_kill")


async def test_killed_outright_leaves_nothing_and_restarts_clean(up: Up) -> None:
    kids = descendants(up.proc.pid)
    ports = up.stack["nats_port"], up.stack["gateway_port"]
    os.kill(up.proc.pid, signal.SIGKILL)
    assert not await wait_gone(kids, 10), [cmdline(p) for p in alive(kids)]
    again = await Up.start(up.data)
    try:
        await again.wait_up(150)
        assert (again.stack["nats_port"], again.stack["gateway_port"]) == ports
        await _lands(again, "after_up_killed")
        kids = descendants(again.proc.pid)
        os.killpg(again.proc.pid, signal.SIGTERM)  # what `make run`'s process group gets
        assert await again.stop(timeout=60) == 0
        assert not await wait_gone(kids, 10), [cmdline(p) for p in alive(kids)]
    finally:
        if again.proc.returncode is None:
            again.proc.kill()
    log = (up.data / "logs" / "nats-server.log").read_text()
    assert "corrupt" not in log.lower() and "critical write error" not in log.lower()
