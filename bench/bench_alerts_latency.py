"""Alerts under load: does one alerts process keep up with N events/s through 100 rules, and how
long from an event being stored to its notification being readable (what the bell reads)?

    .venv/bin/python bench/bench_alerts_latency.py [--rate 20000] [--seconds 20] [--quick] [--json PATH]

The alerts service runs as its own process (``b9-alerts``, as ``b9 up`` starts it) on a scratch
NATS + database; this process publishes the mixed events of ``bench_alerts`` at ``--rate`` (100
rules: the bench's 100 with the default cap of 20 per minute, plus one "probe" rule on
``subreddit.discovered``) and runs persistence's DECISIONS and DERIVED consumers (the rules and
the notifications; the facts themselves are not stored: one process could not write 20,000
facts/s on this machine and that is persistence's figure, not this one's). One event in 1,000 is
a probe discovery. Latencies of the probes, from the event being stored (its JetStream stream
time, read back after the run; until 2026-12-02 the time just before the publish of the event's
chunk, an upper bound, was used: the note of the first latency row says how far apart the two are)
to ``notification.created`` arriving on a core NATS subscription, and to its row being visible in
PostgreSQL (polled every 20 ms). Where the time goes, per probe (p50 / p99): stored -> evaluated
(the notification's ``occurred_at``, stamped by b9-alerts when it matched: the alerts consumer's
queue and batch wait), evaluated -> notification stored (its stream time in DERIVED: the publish),
notification stored -> row readable (persistence and the poll). The alerts consumer's backlog is
sampled every second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_alerts import rules_and_events
from common import Row, print_table, scratch_stack, write_json

PROBE_EVERY = 1000
CHUNK = 500


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def until(cond: Any, within: float, fail: bool = True) -> None:
    deadline = time.monotonic() + within
    for _ in range(1_000_000):
        got = cond()
        if (await got) if asyncio.iscoroutine(got) else got:
            return
        if time.monotonic() > deadline:
            if fail:
                raise TimeoutError(f"not within {within} s")
            return
        await asyncio.sleep(0.05)


async def drained_(rt: Any, stream: str) -> bool:
    info = await rt.js.consumer_info(stream, "alerts")
    if os.environ.get("BENCH_DEBUG"):
        print(info.num_pending, info.num_ack_pending, info.delivered, info.ack_floor, flush=True)
    return info.num_pending == 0 and info.num_ack_pending == 0


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


async def stored_times(rt: Any, stream: str, type_: str, headers_only: bool) -> list[Any]:
    """Every message of ``type_`` in ``stream`` (only headers and metadata if asked): their stream times."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, ConsumerConfig

    sub = await rt.js.pull_subscribe(rt.topology.subject(type_), stream=rt.topology.stream(stream),
                                     config=ConsumerConfig(ack_policy=AckPolicy.NONE, headers_only=headers_only,
                                                           inactive_threshold=30.0))
    out: list[Any] = []
    try:
        while True:
            try:
                out += await sub.fetch(2000, timeout=1.0)
            except (TimeoutError, NatsTimeout):
                return out
    finally:
        await sub.unsubscribe()


def ms_pct(xs: list[float]) -> str:
    return f"p50 {statistics.median(xs) * 1000:,.0f} / p99 {pct(xs, 0.99) * 1000:,.0f} ms" if xs else "none"


async def run(rate: int, seconds: int) -> list[Row]:
    import asyncpg
    from b9_common.events import Envelope, SubredditDiscovered
    from b9_common.events.alerts import AlertRuleCreated
    from b9_common.service import ConsumerDef, build_consumer, connect
    from b9_common.settings import CommonSettings
    from b9_persistence.handler import Persistence
    from b9_persistence.main import consumer_specs

    n = rate * seconds
    probes = n // PROBE_EVERY
    rule_envs, events = rules_and_events(n)
    async with scratch_stack("b9alat") as st:
        ns = f"alat{uuid.uuid4().hex[:6]}"
        rt = await connect(CommonSettings(nats_url=st.nats_url, b9_namespace=ns, metrics_port=-1), "bench", "0")
        await rt.topology.provision(rt.js)
        pool = await asyncpg.create_pool(st.url, min_size=1, max_size=4)
        assert pool is not None
        persistence = Persistence(pool)
        consumers = [build_consumer(rt, ConsumerDef(spec, batch_handler=persistence.handle, batch=256,
                                                    batch_concurrency=1, batch_wait=0.005))
                     for spec in consumer_specs() if spec.stream != "SCRAPE"]
        for c in consumers:
            await c.start()
        actor = rule_envs[0].data.actor
        rules = [msgspec.structs.replace(e.data, cap=20) for e in rule_envs]
        rules.append(AlertRuleCreated(rule_id="probe", name="probe", on="subreddit.discovered", repeat="once",
                                      cap=10_000, where={"name": {"in": [f"probe{i}" for i in range(probes)]}},
                                      actor=actor))
        await rt.publisher.publish_many(rules)
        await until(lambda: pool.fetchval("SELECT count(*) >= $1 FROM alert_rules", len(rules)), 30)
        env = {**os.environ, "NATS_URL": st.nats_url, "B9_NAMESPACE": ns, "DATABASE_URL": st.url,
               "METRICS_PORT": "-1", "LOG_LEVEL": "WARNING", "ALERTS_INSIGHTS_INTERVAL": "0"}
        log_path = st.tmp / "alerts.log"
        proc = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "b9-alerts"), env=env,
                                                    stdout=log_path.open("wb"), stderr=asyncio.subprocess.STDOUT)
        stream = rt.topology.stream("SCRAPE")
        for _ in range(600):
            if proc.returncode is not None:
                raise RuntimeError(f"b9-alerts exited with {proc.returncode}")
            try:
                await rt.js.consumer_info(rt.topology.stream("DERIVED"), "alerts-webhooks")
                break
            except Exception:
                await asyncio.sleep(0.1)
        arrived: dict[str, float] = {}
        seen: dict[str, float] = {}

        async def on_note(msg: Any) -> None:
            if b'"rule_id":"probe"' in msg.data:
                arrived.setdefault(msgspec.json.decode(msg.data)["data"]["entity"], time.time())

        sub = await rt.nc.subscribe(rt.topology.subject("notification.created"), cb=on_note)
        done = asyncio.Event()

        async def poll() -> None:
            while not done.is_set():
                for r in await pool.fetch("SELECT entity FROM notifications WHERE rule_id = 'probe'"):
                    seen.setdefault(r["entity"], time.time())
                await asyncio.sleep(0.02)

        lags: list[int] = []

        async def lag() -> None:
            while not done.is_set():
                lags.append((await rt.js.consumer_info(stream, "alerts")).num_pending)
                if os.environ.get("BENCH_DEBUG"):
                    d = await rt.js.consumer_info(rt.topology.stream("DERIVED"), "persistence")
                    print("lag", lags[-1], "persistence DERIVED", d.num_pending, d.num_ack_pending, flush=True)
                await asyncio.sleep(1.0)

        watchers = [asyncio.create_task(poll()), asyncio.create_task(lag())]
        sent_at: dict[str, float] = {}
        probe_ids: dict[str, str] = {}  # event id (its Nats-Msg-Id) -> probe name
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        for i in range(0, n, CHUNK):
            chunk = events[i:i + CHUNK]
            for j in range(-i % PROBE_EVERY, len(chunk), PROBE_EVERY):  # events i + j, a multiple of PROBE_EVERY
                if (k := (i + j) // PROBE_EVERY) < probes:
                    chunk[j] = rt.publisher.envelope(SubredditDiscovered(name=f"probe{k}"))
                    probe_ids[chunk[j].id] = f"probe{k}"
            wait = t0 + i / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            now = time.time()
            for e in chunk:
                if isinstance(e, Envelope):
                    sent_at[e.data.name] = now
            await rt.publisher.publish_many(chunk)
        published = time.perf_counter() - t0
        await until(lambda: drained_(rt, stream), 120, fail=False)
        drained = time.perf_counter() - t0
        if proc.returncode is not None:
            raise RuntimeError(f"b9-alerts exited ({proc.returncode}): {log_path.read_text()[-3000:]}")
        cpu = cpu_seconds(proc.pid) - cpu0
        await until(lambda: len(seen) >= len(sent_at), 30, fail=False)
        done.set()
        await asyncio.gather(*watchers)
        await sub.unsubscribe()
        stored: dict[str, float] = {}  # probe name -> its event's stream time
        for m in await stored_times(rt, "SCRAPE", "subreddit.discovered", headers_only=True):
            if (name := probe_ids.get((m.headers or {}).get("Nats-Msg-Id", ""))) is not None:
                stored[name] = m.metadata.timestamp.timestamp()
        evaluated: dict[str, float] = {}  # -> the notification's occurred_at (stamped when b9-alerts matched)
        note_stored: dict[str, float] = {}  # -> the notification's stream time
        for m in await stored_times(rt, "DERIVED", "notification.created", headers_only=False):
            if b'"rule_id":"probe"' in m.data:
                note = msgspec.json.decode(m.data)
                evaluated[note["data"]["entity"]] = datetime.fromisoformat(note["occurred_at"]).timestamp()
                note_stored[note["data"]["entity"]] = m.metadata.timestamp.timestamp()
        proc.terminate()
        await proc.wait()
        for c in consumers:
            await c.stop()
        await pool.close()
        await rt.close()
    to_nats = [arrived[k] - t for k, t in stored.items() if k in arrived]
    to_row = [seen[k] - t for k, t in stored.items() if k in seen]
    publishing = [t - sent_at[k] for k, t in stored.items()]
    stages = [("stored -> evaluated by b9-alerts (its queue + batch wait)", stored, evaluated),
              ("evaluated -> notification stored (publish)", evaluated, note_stored),
              ("notification stored -> row readable (persistence + 20 ms poll)", note_stored, seen)]
    ms = 1000.0
    return [
        Row("offered load (published)", n / published, "events/s", target=f"{rate:,}",
            note=f"{n:,} events in {published:.1f} s, 100 rules + probe"),
        Row("alerts consumer: all evaluated after", drained, "s",
            note=f"backlog max {max(lags or [0]):,}, median {statistics.median(lags or [0]):,.0f} (1 s samples); "
                 f"{n / cpu:,.0f} events per CPU-second of b9-alerts"),
        Row("event stored -> notification.created p50", statistics.median(to_nats) * ms if to_nats else -1, "ms",
            note=f"{len(to_nats)}/{len(sent_at)} probes; stored {ms_pct(publishing)} after the publish "
                 f"of its chunk began (the upper bound used until 2026-12-02)"),
        Row("event stored -> notification.created p99", pct(to_nats, 0.99) * ms, "ms"),
        Row("event stored -> notification row readable p50", statistics.median(to_row) * ms if to_row else -1, "ms",
            note=f"{len(to_row)}/{len(sent_at)} probes"),
        Row("event stored -> notification row readable p99", pct(to_row, 0.99) * ms, "ms", target="< 1000",
            baseline=1000, ratio=pct(to_row, 0.99) * ms / 1000),
        *(Row(f"  {name} p50", statistics.median(d) * ms if (d := [b[k] - a[k] for k in a if k in b]) else -1, "ms",
              note=ms_pct(d)) for name, a, b in stages),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="5 seconds of load (run_all --quick)")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 5
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = asyncio.run(run(args.rate, args.seconds))
    print_table(f"alerts under load ({args.rate:,} events/s for {args.seconds} s)", rows)
    write_json(args.json, "alerts_latency", rows, {"rate": args.rate, "seconds": args.seconds})


if __name__ == "__main__":
    main()
