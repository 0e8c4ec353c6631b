"""The pool's gate without servers: first come, first served within a lane, interactive work
ahead of list pages (a decision never waits for the whole line), the lists never starved, no
slot lost to a waiter that was cancelled or timed out."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import pytest
from b9_common.events import Actor
from b9_gateway.http import JSON
from b9_gateway.lanes import BULK, Lanes, bulk
from b9_gateway.query import QueryRoute
from fastapi import APIRouter, FastAPI


async def _queue(gate: Lanes, order: list[str], name: str, interactive: bool) -> asyncio.Task[None]:
    async def wait() -> None:
        await gate.enter(interactive)
        order.append(name)

    task = asyncio.create_task(wait())
    await asyncio.sleep(0)  # in line before the next one
    return task


async def test_one_lane_is_first_come_first_served() -> None:
    gate = Lanes(2)
    await gate.enter(False), await gate.enter(False)  # both slots held
    order: list[str] = []
    tasks = [await _queue(gate, order, f"list{i}", False) for i in range(5)]
    assert gate.waiting() == 5 and gate.free == 0
    for _ in tasks:
        gate.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [f"list{i}" for i in range(5)]
    gate.leave(), gate.leave()
    assert gate.free == 2 and gate.waiting() == 0


async def test_interactive_work_goes_ahead_of_queued_lists() -> None:
    gate = Lanes(1)
    await gate.enter(False)
    order: list[str] = []
    tasks = [await _queue(gate, order, f"list{i}", False) for i in range(30)]
    tasks.append(await _queue(gate, order, "decision", True))  # arrives last
    gate.leave()
    await asyncio.sleep(0)
    assert order == ["decision"]  # the next free slot, not the 31st
    for _ in range(30):
        gate.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["decision", *(f"list{i}" for i in range(30))]


async def test_lists_are_not_starved_by_a_flood_of_interactive_work() -> None:
    gate = Lanes(1, burst=3)
    await gate.enter(False)
    order: list[str] = []
    tasks = [await _queue(gate, order, "list0", False), await _queue(gate, order, "list1", False)]
    tasks += [await _queue(gate, order, f"i{i}", True) for i in range(8)]
    for _ in tasks:
        gate.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    # at most `burst` interactive hand-offs in a row while a list waits
    assert order == ["i0", "i1", "i2", "list0", "i3", "i4", "i5", "list1", "i6", "i7"]


async def test_no_waiting_means_no_queue_and_no_reserved_slot() -> None:
    gate = Lanes(3)
    for _ in range(3):  # the lists may use every slot when nothing interactive waits
        await asyncio.wait_for(gate.enter(False), 0.1)
    assert gate.free == 0
    blocked = asyncio.create_task(gate.enter(True))
    await asyncio.sleep(0.01)
    assert not blocked.done() and gate.waiting() == 1
    gate.leave()
    await asyncio.wait_for(blocked, 0.1)


async def test_cancelled_and_timed_out_waiters_leave_the_line() -> None:
    gate = Lanes(1)
    await gate.enter(True)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await gate.enter(False)
    cancelled = asyncio.create_task(gate.enter(True))
    later = asyncio.create_task(gate.enter(False))
    await asyncio.sleep(0)
    assert gate.waiting() == 2
    cancelled.cancel()
    gate.leave()  # before the cancelled task ran: the slot skips it
    await asyncio.sleep(0)
    assert later.done() and cancelled.cancelled()
    assert gate.waiting() == 0
    gate.leave()
    assert gate.free == 1


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    gate = Lanes(1)
    await gate.enter(True)
    first = asyncio.create_task(gate.enter(True))
    second = asyncio.create_task(gate.enter(True))
    await asyncio.sleep(0)
    gate.leave()  # the slot is handed to `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.sleep(0)
    await asyncio.wait_for(second, 0.1)  # it went on to `second`
    assert first.cancelled()
    gate.leave()
    assert gate.free == 1 and gate.waiting() == 0


async def test_bulk_marks_the_lane_for_the_calls_inside() -> None:
    assert BULK.get() is False
    with bulk():
        assert BULK.get() is True
    assert BULK.get() is False


class _Page(msgspec.Struct, frozen=True):
    page: int = 1


def _app_with_a_fast_list() -> Any:
    """A FastAPI app with a QueryRoute list, a QueryRoute detail page and a plain route, and
    the caller an auth gate would have resolved (no servers: the handlers say their lane)."""
    router = APIRouter(route_class=QueryRoute)

    @router.get("/things")
    async def things(deps: Any, q: _Page) -> JSON:
        return JSON({"bulk": BULK.get(), "page": q.page})

    @router.get("/things/{name}")
    async def thing(deps: Any, name: str, q: _Page) -> JSON:
        return JSON({"bulk": BULK.get(), "name": name})

    @router.get("/plain/{name}")
    async def plain(name: str) -> JSON:
        return JSON({"bulk": BULK.get(), "name": name})

    app = FastAPI()
    app.state.settings, app.state.deps = SimpleNamespace(gateway_api_key="unused"), None
    app.include_router(router, prefix="/api/v1")
    actor = Actor(id="1", name="ann", role="viewer", channel="api")

    async def gated(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})["actor"] = actor
        await app(scope, receive, send)

    return gated


async def test_list_pages_run_in_the_bulk_lane_everything_else_interactive() -> None:
    transport = httpx.ASGITransport(app=_app_with_a_fast_list())
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        page = await client.get("/api/v1/things", params={"page": 3})
        detail = await client.get("/api/v1/things/x")
        plain = await client.get("/api/v1/plain/y")
        bad = await client.get("/api/v1/things", params={"page": "many"})
    assert page.json() == {"bulk": True, "page": 3}
    assert detail.json() == {"bulk": False, "name": "x"}  # the lane does not leak into the next request
    assert plain.json() == {"bulk": False, "name": "y"}
    assert bad.status_code == 422  # the app's exception handling applies to the Struct routes
    assert BULK.get() is False
