"""The scrapers' control values through the gateway: the defaults it shows and the limits it
checks are the catalogue's (b9_common.events.control), the ones the scrapers apply."""

from __future__ import annotations

import json

import msgspec
from b9_common.events.control import MAX_BATCH, InstagramControl, RedditControl
from gwenv import Env


async def test_a_scraper_never_configured_shows_the_catalogue_defaults(fresh: Env) -> None:
    for scraper, defaults in (("reddit", RedditControl()), ("instagram", InstagramControl())):
        control = (await fresh.client.get(f"/api/v1/scrapers/{scraper}")).json()["control"]
        expected = {k: v for k, v in msgspec.to_builtins(defaults).items() if v is not None}
        assert control == expected, scraper
    assert control["requests_per_hour"] == 3600 and control["viral_min_views"] == 50_000


async def test_a_write_is_checked_against_the_catalogue_and_refused_with_the_field(fresh: Env) -> None:
    kv = fresh.deps.control
    # someone wrote a value the scrapers ignore (batch_size above the limit) straight into KV
    await kv.put("scraper.reddit", json.dumps({"batch_size": MAX_BATCH + 1, "extra": "kept"}).encode())
    r = await fresh.client.put("/api/v1/scrapers/reddit/config", json={"interval_seconds": 60})
    assert r.status_code == 422 and "batch_size" in r.json()["error"], r.text
    assert json.loads((await kv.get("scraper.reddit")).value)["batch_size"] == MAX_BATCH + 1  # unchanged
    # a write that corrects it goes through, and keeps the field it does not know
    r = await fresh.client.put("/api/v1/scrapers/reddit/config", json={"batch_size": 4, "by": "ann"})
    assert r.status_code == 200, r.text
    stored = json.loads((await kv.get("scraper.reddit")).value)
    assert (stored["batch_size"], stored["extra"], stored["updated_by"]) == (4, "kept", "ann")
    assert msgspec.convert(stored, RedditControl).batch_size == 4  # what the scraper reads
    r = await fresh.client.put("/api/v1/scrapers/reddit/config", json={"batch_size": MAX_BATCH + 1})
    assert r.status_code == 422 and "batch_size" in r.json()["error"]
