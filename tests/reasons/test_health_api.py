"""Health and last failures through the API: Reddit at a closed port is ``failing`` with the
connection reason among its last failures; Instagram without a key is ``not_configured``.
The whole path is real: gateway (ASGI) -> command -> scraper -> scrape.attempted ->
persistence -> PostgreSQL -> gateway."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from b9_common.service import Runtime, connect
from b9_common.settings import CommonSettings
from b9_gateway.app import create_app
from b9_gateway.deps import build_deps, build_pool
from b9_gateway.scraper_health import assess
from b9_gateway.settings import Settings as GwSettings
from b9_reddit_scraper.tracked import StaticTracked, Tracked
from stack import (
    base,
    ig_service,
    ig_settings,
    persistence,
    put_control,
    reddit_service,
    reddit_settings,
    running,
    wait_for,
)
from upstreams import Answer, Upstream, about, closed_port

API_KEY = "reasons-test-key-0123456789"


@contextlib.asynccontextmanager
async def gateway(common: CommonSettings, database_url: str, tmp: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = GwSettings(**base(common), database_url=database_url, gateway_api_key=API_KEY,
                          media_store_url=f"file://{tmp}")  # type: ignore[arg-type]
    rt = await connect(settings, "gateway-tests", "0")
    pool = await build_pool(settings)
    deps = await build_deps(settings, rt, pool)
    try:
        transport = httpx.ASGITransport(app=create_app(settings, deps))
        async with httpx.AsyncClient(transport=transport, base_url="http://gw",
                                     headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            yield client
    finally:
        await deps.aclose()
        await pool.close()
        await rt.close()


async def test_closed_port_is_failing_with_connection_and_no_key_is_not_configured(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    await put_control(rt, "reddit", requests_per_minute=60_000, interval_seconds=3600)
    async with (
        running((reddit_service(StaticTracked([])), reddit_settings(common_settings, dead)),
                (ig_service(), ig_settings(common_settings, dead, "")),
                persistence(common_settings, database_url)),
        gateway(common_settings, database_url, tmp_path) as api,
    ):
        r = await api.post("/api/v1/subreddits", json={"name": "nowhere_sub"})
        assert r.status_code == 202, r.text

        async def reddit_failing() -> dict | None:
            s = (await api.get("/api/v1/scrapers/reddit")).json()
            return s if s["health"]["state"] == "failing" else None

        reddit = await wait_for(reddit_failing, within=30)
        scrapers = {s["scraper"]: s for s in (await api.get("/api/v1/scrapers")).json()}
        failures = (await api.get("/api/v1/scrapers/reddit/failures", params={"limit": 5})).json()
    [last] = [f for f in reddit["last_failures"] if f["target"] == "nowhere_sub"]
    assert (last["reason"], last["outcome"], last["target_kind"]) == ("connection", "failed", "subreddit")
    assert "refused" in last["message"] and last["at"]
    assert failures[0] == last
    assert reddit["today"]["by_reason"] == {"connection": 1}
    assert "1 of the last 1 attempts failed: connection" in reddit["health"]["explanation"]
    assert scrapers["reddit"]["health"]["state"] == "failing"
    ig = scrapers["instagram"]
    assert ig["health"]["state"] == "not_configured", ig["health"]
    assert [r["status"] for r in ig["replicas"]] == ["not_configured"]


async def test_a_spent_request_budget_is_waiting_for_budget(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    up = Upstream(answers={"r/slowpoke/about": Answer(200, about("slowpoke"))})
    await up.start()
    # one request a minute: the about call takes the only token, the next call waits ~60 s
    await put_control(rt, "reddit", requests_per_minute=1, interval_seconds=3600)
    try:
        async with (
            running((reddit_service(StaticTracked([Tracked("slowpoke", "metadata")])),
                     reddit_settings(common_settings, up.url))),
            gateway(common_settings, database_url, tmp_path) as api,
        ):
            async def waiting() -> dict | None:
                s = (await api.get("/api/v1/scrapers/reddit")).json()
                return s if s["health"]["state"] == "waiting_for_budget" else None

            reddit = await wait_for(waiting, within=20)  # heartbeats come every 5 s
    finally:
        await up.stop()
    assert up.hits == {"r/slowpoke/about": 1}
    assert [r["status"] for r in reddit["replicas"]] == ["waiting_for_budget"]
    assert "budget" in reddit["health"]["explanation"]


async def test_instagram_out_of_hourly_budget_is_waiting_for_budget(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    from b9_common.events import InstagramScrapeRequested

    body = b'{"status": true, "id": "5550001", "username": "alice", "edge_followed_by": {"count": 10}}'
    up = Upstream(answers={"profile": Answer(200, body)})
    await up.start()
    await put_control(rt, "instagram", requests_per_hour=1)  # the profile call spends it
    try:
        async with (
            running((ig_service(), ig_settings(common_settings, up.url, "test-key-123"))),
            gateway(common_settings, database_url, tmp_path) as api,
        ):
            await rt.publisher.publish(InstagramScrapeRequested(kind="creator", username="alice"))

            seen: list[dict] = []

            async def waiting() -> dict | None:
                seen.append((await api.get("/api/v1/scrapers/instagram")).json())
                return seen[-1] if seen[-1]["health"]["state"] == "waiting_for_budget" else None

            try:
                ig = await wait_for(waiting, within=20)  # heartbeats come every 5 s
            except AssertionError:
                raise AssertionError(f"last status: {seen[-1]}, upstream hits {up.hits}") from None
    finally:
        await up.stop()
    assert up.hits == {"profile": 1}  # the reels call waits for the next hour's budget
    assert [r["status"] for r in ig["replicas"]] == ["budget_exhausted"]


def test_health_rules() -> None:
    beat = [{"status": "running"}]
    ok, fail = {"outcome": "success", "reason": "ok"}, {"outcome": "failed", "reason": "timeout", "message": "slow"}
    answer = {"outcome": "not_found", "reason": "not_found"}
    assert assess(False, beat, [fail], "ana")["state"] == "stopped"
    assert "by ana" in assess(False, beat, [], "ana")["explanation"]
    assert assess(True, [], [ok])["state"] == "stopped"
    assert assess(True, [{"status": "not_configured"}], [])["state"] == "not_configured"
    assert assess(True, beat, [fail] * 16 + [ok] * 4)["state"] == "failing"      # 80 %
    assert assess(True, beat, [fail] * 15 + [ok] * 5)["state"] == "degraded"     # 75 %
    assert assess(True, beat, [fail] * 4 + [ok] * 16)["state"] == "degraded"     # 20 %
    assert assess(True, beat, [fail] * 3 + [ok] * 17)["state"] == "ok"           # 15 %
    assert assess(True, beat, [answer] * 20)["state"] == "ok"  # not found is an answer, not a failure
    stopped_mid_way = {"outcome": "failed", "reason": "interrupted"}
    assert assess(True, beat, [stopped_mid_way] * 5 + [ok])["state"] == "ok"  # a disable, not a fault
    assert assess(True, [{"status": "budget_exhausted"}], [ok])["state"] == "waiting_for_budget"
    assert assess(True, [{"status": "waiting_for_budget"}], [fail] * 20)["state"] == "failing"
    assert assess(True, [*beat, {"status": "not_configured"}], [ok])["state"] == "degraded"
    assert assess(True, beat, [])["explanation"].startswith("running; no attempt")
    assert "timeout ×16 (latest: slow)" in assess(True, beat, [fail] * 16 + [ok] * 4)["explanation"]
