"""Async Reddit client: one pooled aiohttp session, app-only OAuth, pacing, retries, outcomes.

Every HTTP request sent (token requests included) is counted in the caller's ``Tally``, so
``scrape.attempted`` carries the number of calls an attempt really took. A failed request
raises a type of ``retry`` and is retried there (stamina); ``get`` turns what is left into a
``Result``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from b9_common.events.control import RedditControl
from b9_common.events.ops import Reason
from b9_common.ops.reasons import Why, from_exception, from_status
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import Budget, parse_retry_after

from b9_reddit_scraper.ratelimit import HeaderPacer
from b9_reddit_scraper.retry import (
    RETRY_STATUSES,
    BadResponse,
    ConnectionFailed,
    RateLimited,
    ServerError,
    TokenRejected,
    Transient,
    retrying,
)
from b9_reddit_scraper.settings import Settings

log = logging.getLogger(__name__)

Outcome = Literal["ok", "not_found", "private", "banned", "quarantined", "rate_limited", "failed"]
TOKEN_REFRESH_MARGIN = 60.0


@dataclass
class Tally:
    """Calls made for one attempt (one subreddit, one user)."""

    calls: int = 0
    rate_limited: int = 0


@dataclass
class Result:
    outcome: Outcome
    status: int = 0
    data: Any = None
    error: str | None = None
    why: Why | None = None  # the reason code and message (None for "ok")

    @property
    def reason(self) -> Reason:
        return self.why.reason if self.why else "ok"

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class ClientStats:
    calls: int = 0
    calls_today: int = 0
    day: int = field(default_factory=lambda: int(time.time() // 86_400))
    status_counts: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, status: int) -> None:
        today = int(time.time() // 86_400)
        if today != self.day:
            self.day, self.calls_today = today, 0
        self.calls += 1
        self.calls_today += 1
        self.status_counts[status] = self.status_counts.get(status, 0) + 1


_OUTCOME_WHY: dict[str, Reason] = {"not_found": "not_found", "private": "private",
                                   "banned": "banned", "quarantined": "private"}


def _why(outcome: Outcome, status: int) -> Why:
    """Why a final non-200 answer ended the attempt."""
    if outcome in _OUTCOME_WHY:
        return Why(_OUTCOME_WHY[outcome], f"Reddit says the target is {outcome} (HTTP {status})", status)
    return from_status(status)


def _classify(status: int, body: Any) -> Outcome:
    reason = str(body.get("reason", "")).lower() if isinstance(body, dict) else ""
    if status == 403:
        return "quarantined" if reason == "quarantined" else "private"
    if status == 404:
        return "banned" if reason == "banned" else "not_found"
    if status in (301, 302, 303, 307, 308):  # www.reddit.com redirects unknown names to search
        return "not_found"
    return "failed"


class RedditClient:
    def __init__(self, session: aiohttp.ClientSession, settings: Settings,
                 control: ControlWatch[RedditControl], pacer: HeaderPacer, budget: Budget,
                 priority: CommandsFirst | None = None) -> None:
        self.session = session
        self.priority = priority or CommandsFirst()
        self.settings = settings
        self.control = control
        self.pacer = pacer
        self.budget = budget
        self.stats = ClientStats()
        self.base = settings.api_base
        self.headers = {"User-Agent": settings.reddit_user_agent.strip()}
        self.timeout = aiohttp.ClientTimeout(total=settings.reddit_timeout_seconds)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    # -- paths ---------------------------------------------------------------------
    def url(self, path: str) -> str:
        path = path.strip("/")
        return f"{self.base}/{path}" if self.settings.oauth else f"{self.base}/{path}.json"

    # -- auth ------------------------------------------------------------------------
    async def _auth_header(self, tally: Tally) -> dict[str, str]:
        if not self.settings.oauth:
            return {}
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_expires:
                await self._fetch_token(tally)
        return {"Authorization": f"bearer {self._token}"}

    async def _fetch_token(self, tally: Tally) -> None:
        basic = aiohttp.encode_basic_auth(self.settings.reddit_client_id,
                                          self.settings.reddit_client_secret)
        await self.budget.acquire(priority=not self.priority.in_background())
        await self.pacer.reserve(self.control)
        tally.calls += 1
        try:
            async with self.session.post(
                self.settings.token_url, data={"grant_type": "client_credentials"},
                headers={**self.headers, "Authorization": basic}, timeout=self.timeout,
                allow_redirects=False,
            ) as resp:
                self.stats.count(resp.status)
                raw = await resp.read()
                if resp.status == 429:
                    self.pacer.block(self._retry_after(resp.headers))
                    tally.rate_limited += 1
                    raise RateLimited("token endpoint answered 429", from_status(429, "token"))
                if resp.status >= 500 or resp.status == 408:
                    raise ServerError(f"token endpoint answered {resp.status}",
                                      from_status(resp.status, "token"))
                if resp.status != 200:
                    raise TokenRejected(f"token endpoint answered {resp.status}: {raw[:200]!r}",
                                        from_status(resp.status, "token"))
                body = json.loads(raw)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ConnectionFailed(f"token request failed: {exc!r}",
                                   from_exception(exc, "token")) from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadResponse(f"token request failed: {exc!r}",
                              from_exception(exc, "token")) from exc
        finally:
            self.pacer.done()
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise BadResponse("token endpoint returned no access_token",
                              Why("invalid_response", "the token endpoint returned no access_token"))
        self._token = str(token)
        lifetime = float(body.get("expires_in", 3600))
        # refreshed a minute before it expires (a tenth of its life when that is shorter)
        self._token_expires = time.monotonic() + lifetime - min(TOKEN_REFRESH_MARGIN, lifetime / 10)
        log.info("reddit oauth token obtained", extra={"expires_in": body.get("expires_in")})

    def _retry_after(self, headers: Any) -> float:
        """The 429's ``Retry-After`` (seconds or an HTTP date), capped; a default when absent."""
        cap = self.settings.reddit_429_max_wait
        wait = parse_retry_after(headers.get("retry-after"), cap)
        return min(self.settings.reddit_429_default_wait, cap) if wait is None else wait

    # -- requests --------------------------------------------------------------------
    async def get(self, path: str, params: dict[str, str | int] | None = None, *,
                  tally: Tally) -> Result:
        """GET one endpoint, retried: a ``Result`` always (ScraperDisabled propagates)."""
        query = {"raw_json": "1", **{k: str(v) for k, v in (params or {}).items()}}
        url = self.url(path)
        try:
            return await retrying(lambda: self._once(url, query, tally),
                                  attempts=self.settings.reddit_max_attempts,
                                  base=self.settings.reddit_retry_base_seconds)
        except RateLimited as exc:
            return Result("rate_limited", 429, error=str(exc), why=from_status(429))
        except Transient as exc:
            self.stats.errors += 1
            return Result("failed", exc.why.http_status or 0, error=str(exc), why=exc.why)

    async def _once(self, url: str, query: dict[str, str], tally: Tally) -> Result:
        await self.priority.wait_turn()
        self.control.check()
        auth = await self._auth_header(tally)
        await self.budget.acquire(priority=not self.priority.in_background())  # commands first
        await self.pacer.reserve(self.control)
        tally.calls += 1
        try:
            async with self.session.get(url, params=query, headers={**self.headers, **auth},
                                        timeout=self.timeout, allow_redirects=False) as resp:
                self.stats.count(resp.status)
                raw = await resp.read()
                status, headers = resp.status, resp.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.pacer.done()
            raise ConnectionFailed(f"{type(exc).__name__}: {exc}", from_exception(exc)) from exc
        self.pacer.done()
        self.pacer.update(headers)
        if status == 429:
            self.pacer.block(self._retry_after(headers))
            tally.rate_limited += 1
            raise RateLimited(f"429 from {url}", from_status(429))
        if status == 401 and self.settings.oauth:
            self._token = None
            raise TokenRejected("401: token rejected, refreshing", from_status(401))
        if status in RETRY_STATUSES:
            raise ServerError(f"{status} from {url}", from_status(status))
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            if status == 200:
                raise BadResponse(f"malformed JSON from {url}",
                                  Why("invalid_response", "Reddit answered 200 with a body that is not JSON")) from None
            body = None
        if status == 200:
            return Result("ok", status, body)
        outcome = _classify(status, body)
        return Result(outcome, status, body, error=f"{status} {outcome}", why=_why(outcome, status))
