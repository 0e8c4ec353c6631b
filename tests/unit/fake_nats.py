"""A loopback server speaking just enough NATS for nats-py to connect, publish and flush.

It records every byte the client sends, so a test can compare what nats-py's public API wrote
with what ``b9_common.jetstream.natsio`` writes on the same connection. With ``jetstream`` on,
it answers every publish that has a reply subject as a JetStream stream would: a PubAck (with
``duplicate`` for a ``Nats-Msg-Id`` seen before), a JetStream error for subjects in ``refuse``,
or a 503 no-responders status for subjects in ``no_stream``; ``hold`` keeps the answers back.
"""

from __future__ import annotations

import asyncio
import json

INFO = {"server_id": "FAKE", "server_name": "fake", "version": "2.10.0", "proto": 1, "go": "fake",
        "host": "127.0.0.1", "headers": True, "max_payload": 1048576}


class FakeNats:
    def __init__(self, *, jetstream: bool = False) -> None:
        self.received = bytearray()
        self.jetstream = jetstream
        self.refuse: set[str] = set()
        self.no_stream: set[str] = set()
        self.hold = False
        self.stored: list[tuple[str, bytes]] = []  # (subject, payload incl. headers) a stream kept
        self.port = 0
        self._subs: dict[str, str] = {}  # sid -> subject (a trailing ".*" matches one token)
        self._ids: set[bytes] = set()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def mark(self) -> int:
        return len(self.received)

    def since(self, mark: int) -> bytes:
        """What the client sent after ``mark``, without its ``PING``s (flushes, keepalive)."""
        return bytes(self.received[mark:]).replace(b"PING\r\n", b"")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        writer.write(b"INFO " + json.dumps(INFO).encode() + b"\r\n")
        await writer.drain()
        try:
            while True:
                line = await reader.readuntil(b"\r\n")
                self.received += line
                op, *args = line.decode().split()
                if op in ("PUB", "HPUB"):
                    body = await reader.readexactly(int(args[-1]) + 2)
                    self.received += body
                    hdr = body[:int(args[-2])] if op == "HPUB" else b""
                    reply = args[1] if len(args) == (4 if op == "HPUB" else 3) else ""
                    answer = self._answer(args[0], reply, hdr, body[:-2])
                    if answer:
                        writer.write(answer)
                elif op == "SUB":
                    self._subs[args[-1]] = args[0]
                elif op == "PING":
                    writer.write(b"PONG\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    def _sid(self, subject: str) -> str | None:
        for sid, pattern in self._subs.items():
            if pattern == subject or (pattern.endswith(".*") and subject.rsplit(".", 1)[0] == pattern[:-2]):
                return sid
        return None

    def _answer(self, subject: str, reply: str, hdr: bytes, payload: bytes) -> bytes:
        sid = self._sid(reply) if self.jetstream and reply and not self.hold else None
        if sid is None:
            return b""
        if subject in self.no_stream:
            status = b"NATS/1.0 503\r\n\r\n"
            return b"HMSG %s %s %d %d\r\n%s\r\n" % (reply.encode(), sid.encode(), len(status), len(status), status)
        if subject in self.refuse:
            ack = {"error": {"code": 400, "err_code": 10060, "description": f"refused {subject}"}}
        else:
            msg_id = next((line.split(b": ", 1)[1] for line in hdr.split(b"\r\n") if line.startswith(b"Nats-Msg-Id")),
                          None)
            duplicate = msg_id is not None and msg_id in self._ids
            if msg_id is not None:
                self._ids.add(msg_id)
            if not duplicate:
                self.stored.append((subject, payload))
            ack = {"stream": "FAKE", "seq": len(self.stored), **({"duplicate": True} if duplicate else {})}
        data = json.dumps(ack).encode()
        return b"MSG %s %s %d\r\n%s\r\n" % (reply.encode(), sid.encode(), len(data), data)
