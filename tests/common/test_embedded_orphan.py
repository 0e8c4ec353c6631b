"""An embedded nats-server started by a test run or a benchmark stops when that process is
killed outright (SIGKILL: no atexit, no finally): nothing is left listening behind it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil

CHILD = """
import sys
from pathlib import Path
from b9_common.embedded import EmbeddedNats
server = EmbeddedNats(Path(sys.argv[1]))
server.start()
print(server.proc.pid, flush=True)
sys.stdin.read()
"""


async def test_nats_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(tmp_path / "nats"),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    server = psutil.Process(int(line))
    assert server.is_running() and "nats-server" in server.name()
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    gone, alive = await asyncio.to_thread(psutil.wait_procs, [server], 10)
    for p in alive:  # do not leave it behind if the check fails
        p.kill()
    assert [p.pid for p in gone] == [server.pid], "nats-server outlived its parent"
