"""Every replayable service answers `b9 replay <service> --dry-run` from its own replay owner,
and a replay whose stream is missing fails with that reason (exit 2), not silently."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from b9_alerts.main import SERVICE as ALERTS
from b9_alerts.settings import Settings as ASettings
from b9_categorizer.main import SERVICE as CATEGORIZER
from b9_categorizer.settings import Settings as CSettings
from b9_common.replay.owner import replays_only
from b9_common.service import Runtime
from b9_media.main import SERVICE as MEDIA
from b9_media.settings import Settings as MSettings
from b9_persistence.main import SERVICE as PERSISTENCE
from rt_helpers import cli, psettings, publish, sub


async def test_every_replayable_service_plans_its_own_dry_run(
        rt: Runtime, cli_env: dict[str, str], nats_url: str, namespace: str, database_url: str,
        tmp_path: Path) -> None:
    await publish(rt, [(f"o{i}", sub(f"owned{i}"), i) for i in range(7)])
    common = {"nats_url": nats_url, "b9_namespace": namespace, "metrics_port": -1}
    owners = [replays_only(PERSISTENCE, psettings(nats_url, namespace, database_url)),
              replays_only(CATEGORIZER, CSettings(**common)),  # type: ignore[arg-type]
              replays_only(MEDIA, MSettings(**common, media_store_url=f"file://{tmp_path}")),  # type: ignore[arg-type]
              replays_only(ALERTS, ASettings(**common, database_url=database_url))]  # type: ignore[arg-type]
    async with contextlib.AsyncExitStack() as stack:
        for owner in owners:
            await stack.enter_async_context(owner)
        for service in ("persistence", "categorizer", "media", "alerts"):
            res = await cli(cli_env, "replay", service, "--dry-run")
            assert res.exit_code == 0, (service, res.output)
            text = " ".join(res.output.split())  # the table title wraps
            assert f"dry run: replay {service}:" in text and "total (seq" in text, text
            if service != "media":  # media takes creator.scraped only
                assert "subreddit.fetched │ 7" in text, text
            assert f"runs in {service} replica" in text, text

        # the stream is gone (deleted under the running services): the owner says so
        await rt.js.delete_stream(rt.topology.stream("DERIVED"))
        gone = await cli(cli_env, "replay", "persistence", "--stream", "DERIVED")
        text = " ".join(gone.output.split())
        assert gone.exit_code == 2 and "could not be resolved" in text and "DERIVED" in text, text


async def test_no_replica_of_the_service_is_said_at_once(rt: Runtime, cli_env: dict[str, str]) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    res = await cli(cli_env, "replay", "categorizer")  # no categorizer runs in this namespace
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "no categorizer replica is running (no heartbeat" in text, text
    assert loop.time() - t0 < 10  # a CLI run in a thread on a busy machine: seconds, not a hang
