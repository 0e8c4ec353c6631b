"""SSRF-safe streaming downloads: checked URLs, checked addresses, manual redirects, caps."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp.abc import AbstractResolver
from b9_common.ops import tracing
from yarl import URL

from b9_media.errors import MediaError, TransientError
from b9_media.safety import Blocked, GuardedResolver, UrlPolicy
from b9_media.sniff import sniff

log = logging.getLogger(__name__)
REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 256 * 1024


@dataclass
class Downloaded:
    url: str
    size: int
    sha256: str
    mime: str | None
    data: bytes | None = None  # in memory (images) ...
    path: Path | None = None  # ... or spooled to disk (videos)


class Downloader:
    def __init__(
        self,
        policy: UrlPolicy,
        *,
        max_redirects: int = 5,
        concurrency: int = 8,
        resolver: AbstractResolver | None = None,
        user_agent: str = "b9-media",
    ) -> None:
        self.policy = policy
        self.max_redirects = max_redirects
        self._base_resolver = resolver
        self._sem = asyncio.Semaphore(concurrency)
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.policy, self._base_resolver), limit=64, ttl_dns_cache=30
        )
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, headers={"User-Agent": self._user_agent},
            trace_configs=tracing.upstream_trace_configs("media"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(
        self, url: str, *, max_bytes: int, time_limit: float, spool: Path | None = None
    ) -> Downloaded:
        """Download ``url`` to memory (or to ``spool``). Raises MediaError or TransientError."""
        if self._session is None:
            await self.start()
        try:
            target = URL(url, encoded=False)
        except (ValueError, TypeError) as exc:
            raise MediaError("blocked_scheme", f"unparseable URL: {exc}") from None
        try:
            async with self._sem:
                async with asyncio.timeout(time_limit):  # the budget starts when a slot is free
                    return await self._follow(target, max_bytes, spool, time_limit)
        except Blocked as exc:
            raise MediaError(exc.reason, exc.detail) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, Blocked):
                raise MediaError(exc.os_error.reason, exc.os_error.detail) from None
            raise TransientError(f"cannot connect: {exc}") from exc
        except TimeoutError:
            raise TransientError(f"download timed out after {time_limit:.0f}s") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"download failed: {type(exc).__name__}: {exc}") from exc

    async def _follow(
        self, url: URL, max_bytes: int, spool: Path | None, time_limit: float
    ) -> Downloaded:
        assert self._session is not None
        per_read = aiohttp.ClientTimeout(
            total=None, sock_connect=min(10.0, time_limit), sock_read=min(30.0, time_limit)
        )
        for _ in range(self.max_redirects + 1):
            self.policy.check_url(url)
            async with self._session.get(url, allow_redirects=False, timeout=per_read) as resp:
                if resp.status in REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise MediaError("http_error", f"{resp.status} without Location")
                    url = url.join(URL(location))
                    continue
                if resp.status >= 500 or resp.status == 429:
                    raise TransientError(f"upstream answered {resp.status}")
                if resp.status != 200:
                    raise MediaError("http_error", f"upstream answered {resp.status}")
                declared = resp.content_length
                if declared is not None and declared > max_bytes:
                    raise MediaError("too_large", f"Content-Length {declared} > cap {max_bytes}")
                return await self._body(resp, str(url), max_bytes, spool)
        raise MediaError("http_error", f"more than {self.max_redirects} redirects")

    async def _body(
        self, resp: aiohttp.ClientResponse, url: str, max_bytes: int, spool: Path | None
    ) -> Downloaded:
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        head = b""
        size = 0
        fh = await asyncio.to_thread(spool.open, "wb") if spool is not None else None
        try:
            async for chunk in resp.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise MediaError("too_large", f"body exceeds cap of {max_bytes} bytes")
                digest.update(chunk)
                if len(head) < 64:
                    head += chunk[:64]
                if fh is not None:
                    await asyncio.to_thread(fh.write, chunk)
                else:
                    chunks.append(chunk)
        finally:
            if fh is not None:
                await asyncio.to_thread(fh.close)
        if size == 0:
            raise MediaError("corrupt", "empty body")
        return Downloaded(
            url=url,
            size=size,
            sha256=digest.hexdigest(),
            mime=sniff(head),
            data=None if spool is not None else b"".join(chunks),
            path=spool,
        )
