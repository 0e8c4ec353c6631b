"""A replay started through the API is a request too: its id is the replay's, and
GET /requests/{id} follows it to done (the categorizer's replay owner runs it)."""

from __future__ import annotations

from pathlib import Path

from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.events import SubredditFetched
from b9_common.replay.owner import replays_only
from b9_common.service import Runtime
from b9_common.settings import CommonSettings
from reqkit import gateway, poll_status


async def test_a_replay_is_followed_to_done(
        rt: Runtime, common_settings: CommonSettings, database_url: str, tmp_path: Path) -> None:
    for i in range(3):
        await rt.publisher.publish(SubredditFetched(name=f"replayed_{i}", title="cats and kittens"))
    cat = CSettings(nats_url=common_settings.nats_url, b9_namespace=common_settings.b9_namespace, metrics_port=-1)
    async with replays_only(CATEGORIZER, cat), gateway(common_settings, database_url, tmp_path) as (api, _):
        r = await api.post("/api/v1/replays", json={"consumer": "categorizer", "subject": "subreddit.fetched"})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["request_id"] == body["id"] and body["status_url"] == f"/api/v1/requests/{body['id']}"
        done = await poll_status(api, body["status_url"], ("done", "failed"))
    assert (done["status"], done["kind"], done["target"]) == ("done", "replay", "categorizer:categorizer"), done
    assert done["result"]["processed"] == done["result"]["total"] == 3, done
