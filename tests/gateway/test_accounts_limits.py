"""Limits around authentication: failed-auth buckets keyed on the client's address (trusted
proxies only), nothing read before the caller is known, body caps per route (413), and the
per-client rate limit documented in the README (50 req/s, burst 200, 429 with Retry-After)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from pathlib import Path
from typing import Any

import b9_gateway
from b9_gateway.ratelimit import TokenBuckets, client_address, parse_networks
from b9_gateway.settings import Settings
from gwaccounts import bearer, client_of, person, second_worker
from gwenv import Env
from gwlive import served

README = Path(b9_gateway.__file__).parents[2] / "README.md"


async def test_failed_auth_is_limited_per_address_whatever_the_header(env: Env) -> None:
    _, key = await person(env, "fay", "viewer")
    async with second_worker(env, gateway_auth_fail_burst=3, gateway_trusted_proxies="10.9.9.9") as app:
        async with client_of(app, client=("10.0.0.7", 1)) as c:
            for i in range(3):  # a different made-up key each time: still the same address
                r = await c.get("/api/v1/overview", headers=bearer(f"b9_abc_guess{i}"))
                assert r.status_code == 401
            r = await c.get("/api/v1/overview", headers=bearer(key))  # even a right key: not checked now
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            r = await c.post("/api/v1/login", json={"key": key})
            assert r.status_code == 429 and "failed sign-ins" in r.json()["detail"]
            r = await c.get("/api/v1/overview", headers={"X-Forwarded-For": "1.2.3.4", **bearer(key)})
            assert r.status_code == 429  # X-Forwarded-For from a peer that is not a trusted proxy: ignored
            assert (await c.get("/api/v1/overview")).status_code == 401  # no credentials: nothing to guess
        async with client_of(app, client=("10.0.0.8", 1)) as c:
            assert (await c.get("/api/v1/session", headers=bearer(key))).status_code == 200
        async with client_of(app, client=("10.9.9.9", 1)) as proxy:
            for i in range(3):
                headers = {"X-Forwarded-For": f"9.9.9.{i}, 1.2.3.4", **bearer(f"b9_abc_guess{i}")}
                assert (await proxy.get("/api/v1/overview", headers=headers)).status_code == 401
            r = await proxy.post("/api/v1/login", json={"key": "wrong"}, headers={"X-Forwarded-For": "1.2.3.4"})
            assert r.status_code == 429  # 1.2.3.4 is out of tries, whatever it prepends
            r = await proxy.get("/api/v1/session", headers={"X-Forwarded-For": "5.6.7.8", **bearer(key)})
            assert r.status_code == 200


def test_client_address_honours_only_trusted_proxies() -> None:
    trusted = parse_networks("10.9.9.9, 192.168.0.0/16")

    def scope(peer: str, *xff: str) -> dict[str, Any]:
        return {"client": (peer, 1), "headers": [(b"x-forwarded-for", v.encode()) for v in xff]}

    assert client_address(scope("8.8.8.8", "1.1.1.1"), trusted) == "8.8.8.8"
    assert client_address(scope("10.9.9.9", "1.1.1.1"), trusted) == "1.1.1.1"
    assert client_address(scope("10.9.9.9", "6.6.6.6, 1.1.1.1, 192.168.3.4"), trusted) == "1.1.1.1"
    assert client_address(scope("10.9.9.9", "6.6.6.6", "1.1.1.1"), trusted) == "1.1.1.1"
    assert client_address(scope("10.9.9.9"), trusted) == "10.9.9.9"
    assert client_address(scope("10.9.9.9", "1.1.1.1"), ()) == "10.9.9.9"


async def test_unauthenticated_requests_are_refused_before_the_body_is_read(env: Env) -> None:
    app = env.anon._transport.app  # type: ignore[attr-defined]
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"{" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    for headers in ([], [(b"authorization", b"Bearer b9_abc_wrong")], [(b"cookie", b"b9_session=forged")]):
        scope = {"type": "http", "method": "POST", "path": "/api/v1/models", "raw_path": b"/api/v1/models",
                 "query_string": b"", "root_path": "", "scheme": "http", "server": ("gw", 80),
                 "client": ("10.1.1.1", 1), "http_version": "1.1",
                 "headers": [(b"content-type", b"application/json"), (b"content-length", b"104857600"), *headers]}
        sent.clear()
        await app(scope, receive, send)
        assert sent[0]["status"] == 401
    assert reads == 0


async def test_bodies_are_capped_per_route_with_the_limit_in_the_message(env: Env) -> None:
    r = await env.anon.post("/api/v1/login", content=b'{"key": "' + b"x" * 5000 + b'"}',
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "4096 bytes" in r.json()["detail"] and "/api/v1/login" in r.json()["detail"]

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"key": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    r = await env.anon.post("/api/v1/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]
    _, key = await person(env, "rex", "reviewer")
    big = {"name": "m", "notes": "x" * 300_000}
    r = await env.anon.post("/api/v1/models", json=big, headers=bearer(key))
    assert r.status_code == 413 and "262144 bytes" in r.json()["detail"]


def test_rate_limit_settings_are_the_documented_ones() -> None:
    s = Settings()
    assert (s.gateway_rate_limit, s.gateway_rate_burst) == (50.0, 200)
    row = next(line for line in README.read_text().splitlines() if "`GATEWAY_RATE_LIMIT`" in line)
    assert re.search(r"\b50 req/s / 200\b", row), row


def test_token_bucket_allows_the_burst_then_the_rate() -> None:
    b = TokenBuckets(50.0, 200)
    assert all(b.take("c", now=100.0) == 0 for _ in range(200))
    assert abs(b.take("c", now=100.0) - 0.02) < 1e-9  # empty: the next token in 1/50 s
    assert b.take("c", now=101.0) == 0  # one second later: 50 tokens
    assert sum(b.take("c", now=101.0) == 0 for _ in range(60)) == 49
    assert b.take("other", now=101.0) == 0  # buckets are per client


async def test_rate_limit_answers_429_with_retry_after_past_the_burst(env: Env) -> None:
    _, key = await person(env, "rae", "viewer")
    async with second_worker(env) as app, client_of(app, headers=bearer(key)) as c:
        loop = asyncio.get_running_loop()
        start = loop.time()
        codes = [(await c.get("/api/v1/session")) for _ in range(300)]
        elapsed = loop.time() - start
        first_429 = next(i for i, r in enumerate(codes) if r.status_code == 429)
        assert first_429 >= 200  # the whole burst passes
        ok = sum(r.status_code == 200 for r in codes)
        assert ok <= 200 + 50 * elapsed + 1  # then no more than the rate
        refused = codes[first_429]
        assert refused.headers["retry-after"] == "1" and "rate limit" in refused.json()["detail"]
        assert (await c.get("/health")).status_code == 200  # open paths are not limited


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_a_50mb_post_without_a_key_is_refused_unread_over_real_http(env: Env) -> None:
    """uvicorn in this process: the 401 comes while the client is still sending, and the
    process does not grow by the body (the acceptance run's check, in the suite)."""
    async with served(env.settings, env.deps, {}) as client:
        port = client.base_url.port
        rss = _rss()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        size = 50 * 1024 * 1024
        writer.write(f"POST /api/v1/models HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        status = asyncio.ensure_future(reader.readline())
        sent, chunk = 0, b"x" * 65536
        with contextlib.suppress(ConnectionError):
            while sent < size and not status.done():
                writer.write(chunk)
                sent += len(chunk)
                drain = asyncio.ensure_future(writer.drain())
                await asyncio.wait({status, drain}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
                drain.cancel()
        line = await asyncio.wait_for(status, 5)
        writer.close()
        assert line.startswith(b"HTTP/1.1 401"), line
        assert sent < size  # answered before the body was through
        assert _rss() - rss < 20 * 1024 * 1024
