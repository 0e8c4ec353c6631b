"""A loopback server speaking just enough NATS for nats-py to connect, publish and flush.

It records every byte the client sends, so a test can compare what nats-py's public API wrote
with what ``b9_common.jetstream.natsio`` writes on the same connection.
"""

from __future__ import annotations

import asyncio
import json

INFO = {"server_id": "FAKE", "server_name": "fake", "version": "2.10.0", "proto": 1, "go": "fake",
        "host": "127.0.0.1", "headers": True, "max_payload": 1048576}


class FakeNats:
    def __init__(self) -> None:
        self.received = bytearray()
        self.pongs = 0
        self.port = 0
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
        while data := await reader.read(65536):
            self.received += data
            # Test payloads never contain PING, so every PING line in the stream is a command.
            due = bytes(self.received).count(b"PING\r\n") - self.pongs
            if due > 0:
                self.pongs += due
                writer.write(b"PONG\r\n" * due)
                await writer.drain()
