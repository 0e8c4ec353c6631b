"""Start-up against a NATS whose JetStream is not ready: the service waits for it (provisioning is
retried like the connect), and a declaration JetStream refuses for good ends the start with one
line naming the setting."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import nats
import pytest
from b9_common.embedded import EmbeddedNats, free_port
from b9_common.events import Envelope
from b9_common.jetstream.topology import ConsumerSpec, ensure_kv
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, connect, declare, serve
from b9_common.settings import CommonSettings, ConfigError
from nats.js.api import KeyValueConfig


def _service(started: list[Runtime], stop: asyncio.Event) -> ServiceDef:
    async def bootstrap(settings: CommonSettings, rt: Runtime) -> App:
        started.append(rt)
        await rt.js.create_key_value(KeyValueConfig(bucket=rt.topology.bucket("probe"), history=1))
        stop.set()  # started: stop at once
        return App()

    return ServiceDef(name="startup-probe", version="0", settings_cls=CommonSettings, bootstrap=bootstrap)


async def test_a_service_starts_once_jetstream_is_enabled(tmp_path: Path, namespace: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    port = free_port("127.0.0.1")
    conf = tmp_path / "no-js.conf"
    conf.write_text(f'listen: "127.0.0.1:{port}"\n')  # accepts connections, no JetStream
    plain = EmbeddedNats(tmp_path / "plain", port=port, config=conf)
    plain.start()
    with_js = EmbeddedNats(tmp_path / "js", port=port)
    started: list[Runtime] = []
    stop = asyncio.Event()
    settings = CommonSettings(nats_url=f"nats://127.0.0.1:{port}", b9_namespace=namespace,
                              metrics_port=-1, startup_timeout=60)
    caplog.set_level(logging.WARNING, logger="b9_common.ops.startup")
    try:
        task = asyncio.create_task(serve(_service(started, stop), settings, stop=stop))

        async def refused_once() -> None:
            while "not ready" not in caplog.text:
                assert not task.done(), f"start-up gave up: {task.exception()!r}"
                await asyncio.sleep(0.05)

        await asyncio.wait_for(refused_once(), 30)  # connected, provisioning refused (503)
        assert not task.done() and not started
        plain.stop()
        with_js.start()  # the same address, now with JetStream
        await asyncio.wait_for(task, 60)
        assert len(started) == 1
        nc = await nats.connect(settings.nats_url)
        try:
            js = nc.jetstream()
            assert (await js.stream_info(f"{namespace}_SCRAPE")).config.name == f"{namespace}_SCRAPE"
            assert await js.key_value(f"{namespace}_probe")
        finally:
            await nc.close()
    finally:
        plain.stop()
        with_js.stop()


async def test_a_nats_restart_during_bootstrap_only_delays_the_start(
        own_nats: EmbeddedNats, namespace: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = CommonSettings(nats_url=own_nats.url, b9_namespace=namespace, metrics_port=-1,
                              startup_timeout=60)
    bound: list[str] = []
    stop = asyncio.Event()
    spec = ConsumerSpec(name="startup-probe", stream="SCRAPE", subjects=("subreddit.fetched",))

    def restart_soon() -> asyncio.Task[None]:
        own_nats.stop()
        return asyncio.create_task(asyncio.to_thread(lambda: (time.sleep(1.0), own_nats.start())))

    async def started() -> None:  # loops start after the consumers
        stop.set()

    async def handler(env: Envelope) -> None:
        return None

    async def bootstrap(settings: CommonSettings, rt: Runtime) -> App:
        back = restart_soon()  # provisioned; NATS goes away as the service binds its own bucket
        kv = await ensure_kv(rt.js, KeyValueConfig(bucket=rt.topology.bucket("own"), history=1))
        await back
        bound.append(kv._name)
        restart_soon()  # and again as the runtime starts the heartbeat and creates the consumer
        return App(consumers=[ConsumerDef(spec, handler=handler)], loops=[started])

    caplog.set_level(logging.WARNING, logger="b9_common.ops.startup")
    sdef = ServiceDef(name="startup-probe", version="0", settings_cls=CommonSettings, bootstrap=bootstrap)
    await asyncio.wait_for(serve(sdef, settings, stop=stop), 120)
    assert bound == [f"{namespace}_own"]
    assert "cannot bind KV bucket" in caplog.text  # the first try was lost with the connection
    nc = await nats.connect(settings.nats_url)
    try:
        info = await nc.jetstream().consumer_info(f"{namespace}_SCRAPE", "startup-probe")
        assert info.config.durable_name == "startup-probe"
    finally:
        await nc.close()


async def test_a_refused_declaration_ends_the_start_naming_the_setting(
        nats_url: str, namespace: str, caplog: pytest.LogCaptureFixture) -> None:
    # three replicas on one server: JetStream says no, and will say no again
    settings = CommonSettings(nats_url=nats_url, b9_namespace=namespace, metrics_port=-1,
                              stream_replicas=3, startup_timeout=60)
    started: list[Runtime] = []
    caplog.set_level(logging.WARNING, logger="b9_common.ops.startup")
    with pytest.raises(ConfigError) as err:
        await asyncio.wait_for(serve(_service(started, asyncio.Event()), settings), 50)
    assert err.value.variable == "STREAM_REPLICAS"
    text = str(err.value)
    assert "\n" not in text and f"{namespace}_SCRAPE" in text and "STREAM_REPLICAS=3" in text
    assert "not ready" not in caplog.text  # not retried
    assert not started


async def test_creating_a_consumer_at_start_rides_out_a_restart(own_nats: EmbeddedNats, namespace: str) -> None:
    settings = CommonSettings(nats_url=own_nats.url, b9_namespace=namespace, metrics_port=-1)
    rt = await connect(settings, "startup-probe", "0")
    spec = ConsumerSpec(name="late", stream="DERIVED", subjects=("subreddit.categorized",))
    try:
        own_nats.stop()
        back = asyncio.create_task(asyncio.to_thread(lambda: (time.sleep(1.0), own_nats.start())))
        # what serve does before it starts each consumer
        await declare(settings, "consumer late", lambda: rt.topology.ensure_consumer(rt.js, spec), 60)
        await back
        info = await rt.js.consumer_info(f"{namespace}_DERIVED", "late")
        assert info.config.filter_subject == f"{namespace}.subreddit.categorized"
    finally:
        await rt.close()
