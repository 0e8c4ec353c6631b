"""Streams, consumers and KV buckets, named once and provisioned idempotently.

Every name passes through a ``Topology`` so that a namespace (``B9_NAMESPACE``) can
isolate tenants and tests on one server: streams become ``<ns>_SCRAPE``, subjects
``<ns>.subreddit.fetched``, buckets ``<ns>_control``.

Provisioning tells a JetStream that is not there *yet* from one that says no: ``transient(exc)``
is true for timeouts, a dropped or reconnecting connection and JetStream's 503 answers
("JetStream not enabled", "temporarily unavailable": a server starting, recovering its streams or
electing a leader), which the start-up retries (``b9_common.service.connect`` around
``provision``, and ``ensure_kv`` itself, so a bucket a service binds in its bootstrap rides out
a NATS restart); any other refusal of a declaration is a ``ProvisionError`` that names the
object and the setting to look at.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import nats.errors
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
from nats.js.errors import (
    APIError,
    BadRequestError,
    BucketNotFoundError,
    NotFoundError,
    ServiceUnavailableError,
)
from nats.js.kv import KeyValue

from b9_common.events.catalogue import stream_subjects
from b9_common.ops.startup import retry_startup

log = logging.getLogger(__name__)
T = TypeVar("T")

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
# how long binding a KV bucket rides out JetStream being away (a request sent while the
# connection was down times out after the context's timeout, 10 s in a service, then retried)
BIND_RETRY_SECONDS = 30.0

# JetStream err_codes that describe the server's state, not the request: 10008 "JetStream system
# temporarily unavailable", 10009 "JetStream cluster can not handle request" (no leader yet),
# 10039 "JetStream not enabled for account", 10076 "JetStream not enabled", 10006 "no suitable
# peers for placement" (a cluster node is restarting; with too few nodes for STREAM_REPLICAS
# the start-up ends after STARTUP_TIMEOUT, saying so)
TRANSIENT_ERR_CODES = frozenset({10006, 10008, 10009, 10039, 10076})
# the setting a refusal points at (any other: the server or account NATS_URL reaches)
SETTING_FOR_ERR_CODE = {
    10074: "STREAM_REPLICAS",  # replicas > 1 not supported in non-clustered mode
    10065: "B9_NAMESPACE",  # subjects overlap with an existing stream
}
_TRANSIENT_TYPES = (
    TimeoutError,  # nats.errors.TimeoutError too
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError,
    ConnectionError,
)


def transient(exc: BaseException) -> bool:
    """JetStream not ready or the connection away for a moment: worth another try."""
    if isinstance(exc, APIError):  # a 503 without a body (no responders) has no code set
        return (isinstance(exc, ServiceUnavailableError) or exc.code == 503
                or exc.err_code in TRANSIENT_ERR_CODES)
    return isinstance(exc, _TRANSIENT_TYPES)


class ProvisionError(Exception):
    """JetStream refused a declaration for good. ``str(err)`` is one line; ``setting`` names
    the setting to look at."""

    def __init__(self, what: str, exc: APIError) -> None:
        self.setting = SETTING_FOR_ERR_CODE.get(exc.err_code or 0, "NATS_URL")
        problem = exc.description or type(exc).__name__
        super().__init__(f"JetStream refused {what}: {problem} (err_code {exc.err_code})")


async def declare(what: str, step: Awaitable[T]) -> T:
    """Await one declaration; a refusal that is not ``transient`` becomes a ``ProvisionError``."""
    try:
        return await step
    except APIError as exc:
        if transient(exc):
            raise
        raise ProvisionError(what, exc) from exc


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
        """Create or update every stream and bucket. Safe to call from every replica (and to
        call again after a ``transient`` failure). A refusal raises ``ProvisionError``."""
        for cfg in self.stream_configs():
            await declare(f"stream {cfg.name}", ensure_stream(js, cfg))
        for name, bind in ((CONTROL_BUCKET, self.control_kv), (HEARTBEAT_BUCKET, self.heartbeat_kv),
                           (ACCOUNTS_BUCKET, self.accounts_kv), (SESSIONS_BUCKET, self.sessions_kv),
                           (REQUESTS_BUCKET, self.requests_kv)):
            await declare(f"KV bucket {self.bucket(name)}", bind(js))

    async def ensure_consumer(self, js: JetStreamContext, spec: ConsumerSpec) -> None:
        """Create or update a durable consumer (a refusal: ``ProvisionError``)."""
        await declare(f"consumer {spec.name} on {self.stream(spec.stream)}",
                      js.add_consumer(self.stream(spec.stream), self.consumer_config(spec)))

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
    """Bind a bucket, creating it when it is missing. Retried while JetStream is away
    (``transient``: a NATS restart during a service's bootstrap) for ``BIND_RETRY_SECONDS``."""

    async def bind() -> KeyValue:
        try:
            return await js.key_value(cfg.bucket)
        except (BucketNotFoundError, NotFoundError):
            return await js.create_key_value(cfg)

    return await retry_startup(f"NATS_URL: JetStream cannot bind KV bucket {cfg.bucket}", bind,
                               BIND_RETRY_SECONDS, retry_if=transient)
