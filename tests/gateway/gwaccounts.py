"""Accounts for gateway tests: people with keys, clients acting as them, and a second gateway
"worker" (its own app, NATS connection and accounts mirror) on the same namespace."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
from b9_common.accounts.store import Account, AccountStore
from b9_common.service import connect
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps
from fastapi import FastAPI
from gwenv import Env


async def store_of(env: Env) -> AccountStore:
    topo, js = env.rt.topology, env.rt.js
    return AccountStore(await topo.accounts_kv(js), await topo.sessions_kv(js))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def person(env: Env, name: str, role: str) -> tuple[Account, str]:
    store = await store_of(env)
    found = await store.by_name(name)
    if found is not None:
        return await store.rotate(name)
    return await store.add(name, role)


_addresses = itertools.count(1)


@contextlib.asynccontextmanager
async def client_of(app: FastAPI, client: tuple[str, int] | None = None,
                    **kwargs: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app``; by default from an address of its own (failed-auth limits are per
    address: tests that poll for a refusal must not use up each other's tries)."""
    n = next(_addresses)
    transport = httpx.ASGITransport(app=app, client=client or (f"127.1.{n // 250}.{n % 250 + 1}", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", **kwargs) as c:  # type: ignore[arg-type]
        yield c


@contextlib.asynccontextmanager
async def second_worker(env: Env, **overrides: object) -> AsyncIterator[FastAPI]:
    """Another gateway process in all but the OS process: own NATS connection, deps and app."""
    import msgspec

    settings = msgspec.structs.replace(env.settings, **overrides) if overrides else env.settings
    rt = await connect(settings, "gateway-tests-2", "0")
    deps = await build_deps(settings, rt, env.pool)
    try:
        yield create_app(settings, deps)
    finally:
        await deps.aclose()
        await asyncio.sleep(0)
        await rt.close()


async def within(check: Callable[[], Awaitable[bool]], seconds: float = 1.0) -> float:
    """How long until ``check()`` holds; fails past ``seconds``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await check():
        if loop.time() - start > seconds:
            raise AssertionError(f"not within {seconds} s")
        await asyncio.sleep(0.005)
    return loop.time() - start
