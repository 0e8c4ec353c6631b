"""A RapidAPI "instagram-looter2" style provider: ``/profile``, ``/reels``, ``/user-feeds``,
``/related-profiles`` with ``x-rapidapi-key`` / ``x-rapidapi-host`` headers.

One pooled aiohttp session; every request waits for the shared request ``Budget``; 429 (honouring
``Retry-After``), 5xx, timeouts, connection errors and malformed JSON are retried with
exponential backoff (stamina); an empty page is retried ``empty_retries`` times, waiting
``empty_wait × 2.5^(n−1)`` as the original did.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import stamina
from b9_common.ops import tracing
from b9_common.ops.reasons import from_exception, from_status
from b9_common.scraping.ratelimit import Budget, parse_retry_after

from b9_instagram_scraper import __version__
from b9_instagram_scraper.profile import (
    Profile,
    ProfileShapeError,
    parse_profile,
    related_usernames,
)
from b9_instagram_scraper.provider import (
    CallMeter,
    EmptyResponse,
    MalformedResponse,
    NotConfigured,
    ProfileNotFound,
    ProviderError,
    RateLimited,
    UpstreamError,
)

log = logging.getLogger(__name__)
USER_AGENT = f"b9-instagram-scraper/{__version__} (creator-discovery pipeline; aiohttp)"
PAGE_SIZE = 12  # the provider returns at most 12 items per page


def _is_empty(body: Any) -> bool:
    return body is None or body == {} or body == [] or body == ""


class NullProvider:
    """Used when no key is configured: every call says so, nothing is sent."""

    configured = False

    async def profile(self, username: str, meter: CallMeter) -> Profile:
        raise NotConfigured("INSTAGRAM_API_KEY is not set")

    async def reels(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]:
        raise NotConfigured("INSTAGRAM_API_KEY is not set")

    async def posts(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]:
        raise NotConfigured("INSTAGRAM_API_KEY is not set")

    async def related(self, user_id: str, meter: CallMeter) -> list[str]:
        raise NotConfigured("INSTAGRAM_API_KEY is not set")

    async def close(self) -> None:
        return None


class RapidApiProvider:
    configured = True

    def __init__(
        self,
        base: str,
        key: str,
        host: str,
        *,
        budget: Budget,
        timeout: float = 30.0,
        attempts: int = 3,
        wait_initial: float = 2.0,
        wait_max: float = 10.0,
        retry_after_cap: float = 120.0,
        empty_retries: int = 1,
        empty_wait: float = 2.0,
        max_connections: int = 20,
    ) -> None:
        self.base = base.rstrip("/")
        self.budget = budget
        self.attempts, self.wait_initial, self.wait_max = attempts, wait_initial, wait_max
        self.retry_after_cap = retry_after_cap
        self.empty_retries, self.empty_wait = empty_retries, empty_wait
        self.session = aiohttp.ClientSession(
            headers={
                "x-rapidapi-key": key,
                "x-rapidapi-host": host,
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            timeout=aiohttp.ClientTimeout(total=timeout, connect=min(10.0, timeout)),
            connector=aiohttp.TCPConnector(limit=max_connections, ttl_dns_cache=300),
            raise_for_status=False,
            trace_configs=tracing.upstream_trace_configs("instagram"),
        )

    async def close(self) -> None:
        await self.session.close()

    # -- one request, with retries ---------------------------------------------------------
    def _backoff_hook(self, exc: Exception) -> bool | float:
        if isinstance(exc, RateLimited):
            return exc.retry_after if exc.retry_after is not None else True
        return isinstance(exc, UpstreamError | MalformedResponse)

    async def _once(self, path: str, params: dict[str, Any], meter: CallMeter) -> Any:
        await self.budget.acquire(priority=meter.priority)
        meter.calls += 1
        try:
            async with self.session.get(f"{self.base}{path}", params=params) as resp:
                raw = await resp.read()
                status = resp.status
                retry_after = parse_retry_after(
                    resp.headers.get("Retry-After"), self.retry_after_cap
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise UpstreamError(f"{path}: {type(exc).__name__}: {exc}", from_exception(exc, path)) from exc
        if status == 429:
            if retry_after is not None:
                meter.retries.append(retry_after)
            raise RateLimited(f"{path}: 429 Too Many Requests", retry_after)
        if status >= 500:
            raise UpstreamError(f"{path}: HTTP {status}", from_status(status, path))
        if status == 404:
            raise ProfileNotFound(f"{path}: 404 {params}", from_status(404, path))
        if status >= 400:
            raise ProviderError(
                f"{path}: HTTP {status}: {raw[:200].decode('utf-8', 'replace')}", from_status(status, path)
            )
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise MalformedResponse(f"{path}: body is not JSON ({exc})") from None

    async def _get(self, path: str, params: dict[str, Any], meter: CallMeter) -> Any:
        async for attempt in stamina.retry_context(
            on=self._backoff_hook,
            attempts=self.attempts,
            timeout=None,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_initial / 4,
        ):
            with attempt:
                return await self._once(path, params, meter)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_nonempty(
        self, path: str, params: dict[str, Any], meter: CallMeter, is_empty: Any = _is_empty
    ) -> Any:
        body = await self._get(path, params, meter)
        for n in range(1, self.empty_retries + 1):
            if not is_empty(body):
                break
            await asyncio.sleep(self.empty_wait * 2.5 ** (n - 1))
            body = await self._get(path, params, meter)
        return body

    # -- endpoints -------------------------------------------------------------------------
    async def profile(self, username: str, meter: CallMeter) -> Profile:
        body = await self._get_nonempty("/profile", {"username": username}, meter)
        if _is_empty(body):
            raise EmptyResponse(f"/profile {username}: empty response")
        if isinstance(body, dict) and body.get("status") in (False, "fail") and not body.get("id"):
            raise ProfileNotFound(f"{username}: {body.get('message') or 'no such user'}")
        try:
            return parse_profile(body)
        except ProfileShapeError as exc:
            raise MalformedResponse(f"/profile {username}: {exc}") from None

    async def _paged(
        self, path: str, user_id: str, limit: int, meter: CallMeter
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()

        def page_empty(body: Any) -> bool:
            if not isinstance(body, dict):
                return True
            more = (body.get("paging_info") or {}).get("more_available")
            return not body.get("items") and more is not False

        while len(items) < limit:
            params: dict[str, Any] = {"id": user_id, "count": min(PAGE_SIZE, limit - len(items))}
            if cursor:
                params["max_id"] = cursor
            body = await self._get_nonempty(path, params, meter, page_empty)
            if not isinstance(body, dict):
                break
            page = [i for i in body.get("items") or [] if isinstance(i, dict)]
            items.extend(page)
            paging = body.get("paging_info") or {}
            cursor = paging.get("max_id") or body.get("next_max_id")
            if not page or not paging.get("more_available") or not cursor or cursor in seen:
                break
            seen.add(cursor)
        return items[:limit]

    async def reels(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]:
        return await self._paged("/reels", user_id, limit, meter)

    async def posts(self, user_id: str, limit: int, meter: CallMeter) -> list[dict[str, Any]]:
        return await self._paged("/user-feeds", user_id, limit, meter)

    async def related(self, user_id: str, meter: CallMeter) -> list[str]:
        body = await self._get("/related-profiles", {"id": user_id}, meter)
        return related_usernames(body)
