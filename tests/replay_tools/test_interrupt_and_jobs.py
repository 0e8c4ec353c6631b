"""Ctrl-C during `b9 replay` asks the owning replica to stop and prints how to resume; a replay
command handled by a persistence replica reports its progress and outcome in its record."""

from __future__ import annotations

import asyncio
import io
import os
import signal

from b9_common.cli import replay_cmd
from b9_common.cli.settings import CliSettings
from b9_common.replay.jobs import ReplayRequest
from b9_common.replay.log import replays_kv
from b9_common.replay.owner import replays_only
from b9_common.replay.request import ask, get, is_active
from b9_common.service import Runtime
from b9_persistence.main import SERVICE as PERSISTENCE
from rich.console import Console
from rt_helpers import facts, fetchval, psettings, publish, until


async def test_ctrl_c_stops_and_prints_resume_command(
        rt: Runtime, nats_url: str, namespace: str, database_url: str, monkeypatch) -> None:
    await publish(rt, facts("i", 100))  # 400 events
    out = io.StringIO()
    monkeypatch.setattr(replay_cmd, "console", Console(file=out, width=200))
    cli = CliSettings(nats_url=nats_url, b9_namespace=namespace, database_url=database_url)
    async with replays_only(PERSISTENCE, psettings(nats_url, namespace, database_url)):
        task = asyncio.create_task(replay_cmd.replay_main(ReplayRequest("persistence", rate=100), cli))

        async def planned() -> bool:  # the plan is printed: the replay is starting
            return "total (seq 1..400)" in out.getvalue()

        await until(planned, 20, "the plan")
        await asyncio.sleep(0.5)
        assert not task.done()
        # replay_main's handler is in place (else SIGINT would interrupt the whole test run)
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        os.kill(os.getpid(), signal.SIGINT)
        code = await asyncio.wait_for(task, 30)
    text = out.getvalue()
    assert code == 130, text
    assert "stopping" in text and "Resume with" in text
    resume = int(text.split("--from-seq ")[1].split()[0])
    assert 1 < resume < 400 and "--to-seq 400" in text
    assert await fetchval(database_url, "SELECT count(*) FROM reddit_users") < 100
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler removed again


async def test_a_replay_command_runs_in_the_owning_replica(
        rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    await publish(rt, facts("j", 50))
    kv = await replays_kv(rt.js, rt.topology)
    async with replays_only(PERSISTENCE, psettings(nats_url, namespace, database_url)):
        rid = await ask(rt.js, rt.topology, rt.publisher, ReplayRequest("persistence"), "tester@test")

        async def ended() -> bool:
            rec = await get(kv, rid)
            return rec is not None and not is_active(rec)

        await until(ended, 30, "the replay to end")
    rec = await get(kv, rid)
    assert rec is not None
    o = rec.outcome
    assert o["status"] == "complete" and o["total"] == 200 and o["visited"] == 200
    assert o["dead_lettered"] == 0 and rec.runner["pid"] == os.getpid() and rec.runner["service"] == "persistence"
    assert await fetchval(database_url, "SELECT started_by FROM replays WHERE id = $1", rid) == "tester@test"
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 50
