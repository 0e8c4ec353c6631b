"""Webhook deliveries: one signed POST per live notification of a rule with a webhook.

Body: ``{"delivery_id", "rule": {...}, "notification": {...}, "event": {...}, "link"}`` (or, with
``slack``, ``{"text": ...}``). Headers: ``X-B9-Delivery`` (the notification id: the receiver's
idempotency key), ``X-B9-Timestamp`` (unix seconds) and ``X-B9-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``ALERT_WEBHOOK_SECRET``.

A 2xx is delivered; a 5xx, 408, 429 or a connection error is retried with jittered exponential
backoff for ``ALERT_WEBHOOK_RETRY_SECONDS``, then failed with the last reason; another 4xx or a URL
the SSRF rules refuse fails at once. Every outcome is an event (``webhook.delivered`` /
``webhook.failed``) persistence keeps in ``webhook_deliveries`` (the delivery log per rule); a
notification whose delivery is logged already is not sent again. Replays never send.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import socket
import time
from typing import Any
from urllib.parse import urljoin

import aiohttp
import asyncpg
import msgspec
import stamina
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from b9_common.events import Envelope
from b9_common.events.alerts import WebhookDelivered, WebhookFailed
from b9_common.jetstream.delivery import Delivery
from b9_common.jetstream.publisher import Publisher
from b9_common.net import webhook_url
from b9_readmodel.alerts import delivery_logged

from b9_alerts.rules import Rule, RuleSet
from b9_alerts.settings import Settings

log = logging.getLogger(__name__)
CONSUMER = "alerts-webhooks"
_json = msgspec.json.Encoder()


class Refused(Exception):
    """Not retried: the URL is refused or the receiver answered a final 4xx."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Transient(Exception):
    """Retried until the retry time is up."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GuardedResolver(AbstractResolver):
    """Resolve, then refuse the host if any answer is not a public address (unless allow-listed)."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed, self.base = allowed, DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        answers = await self.base.resolve(host, port, family)
        why = webhook_url.addresses_problem(host, [a["host"] for a in answers], self.allowed)
        if why:
            raise Refused(why)
        return answers

    async def close(self) -> None:
        await self.base.close()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def body_of(rule: Rule, env: Envelope[Any], base_url: str) -> bytes:
    n = env.data
    link = urljoin(base_url, n.link or "/")
    if rule.slack:
        text = f"*{rule.name}*: {n.title}" + (f" ({n.count} matches)" if n.digest else "") + f" <{link}|open in b9>"
        return _json.encode({"text": text})
    return _json.encode({
        "delivery_id": env.id,
        "rule": {"id": rule.id, "name": rule.name, "on": rule.on},
        "notification": {"id": env.id, "title": n.title, "entity": n.entity, "digest": n.digest, "count": n.count,
                         "entities": n.entities, "created_at": env.occurred_at},
        "event": {"id": n.event_id, "type": n.event_type, "occurred_at": n.event_at, "fields": n.fields},
        "link": link,
    })


class Sender:
    def __init__(self, settings: Settings, rules: RuleSet, publisher: Publisher, pool: asyncpg.Pool) -> None:
        self.settings, self.rules, self.publisher, self.pool = settings, rules, publisher, pool
        self.allowed = settings.allowed_hosts()
        self.session: aiohttp.ClientSession | None = None
        self.sem = asyncio.Semaphore(settings.alert_webhook_concurrency)
        self.delivered = self.failed = 0
        if not settings.alert_webhook_secret:
            log.warning("ALERT_WEBHOOK_SECRET is not set: webhook deliveries are sent unsigned")

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allowed), limit=100)
            self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(
                total=self.settings.alert_webhook_timeout))
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def handle(self, deliveries: list[Delivery]) -> None:
        await asyncio.gather(*(self._one(d) for d in deliveries))

    async def _one(self, d: Delivery) -> None:
        env = d.envelope
        assert env is not None
        rule = self.rules.get(env.data.rule_id)
        if env.data.replayed or d.meta.consumer != CONSUMER:
            d.skip("replayed: never sent")
            return
        if rule is None or rule.deleted or not rule.webhook:
            d.skip("no webhook")
            return
        if await delivery_logged(self.pool, env.id):
            d.skip("already delivered (or failed)")
            return
        async with self.sem:
            outcome = await self.deliver(rule, env)
        await self.publisher.publish_envelope(self.publisher.envelope(
            outcome, id_="w" + hashlib.sha256(f"{env.id}\x00{type(outcome).__name__}".encode()).hexdigest()[:31]))

    async def deliver(self, rule: Rule, env: Envelope[Any]) -> WebhookDelivered | WebhookFailed:
        url = rule.webhook or ""
        host = webhook_url.host_of(url)
        body = body_of(rule, env, self.settings.alert_dashboard_url)
        t0, attempts, status, reason = time.monotonic(), 0, None, ""
        common = {"delivery_id": env.id, "rule_id": rule.id, "notification_id": env.id, "url_host": host}
        why = webhook_url.problem(url, self.allowed)
        try:
            if why:
                raise Refused(f"webhook refused: {why}")
            async for attempt in stamina.retry_context(
                    on=Transient, attempts=None, timeout=self.settings.alert_webhook_retry_seconds,
                    wait_initial=0.2, wait_max=30.0, wait_jitter=1.0):
                with attempt:
                    attempts += 1
                    status, reason = await self._post(url, body, env.id)
            ms = int((time.monotonic() - t0) * 1000)
            self.delivered += 1
            return WebhookDelivered(**common, attempts=attempts, status=status or 200, duration_ms=ms)
        except (Refused, Transient) as exc:
            reason, status = str(exc), exc.status or status
        self.failed += 1
        log.warning("webhook of rule %s failed after %d attempts: %s", rule.id, attempts, reason)
        return WebhookFailed(**common, attempts=attempts, status=status, reason=reason,
                             duration_ms=int((time.monotonic() - t0) * 1000))

    async def _post(self, url: str, body: bytes, delivery_id: str) -> tuple[int, str]:
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "User-Agent": "b9-alerts", "X-B9-Delivery": delivery_id,
                   "X-B9-Timestamp": ts}
        if self.settings.alert_webhook_secret:
            headers["X-B9-Signature"] = sign(self.settings.alert_webhook_secret, ts, body)
        try:
            async with self._session().post(url, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
        except Refused:
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            inner = exc.__cause__ or exc.__context__
            if isinstance(inner, Refused):
                raise Refused(str(inner)) from None
            raise Transient(f"{type(exc).__name__}: {exc}") from None
        if 200 <= status < 300:
            return status, ""
        if status >= 500 or status in (408, 429):
            raise Transient(f"HTTP {status} from {webhook_url.host_of(url)}", status)
        raise Refused(f"HTTP {status} from {webhook_url.host_of(url)} (not retried)", status)
