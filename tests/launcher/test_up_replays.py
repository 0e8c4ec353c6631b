"""Replays on a real `b9 up`: every service its own process under its own NATS user. `b9 replay`
is run by the persistence process (its pid in the record), never by the CLI or the gateway; the
gateway's process environment holds no other service's secret and only a read-only database URL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import asyncpg
import nats
import pytest
from b9_common.events import SubredditFetched
from b9_common.jetstream.publisher import Publisher
from b9_common.jetstream.topology import Topology

from . import test_up_lifecycle
from ._stack import Up, env_for, environ, run_b9, service_pids

stack = test_up_lifecycle.up  # its module-scoped fixture (here named `stack`): one real b9 up for this module

pytestmark = pytest.mark.slow
SECRET = '{"categorizer-only-model": [1, 2]}'  # OPENAI_PRICES: harmless, but the categorizer's alone


@pytest.fixture(scope="module", autouse=True)
def categorizer_secret() -> Iterator[None]:
    """In the environment `b9 up` starts with (autouse: set before the stack fixture starts it)."""
    os.environ["OPENAI_PRICES"] = SECRET
    try:
        yield
    finally:
        del os.environ["OPENAI_PRICES"]


async def test_the_gateway_process_holds_no_other_services_secrets(stack: Up) -> None:
    pids = service_pids(stack.proc.pid)
    gateway, categorizer = environ(pids["gateway"]), environ(pids["categorizer"])
    assert not [k for k in gateway if k.startswith("OPENAI_")], sorted(gateway)
    assert categorizer["OPENAI_PRICES"] == SECRET
    assert gateway["DATABASE_URL"].startswith("postgresql://b9_reader:"), gateway["DATABASE_URL"]
    assert not environ(pids["persistence"])["DATABASE_URL"].startswith("postgresql://b9_reader:")


async def test_b9_replay_runs_in_the_persistence_process(stack: Up) -> None:
    nc = await nats.connect(stack.admin_url())
    try:
        await Publisher(nc.jetstream(), Topology(), "launcher-test", timeout=5).publish_many(
            [SubredditFetched(name=f"upreplay{i}", title="t", subscribers=10 + i) for i in range(6)])
    finally:
        await nc.close()
    conn = await asyncpg.connect(stack.stack["database_url"])
    try:
        code, out, _ = await run_b9("replay", "persistence", "--subject", "subreddit.fetched",
                                    env=env_for(stack.data), timeout=90)
        assert code == 0, out
        pids = service_pids(stack.proc.pid)
        text = " ".join(out.split())
        assert f"ran in │ persistence pid {pids['persistence']}" in text, text
        rec = await conn.fetchrow("SELECT consumer, outcome->>'status' AS status FROM replays")
        assert (rec["consumer"], rec["status"]) == ("persistence:persistence", "complete")
        assert await conn.fetchval("SELECT count(*) FROM subreddits WHERE name LIKE 'upreplay%'") == 6
    finally:
        await conn.close()
