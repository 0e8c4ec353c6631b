"""Streams, consumers and KV buckets, named once and provisioned idempotently.

Every name passes through a ``Topology`` so that a namespace (``B9_NAMESPACE``) can
isolate tenants and tests on one server: streams become ``<ns>_SCRAPE``, subjects
``<ns>.subreddit.fetched``, buckets ``<ns>_control``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from b9_common.events.catalogue import stream_subjects

log = logging.getLogger(__name__)

DAY = 86_400.0
STREAMS = ("SCRAPE", "DERIVED", "DECISIONS", "COMMANDS", "DLQ")
CONTROL_BUCKET = "control"
HEARTBEAT_BUCKET = "heartbeats"
HEARTBEAT_TTL = 30.0
ACCOUNTS_BUCKET = "accounts"
SESSIONS_BUCKET = "sessions"
SESSIONS_MAX_AGE = 30 * 86_400.0  # a session's own expires_at is the limit; this collects garbage
REQUESTS_BUCKET = "requests"  # b9_common.ops.requests: followed requests, 24 h
REQUESTS_TTL = 86_400.0
DUPLICATE_WINDOW = 120.0


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer: ``name`` on ``stream`` over ``subjects`` (event types)."""

    name: str
    stream: str
    subjects: tuple[str, ...]
    max_deliver: int = 5
    ack_wait: float = 30.0
    max_ack_pending: int = 20_000
    description: str = ""
    # Replay / ephemeral consumers: where to start, and when the server may forget it.
    start_seq: int | None = None
    start_time: datetime | None = None
    inactive_threshold: float | None = None


@dataclass
class Topology:
    namespace: str = ""
    replicas: int = 1
    # SCRAPE / DERIVED age limit; 0 = none. Facts are kept for ever by default so that the read
    # model can always be rebuilt from the streams alone (`b9 rebuild`; persistence's README says
    # what a limit would cost). DECISIONS never has one.
    scrape_max_age_days: float = 0.0
    dlq_max_age_days: float = 30.0
    _prefix: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._prefix = f"{self.namespace}." if self.namespace else ""

    # -- names ---------------------------------------------------------------
    def stream(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    def subject(self, type_: str) -> str:
        return f"{self._prefix}{type_}"

    def type_of(self, subject: str) -> str:
        """Event type (subject suffix) of a wire subject."""
        if self._prefix and subject.startswith(self._prefix):
            return subject[len(self._prefix) :]
        return subject

    def dlq_subject(self, type_: str) -> str:
        return f"{self._prefix}dlq.{type_}"

    def decisions_applied_subject(self) -> str:
        """Core NATS (no stream): persistence announces the ids of decisions it has just stored."""
        return f"{self._prefix}b9.decisions.applied"

    def replay_stop_subject(self, service: str) -> str:
        """Core NATS (no stream): a replay id published here stops that replay in the replica running it."""
        return f"{self._prefix}b9.replay.stop.{service}"

    def bucket(self, name: str) -> str:
        return f"{self.namespace}_{name}" if self.namespace else name

    # -- declarations --------------------------------------------------------
    def _stream(self, name: str, description: str, subjects: list[str], retention: RetentionPolicy,
                max_age: float) -> StreamConfig:
        return StreamConfig(
            name=self.stream(name), description=description, subjects=subjects, retention=retention,
            max_age=max_age, storage=StorageType.FILE, num_replicas=self.replicas,
            duplicate_window=DUPLICATE_WINDOW, discard=DiscardPolicy.OLD,
        )

    def stream_configs(self) -> list[StreamConfig]:
        facts_age = self.scrape_max_age_days * DAY
        limits = RetentionPolicy.LIMITS
        return [
            self._stream("SCRAPE", "Facts from upstream (replayable)",
                         [self.subject(t) for t in stream_subjects("SCRAPE")], limits, facts_age),
            self._stream("DERIVED", "Results of processing facts",
                         [self.subject(t) for t in stream_subjects("DERIVED")], limits, facts_age),
            self._stream("DECISIONS", "What people decided, with who and when (kept forever)",
                         [self.subject(t) for t in stream_subjects("DECISIONS")], limits, 0.0),
            self._stream("COMMANDS", "On-demand work", [self.subject(t) for t in stream_subjects("COMMANDS")],
                         RetentionPolicy.WORK_QUEUE, 7 * DAY),
            self._stream("DLQ", "Messages rejected or past max deliveries, with the reason",
                         [f"{self._prefix}dlq.>"], limits, self.dlq_max_age_days * DAY),
        ]

    def consumer_config(self, spec: ConsumerSpec) -> ConsumerConfig:
        subjects = [self.subject(s) for s in spec.subjects]
        cfg = ConsumerConfig(
            durable_name=spec.name,
            description=spec.description or None,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=spec.ack_wait,
            max_deliver=spec.max_deliver,
            max_ack_pending=spec.max_ack_pending,
            num_replicas=self.replicas,
            inactive_threshold=spec.inactive_threshold,
        )
        if spec.start_seq is not None:
            cfg.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
            cfg.opt_start_seq = spec.start_seq
        elif spec.start_time is not None:
            cfg.deliver_policy = DeliverPolicy.BY_START_TIME
            cfg.opt_start_time = spec.start_time
        if len(subjects) == 1:
            cfg.filter_subject = subjects[0]
        else:
            cfg.filter_subjects = subjects
        return cfg

    # -- provisioning --------------------------------------------------------
    async def provision(self, js: JetStreamContext) -> None:
        """Create or update every stream and bucket. Safe to call from every replica."""
        for cfg in self.stream_configs():
            await ensure_stream(js, cfg)
        await self.control_kv(js)
        await self.heartbeat_kv(js)
        await self.accounts_kv(js)
        await self.sessions_kv(js)
        await self.requests_kv(js)

    async def ensure_consumer(self, js: JetStreamContext, spec: ConsumerSpec) -> None:
        await js.add_consumer(self.stream(spec.stream), self.consumer_config(spec))

    async def control_kv(self, js: JetStreamContext) -> KeyValue:
        return await ensure_kv(js, KeyValueConfig(
            bucket=self.bucket(CONTROL_BUCKET), history=10, replicas=self.replicas,
            description="Scraper control: enabled, interval, batch size, budgets",
        ))

    async def heartbeat_kv(self, js: JetStreamContext) -> KeyValue:
        return await ensure_kv(js, KeyValueConfig(
            bucket=self.bucket(HEARTBEAT_BUCKET), history=1, ttl=HEARTBEAT_TTL,
            replicas=self.replicas, description="One key per live replica",
        ))

    async def accounts_kv(self, js: JetStreamContext) -> KeyValue:
        return await ensure_kv(js, KeyValueConfig(
            bucket=self.bucket(ACCOUNTS_BUCKET), history=5, replicas=self.replicas,
            description="People's accounts (b9_common.accounts.store)",
        ))

    async def sessions_kv(self, js: JetStreamContext) -> KeyValue:
        return await ensure_kv(js, KeyValueConfig(
            bucket=self.bucket(SESSIONS_BUCKET), history=1, ttl=SESSIONS_MAX_AGE,
            replicas=self.replicas, description="Dashboard sessions (b9_common.accounts.store)",
        ))

    async def requests_kv(self, js: JetStreamContext) -> KeyValue:
        return await ensure_kv(js, KeyValueConfig(
            bucket=self.bucket(REQUESTS_BUCKET), history=1, ttl=REQUESTS_TTL,
            replicas=self.replicas, description="Requests people follow (b9_common.ops.requests)",
        ))


async def ensure_stream(js: JetStreamContext, cfg: StreamConfig) -> None:
    assert cfg.name
    try:
        await js.stream_info(cfg.name)
    except NotFoundError:
        try:
            await js.add_stream(cfg)
            log.info("stream created", extra={"stream": cfg.name})
            return
        except BadRequestError as exc:
            if exc.err_code != 10058:  # created concurrently by another replica
                raise
    await js.update_stream(cfg)


async def ensure_kv(js: JetStreamContext, cfg: KeyValueConfig) -> KeyValue:
    try:
        return await js.key_value(cfg.bucket)
    except (BucketNotFoundError, NotFoundError):
        return await js.create_key_value(cfg)
