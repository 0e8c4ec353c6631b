"""Publishing events: one at a time with a confirmed ack, or in bulk with bounded in-flight acks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

from b9_common.errors import PublishError
from b9_common.events.catalogue import spec_of
from b9_common.events.envelope import Envelope, encode, make_envelope
from b9_common.topology import Topology

MSG_ID = "Nats-Msg-Id"


class Publisher:
    """Wraps payloads in the envelope and publishes them with ``Nats-Msg-Id`` = event id."""

    def __init__(
        self,
        js: JetStreamContext,
        topology: Topology,
        source: str,
        *,
        timeout: float = 5.0,
        window: int = 512,
    ) -> None:
        self.js = js
        self.topology = topology
        self.source = source
        self.timeout = timeout
        self.window = window

    def envelope(
        self,
        payload: Any,
        *,
        trace: str | None = None,
        occurred_at: datetime | None = None,
        id_: str | None = None,
    ) -> Envelope[Any]:
        spec = spec_of(payload)
        return make_envelope(
            spec.type, payload, source=self.source, version=spec.version,
            trace=trace, occurred_at=occurred_at, id_=id_,
        )

    async def publish(
        self,
        payload: Any,
        *,
        trace: str | None = None,
        occurred_at: datetime | None = None,
        id_: str | None = None,
    ) -> Envelope[Any]:
        """Publish one event and wait for the server's ack; ``PublishError`` if it does not come."""
        env = self.envelope(payload, trace=trace, occurred_at=occurred_at, id_=id_)
        await self.publish_envelope(env)
        return env

    async def publish_envelope(self, env: Envelope[Any]) -> None:
        subject = self.topology.subject(env.type)
        try:
            await self.js.publish(subject, encode(env), timeout=self.timeout, headers={MSG_ID: env.id})
        except (TimeoutError, NatsTimeout) as exc:
            raise PublishError(f"no ack from JetStream for {subject} within {self.timeout}s") from exc
        except (NoStreamResponseError, NoRespondersError) as exc:
            raise PublishError(f"no stream accepts {subject} (streams not provisioned?)") from exc
        except APIError as exc:
            raise PublishError(f"JetStream refused {subject}: {exc.description}") from exc

    async def publish_raw(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        """Publish bytes as they are (DLQ copies and retries). Waits for the ack."""
        try:
            await self.js.publish(subject, data, timeout=self.timeout, headers=headers)
        except (TimeoutError, NatsTimeout) as exc:
            raise PublishError(f"no ack from JetStream for {subject} within {self.timeout}s") from exc
        except (NoStreamResponseError, NoRespondersError) as exc:
            raise PublishError(f"no stream accepts {subject}") from exc
        except APIError as exc:
            raise PublishError(f"JetStream refused {subject}: {exc.description}") from exc

    async def publish_many(self, items: Iterable[Any]) -> int:
        """Publish payloads (or envelopes) with at most ``window`` acks in flight.

        Returns how many were acknowledged (duplicates inside the window count: the server
        acked them). Raises ``PublishError`` naming the first failure once the batch is settled.
        """
        sem = asyncio.Semaphore(self.window)
        futures: list[asyncio.Future[Any]] = []
        for item in items:
            env = item if isinstance(item, Envelope) else self.envelope(item)
            await sem.acquire()
            fut = await self.js.publish_async(
                self.topology.subject(env.type), encode(env), headers={MSG_ID: env.id}
            )
            fut.add_done_callback(lambda _f: sem.release())
            futures.append(fut)
        if not futures:
            return 0
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*futures, return_exceptions=True), timeout=self.timeout + len(futures) / 1000
            )
        except TimeoutError as exc:
            for f in futures:
                f.cancel()
            raise PublishError(f"JetStream did not ack {len(futures)} publishes in time") from exc
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise PublishError(f"{len(errors)} of {len(futures)} publishes failed: {errors[0]!r}")
        return len(futures)
