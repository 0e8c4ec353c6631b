"""Ctrl-C during `b9 replay` stops cleanly and prints how to resume; in-process jobs report progress."""

from __future__ import annotations

import asyncio
import io
import os
import signal

from b9_common.cli import replay_cmd
from b9_common.cli.settings import CliSettings
from b9_common.replay.jobs import ReplayJobs, ReplayRequest
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
    settings = psettings(nats_url, namespace, database_url)
    task = asyncio.create_task(replay_cmd.replay_main(PERSISTENCE, settings, ReplayRequest("persistence", rate=100),
                                                      cli))

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


async def test_replay_jobs_in_process(rt: Runtime, nats_url: str, namespace: str, database_url: str) -> None:
    await publish(rt, facts("j", 50))
    jobs = ReplayJobs(settings_for=lambda sdef: psettings(nats_url, namespace, database_url),
                      database_url=database_url)
    job = jobs.start(ReplayRequest("persistence"), started_by="tester@test")
    assert job.task is not None
    await asyncio.wait_for(asyncio.shield(job.task), 30)
    snap = jobs.get(job.id).snapshot()  # type: ignore[union-attr]
    assert snap["status"] == "complete" and snap["total"] == 200 and snap["visited"] == 200
    assert snap["record_id"] and snap["dead_lettered"] == 0
    assert await fetchval(database_url, "SELECT started_by FROM replays WHERE id = $1", snap["record_id"]) == \
        "tester@test"
    assert await fetchval(database_url, "SELECT count(*) FROM subreddits") == 50
    assert not jobs.stop("unknown")
    await jobs.close()
