"""A followed "AI categorize": one request for every chunk of the job; without an OpenAI key it
ends done with the rule-based classifier named and the counts; the same items again while it
is queued are the same request."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CatSettings
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from reqkit import gateway, poll_status
from stack import base, running

NAMES = [f"cat_sub_{i}" for i in range(60)]  # two chunks of 50


async def _subreddits(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)  # test data straight in the read model
    try:
        await conn.executemany(
            "INSERT INTO subreddits (name, title, public_description, review) VALUES ($1, $2, $3, 'Ok')",
            [(n, f"Cute cats {n}", "pictures of cats and kittens, fitness selfies") for n in NAMES])
    finally:
        await conn.close()


async def test_categorize_is_one_request_done_with_the_rule_classifier(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    await _subreddits(database_url)
    body = {"kind": "subreddit", "names": NAMES, "limit": 100}
    async with gateway(common_settings, database_url, tmp_path) as (api, _):
        first = (await api.post("/api/v1/categorization/start", json=body)).json()
        again = (await api.post("/api/v1/categorization/start", json=body)).json()  # still queued
        assert first["request_id"] == first["job_id"] == again["request_id"] and first["commands"] == 2
        assert again["deduplicated"] and not first["deduplicated"]
        assert list((await events_of(rt)).values()) == [2]
        async with running((CATEGORIZER, CatSettings(**base(common_settings)))):
            done = await poll_status(api, first["status_url"], ("done", "failed"))
    assert done["status"] == "done", done
    assert done["parts"] == 2 and done["parts_done"] == 2
    result = done["result"]
    assert result["method"] == "rules" and result["kind"] == "subreddit"
    assert result["tagged"] + result["unchanged"] == 60 and result["failed"] == 0, result


async def events_of(rt: Runtime) -> dict[str, int]:
    """categorize.requested commands on COMMANDS (not yet taken)."""
    subject = rt.topology.subject("categorize.requested")
    info = await rt.js.stream_info(rt.topology.stream("COMMANDS"), subjects_filter=subject)
    return dict(info.state.subjects or {})
