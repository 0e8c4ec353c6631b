"""Worker subprocesses of a service that help one replay: ``REPLAY_WORKERS`` - 1 of them.

The replica running a replay starts them as soon as it claims it (``Crew.spawn``: each runs
``python -m b9_common.replay.worker``, connects and bootstraps the service while the slice is
being counted), then tells them which consumer to pull from (``attach``): they join the
replay when their bootstrap is done, pulling from the same consumer as the replica itself
(``replay.share``). Talk goes through the worker's pipes, one JSON object a line:

- to the worker (stdin): the header ``{service, settings, replica}``, then
  ``{"attach": {consumer, ...the replay consumer's spec, end_seq, until_ns}}``, then ``{"stop": true}``; EOF means
  stop too (the replica is gone: a worker never outlives it);
- from the worker (stdout): ``{"ready": pid}``, then its cumulative counts at most ten times
  a second (``{"counts": {...}, "past_end": bool}``) and a last one with ``"final": true``
  once it has drained (in-flight batches settled, what it had buffered handed back).

A worker that dies keeps the counts it reported; what it held unsettled comes back to the
other pullers after the consumer's ``ack_wait`` (handlers are idempotent: at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from b9_common.jetstream.topology import ConsumerSpec
from b9_common.replay.share import COUNTS

log = logging.getLogger(__name__)


@dataclass
class _Worker:
    proc: asyncio.subprocess.Process
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    ready: bool = False
    past_end: bool = False
    final: bool = False
    reader: asyncio.Task[None] | None = None
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # final report sent, or gone


class Crew:
    def __init__(self, service: str, settings: Any, size: int, replica: str = "") -> None:
        self.service, self.settings, self.size = service, settings, size
        self.replica = replica
        self.workers: list[_Worker] = []
        self.on_report: Callable[[], None] | None = None  # a worker reported (the runner merges counts)
        self.on_end: Callable[[], None] | None = None  # a worker saw the end of the slice
        self._stopped = False
        self._ready = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers]

    @property
    def past_end(self) -> bool:
        return any(w.past_end for w in self.workers)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(COUNTS, 0)
        for w in self.workers:
            for k in COUNTS:
                out[k] += w.counts.get(k, 0)
        return out

    def visited(self) -> dict[int, int]:
        return {w.proc.pid: w.counts.get("visited", 0) for w in self.workers}

    async def spawn(self) -> None:
        """Start the workers (they connect and bootstrap the service, then wait for ``attach``)."""
        settings = msgspec.to_builtins(self.settings)
        for i in range(self.size):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "b9_common.replay.worker", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, limit=1 << 20)
            w = _Worker(proc)
            self.workers.append(w)
            self._send(w, {"service": self.service, "settings": settings, "replica": f"{self.replica}-w{i + 1}"})
            w.reader = asyncio.create_task(self._read(w), name=f"replay-worker:{proc.pid}")
        if not self.workers:
            self._ready.set()
        log.info("replay workers started", extra={"pids": self.pids})

    async def ready(self, timeout: float = 60.0) -> None:
        """Wait until every worker has bootstrapped (benchmarks; a replay does not wait)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def attach(self, spec: ConsumerSpec, consumer: str, end_seq: int, until_ns: int | None) -> None:
        """Hand the workers the replay's consumer and the service's ConsumerDef to run over it
        (by name): each pulls from it once bootstrapped."""
        body = {"consumer": consumer, "name": spec.name, "stream": spec.stream, "subjects": list(spec.subjects),
                "max_deliver": spec.max_deliver, "ack_wait": spec.ack_wait, "start_seq": spec.start_seq,
                "inactive_threshold": spec.inactive_threshold, "end_seq": end_seq, "until_ns": until_ns}
        for w in self.workers:
            self._send(w, {"attach": body})

    def _send(self, w: _Worker, obj: dict[str, Any]) -> None:
        stdin = w.proc.stdin
        if stdin is None or stdin.is_closing() or w.proc.returncode is not None:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            stdin.write(json.dumps(obj).encode() + b"\n")

    async def _read(self, w: _Worker) -> None:
        assert w.proc.stdout is not None
        try:
            while line := await w.proc.stdout.readline():
                try:
                    msg = json.loads(line)
                except ValueError:
                    log.warning("replay worker %d wrote %r", w.proc.pid, line[:200])
                    continue
                if "ready" in msg:
                    w.ready = True
                    if all(x.ready for x in self.workers):
                        self._ready.set()
                    continue
                w.counts = msg.get("counts", w.counts)
                if msg.get("final"):
                    w.final = True
                    w.drained.set()
                if msg.get("past_end") and not w.past_end:
                    w.past_end = True
                    if self.on_end is not None:
                        self.on_end()
                if self.on_report is not None:
                    self.on_report()
        except Exception as exc:  # the pipe broke: the worker is gone
            log.warning("replay worker %d: %s", w.proc.pid, exc)
        w.drained.set()
        code = await w.proc.wait()
        if not w.final and not self._stopped:
            log.warning("replay worker %d exited (%s) before the replay ended: what it held comes back to the "
                        "other pullers after ack_wait", w.proc.pid, code)

    async def stop(self, grace: float = 30.0, *, wait_exit: bool = True) -> None:
        """Ask every worker to drain and exit; wait until each has drained (its acks are out) and,
        with ``wait_exit``, has exited too (killed past ``grace`` + 10 s)."""
        self._stopped = True
        for w in self.workers:
            self._send(w, {"stop": True})
            if w.proc.stdin is not None:
                with contextlib.suppress(Exception):
                    w.proc.stdin.close()
        readers = [w.reader for w in self.workers if w.reader is not None]
        if not readers:
            return
        waits = readers if wait_exit else [asyncio.ensure_future(w.drained.wait()) for w in self.workers]
        _, late = await asyncio.wait(waits, timeout=grace + 10.0)
        for w in self.workers:
            if w.proc.returncode is None and (w.reader in late or not w.drained.is_set()):
                log.warning("replay worker %d did not exit: killed", w.proc.pid)
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
        if wait_exit:
            await asyncio.gather(*readers, return_exceptions=True)
        else:
            for t in late:
                t.cancel()
