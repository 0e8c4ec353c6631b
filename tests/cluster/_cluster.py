"""Three nats-server processes on loopback, run from the production configs in infra/nats.

Each node's config is infra/nats/nats-N.conf with only its addresses and store directory
swapped for free loopback ports and a temporary directory; auth.conf is the committed one.
Passwords (and the route URLs) reach the servers through the environment, as in compose.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import urllib.request
from collections.abc import Mapping
from pathlib import Path

import nats
from b9_common.embedded import EmbeddedNats
from b9_common.ops.metrics import free_port
from nats.aio.client import Client as NATS

REPO = Path(__file__).resolve().parents[2]
INFRA_NATS = REPO / "infra" / "nats"
USERS = (
    "admin",
    "sys",
    "route",
    "reddit-scraper",
    "instagram-scraper",
    "categorizer",
    "media",
    "persistence",
    "gateway",
    "alerts",
)
SWAPS = {  # production text -> test text (each must be present once)
    "listen: 0.0.0.0:4222": "listen: 127.0.0.1:{port}",
    "http: 0.0.0.0:8222": "http: 127.0.0.1:{http}",
    "store_dir: /data/jetstream": 'store_dir: "{store}"',
    "max_file_store: 20GB": "max_file_store: {max_file_store}",
    "listen: 0.0.0.0:6222": "listen: 127.0.0.1:{cport}",
}


def password_env(user: str) -> str:
    return f"NATS_{user.upper().replace('-', '_')}_PASSWORD"


def render_node(i: int, ports: Mapping[str, int], store: Path, max_file_store: str = "1GB") -> str:
    text = (INFRA_NATS / f"nats-{i}.conf").read_text()
    for old, new in SWAPS.items():
        if text.count(old) != 1:
            raise AssertionError(f"nats-{i}.conf no longer contains {old!r} exactly once")
        text = text.replace(old, new.format(store=store, max_file_store=max_file_store, **ports))
    return text


class Cluster:
    def __init__(self, root: Path, max_file_store: str = "1GB") -> None:
        """``max_file_store``: each node's JetStream disk limit (tests: 1GB; a 3x seed's SCRAPE
        stream alone is ~4 GB on every node at 3 replicas)."""
        self.root = root
        self.passwords = {u: secrets.token_hex(12) for u in USERS}
        self.ports = [
            {"port": free_port(), "cport": free_port(), "http": free_port()} for _ in range(3)
        ]
        self.nodes: list[EmbeddedNats] = []
        for i, ports in enumerate(self.ports, start=1):
            d = root / f"nats-{i}"
            d.mkdir(parents=True)
            shutil.copy(INFRA_NATS / "auth.conf", d / "auth.conf")
            conf = d / "nats.conf"
            conf.write_text(render_node(i, ports, d / "jetstream", max_file_store))
            self.nodes.append(EmbeddedNats(d, port=ports["port"], config=conf))

    def env(self) -> dict[str, str]:
        env = {password_env(u): p for u, p in self.passwords.items()}
        for i, ports in enumerate(self.ports, start=1):
            env[f"NATS_ROUTE_URL_{i}"] = (
                f"nats-route://route:{self.passwords['route']}@127.0.0.1:{ports['cport']}"
            )
        return env

    def url(self, user: str, nodes: tuple[int, ...] = (0, 1, 2)) -> str:
        pw = self.passwords[user]
        return ",".join(f"nats://{user}:{pw}@127.0.0.1:{self.ports[n]['port']}" for n in nodes)

    async def start(self) -> None:
        os.environ.update(self.env())  # nats-server reads $NATS_..._PASSWORD from its environment
        await asyncio.gather(*(asyncio.to_thread(n.start) for n in self.nodes))
        await self.wait_jetstream()

    async def wait_jetstream(self, within: float = 20.0) -> None:
        """Until the meta group has a leader and every node answers JetStream requests."""
        nc = await self.connect("admin")
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while True:
                try:
                    resp = await nc.request("$JS.API.INFO", b"", timeout=1)
                    if "error" not in json.loads(resp.data):
                        return
                except Exception:
                    pass
                if loop.time() > deadline:
                    raise TimeoutError("JetStream cluster not ready")
                await asyncio.sleep(0.2)
        finally:
            await nc.close()

    async def connect(self, user: str, **kw: object) -> NATS:
        servers = self.url(user).split(",")
        return await nats.connect(
            servers=servers,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=2,
            **kw,
        )

    def index_of(self, server_name: str) -> int:
        return int(server_name.rsplit("-", 1)[1]) - 1

    def kill(self, n: int) -> None:
        self.nodes[n].stop(sig=signal.SIGKILL)

    async def restart(self, n: int) -> None:
        await asyncio.to_thread(self.nodes[n].start)

    def connz(self, n: int) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{self.ports[n]['http']}/connz?limit=1000"
        with urllib.request.urlopen(url, timeout=2) as resp:  # loopback monitoring port
            conns: list[dict[str, object]] = json.load(resp)["connections"]
        return conns

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for key in self.env():
            os.environ.pop(key, None)
