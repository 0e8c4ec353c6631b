"""A replayable service's replay owner alone, in this process: for tests that must see what a
replay did and nothing else (no live consumer of the service runs next to it).

``owner_only(sdef, settings)`` connects as the service, bootstraps it (``replayable``: the
App carries the ReplayOwner), writes its heartbeat (so ``b9 replay`` and the API find a
replica) and starts only the ``<service>-replays`` consumer and the stop listener: the same
code a served replica runs for replays, without its live durables.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from b9_common.ops.heartbeat import Heartbeat
from b9_common.service import ServiceDef, build_consumer, close_adapters, connect


@contextlib.asynccontextmanager
async def owner_only(sdef: ServiceDef, settings: Any) -> AsyncIterator[None]:
    rt = await connect(settings, sdef.name, sdef.version, connect_timeout=10)
    app = await sdef.bootstrap(settings, rt)
    replays = [c for c in app.consumers if c.spec.name == f"{sdef.name}-replays"]
    assert replays, f"{sdef.name} is not replayable (no {sdef.name}-replays consumer)"
    heartbeat = Heartbeat(rt, sdef.version, app.status)
    await heartbeat.start()
    consumer = build_consumer(rt, replays[0])
    await consumer.start()
    loops = [asyncio.ensure_future(fn()) for fn in app.loops if getattr(fn, "__name__", "") == "listen"]
    try:
        yield
    finally:
        await consumer.stop(5)
        await close_adapters(app)  # the owner's closer first: running replays stop and record
        for t in loops:
            t.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        await heartbeat.stop()
        await rt.close()
