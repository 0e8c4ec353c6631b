"""Per-person keys and sessions through the gateway: who the caller is, login / logout,
revocation on every worker, rotation, forged and expired cookies, /media, the bootstrap key."""

from __future__ import annotations

import asyncio
import time

import msgspec
from b9_common.accounts.store import Session, session_key
from gwaccounts import bearer, client_of, person, second_worker, store_of, within
from gwdata import THUMB_BYTES, THUMB_KEY
from gwenv import AUTH, Env
from gwlive import served


def app_of(env: Env):  # type: ignore[no-untyped-def]
    return env.anon._transport.app  # type: ignore[attr-defined]


async def test_a_persons_key_says_who_calls_and_from_where(env: Env) -> None:
    alice, key = await person(env, "alice", "reviewer")
    r = await env.anon.get("/api/v1/session", headers=bearer(key))
    assert r.json() == {"id": alice.id, "name": "alice", "role": "reviewer", "channel": "api"}
    r = await env.anon.get("/api/v1/session", headers={**bearer(key), "X-B9-Channel": "cli"})
    assert r.json()["channel"] == "cli"
    r = await env.anon.get("/api/v1/session", headers=AUTH)
    assert r.json() == {"id": "bootstrap", "name": "GATEWAY_API_KEY", "role": "admin", "channel": "api"}
    r = await env.anon.get("/api/v1/subreddits", headers=bearer(key))  # the fast lane too
    assert r.status_code == 200
    r = await env.anon.get("/api/v1/subreddits", headers=bearer(key[:-2] + "xx"))
    assert r.status_code == 401 and "wrong" in r.json()["detail"]


async def test_login_sets_a_session_and_logout_ends_it_by_its_response(env: Env) -> None:
    _, key = await person(env, "lou", "viewer")
    async with client_of(app_of(env)) as c:
        r = await c.post("/api/v1/login", json={"key": "b9_nope_nope"})
        assert r.status_code == 401 and "b9_session" not in r.cookies
        r = await c.post("/api/v1/login", json={"key": key})
        assert r.status_code == 200 and r.json()["name"] == "lou" and r.json()["role"] == "viewer"
        token = r.cookies["b9_session"]
        assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
        me = (await c.get("/api/v1/session")).json()
        assert me["name"] == "lou" and me["channel"] == "dashboard"
        r = await c.post("/api/v1/logout")
        assert r.status_code == 200
        # the response itself tells the browser to drop the cookie ...
        gone = r.headers["set-cookie"].lower()
        assert gone.startswith('b9_session=""') and "max-age=0" in gone
        assert "b9_session" not in c.cookies
    # ... and the session is over on the server: the old cookie, sent again, is refused
    async with client_of(app_of(env), cookies={"b9_session": token}) as c:
        r = await c.get("/api/v1/subreddits")
        assert r.status_code == 401 and "session" in r.json()["detail"]


async def test_logout_and_disable_are_refused_on_every_worker_within_a_second(env: Env) -> None:
    _, key = await person(env, "walt", "reviewer")
    async with second_worker(env) as other, client_of(app_of(env)) as a, client_of(other) as b:
        token = (await a.post("/api/v1/login", json={"key": key})).cookies["b9_session"]
        b.cookies.set("b9_session", token)
        assert (await b.get("/api/v1/session")).status_code == 200  # opened on A, known on B
        assert (await b.get("/api/v1/session", headers=bearer(key))).status_code == 200
        assert (await a.post("/api/v1/logout")).status_code == 200

        async def refused_on_b() -> bool:
            return (await b.get("/api/v1/session")).status_code == 401

        assert await within(refused_on_b, 1.0) < 1.0

        token2 = (await a.post("/api/v1/login", json={"key": key})).cookies["b9_session"]
        b.cookies.set("b9_session", token2)
        assert (await b.get("/api/v1/session")).status_code == 200
        await (await store_of(env)).set_disabled("walt")

        async def all_refused() -> bool:
            codes = [(await b.get("/api/v1/session")).status_code,
                     (await b.get("/api/v1/session", headers=bearer(key))).status_code,
                     (await a.get("/api/v1/session", headers=bearer(key))).status_code]
            return codes == [401, 401, 401]

        assert await within(all_refused, 1.0) < 1.0
        assert (await a.post("/api/v1/login", json={"key": key})).status_code == 401


async def test_key_rotation_ends_the_old_key_and_its_sessions(env: Env) -> None:
    _, key = await person(env, "rita", "reviewer")
    async with client_of(app_of(env)) as c:
        assert (await c.post("/api/v1/login", json={"key": key})).status_code == 200
        assert (await c.get("/api/v1/session")).status_code == 200
        _, new_key = await (await store_of(env)).rotate("rita")

        async def old_refused() -> bool:
            old = await c.get("/api/v1/session", headers=bearer(key))
            session = await c.get("/api/v1/session")
            return old.status_code == 401 and session.status_code == 401

        await within(old_refused, 1.0)
        assert (await c.get("/api/v1/session", headers=bearer(new_key))).json()["name"] == "rita"


async def test_forged_and_expired_cookies_are_refused(env: Env) -> None:
    sam, _ = await person(env, "sam", "admin")
    store = await store_of(env)
    expired = Session(account_id=sam.id, key_hash=sam.key_hash, created_at=time.time() - 100,
                      expires_at=time.time() - 1)
    await store.sessions.put(session_key("expired-token-0123456789"), msgspec.json.encode(expired))
    live, _ = await store.open_session(sam, 60)
    for cookie in ("forged-0123456789abcdef", "expired-token-0123456789", live[:-1] + "x", "", "a" * 300):
        async with client_of(app_of(env), cookies={"b9_session": cookie}) as c:
            r = await c.get("/api/v1/overview")
            assert r.status_code == 401, cookie
    async with client_of(app_of(env), cookies={"b9_session": live}) as c:
        assert (await c.get("/api/v1/session")).json()["name"] == "sam"


async def test_media_needs_a_key(env: Env) -> None:
    _, key = await person(env, "mia", "viewer")
    r = await env.anon.get(f"/media/{THUMB_KEY}")
    assert r.status_code == 401
    r = await env.anon.get(f"/media/{THUMB_KEY}", headers=bearer("b9_abc_def"))
    assert r.status_code == 401
    r = await env.anon.get(f"/media/{THUMB_KEY}", headers=bearer(key))
    assert r.status_code == 200 and r.content == THUMB_BYTES


async def test_bootstrap_key_logs_in_as_admin(env: Env) -> None:
    async with client_of(app_of(env)) as c:
        r = await c.post("/api/v1/login", json={"key": env.settings.gateway_api_key})
        assert r.status_code == 200 and r.json()["role"] == "admin"
        assert (await c.get("/api/v1/session")).json()["id"] == "bootstrap"
    cookies = {"b9_session": r.cookies["b9_session"]}
    async with second_worker(env, gateway_api_key="another-key-0123456789") as other, \
            client_of(other, cookies=cookies) as c:
        assert (await c.get("/api/v1/session")).status_code == 401  # a changed key ends its sessions


async def test_logout_also_ends_the_live_feed_the_session_opened(env: Env) -> None:
    _, key = await person(env, "finn", "viewer")
    async with served(env.settings, env.deps, {}) as c:
        assert (await c.post("/api/v1/login", json={"key": key})).status_code == 200
        async with c.stream("GET", "/api/v1/events", params={"max_seconds": 30}) as feed:
            lines = feed.aiter_lines()
            while (await anext(lines)) != "event: ready":  # subscribed
                pass
            loop = asyncio.get_running_loop()
            start = loop.time()
            assert (await c.post("/api/v1/logout")).status_code == 200
            async for _ in lines:  # the stream ends: not the 30 s it asked for
                pass
            assert loop.time() - start < 2.0
