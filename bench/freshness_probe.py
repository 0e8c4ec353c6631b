"""bench_freshness's probes: new users published one by one, timed to their row in the API and
their event in a logged-in Chromium's ``EventSource`` (wall clock on both sides: one machine)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid

from scale_browser import ARGS, CHROMIUM

LISTEN = """(a) => new Promise((resolve, reject) => {
  const src = new EventSource(a.url, { withCredentials: true });
  src.addEventListener(a.type, (e) => {
    const at = Date.now();
    const u = (JSON.parse(e.data).key || {}).username;
    if (u && u.startsWith(a.prefix)) window.b9seen(u, at);
  });
  src.addEventListener('dropped', (e) => window.b9dropped(JSON.parse(e.data).dropped));
  src.addEventListener('ready', () => resolve(true));
  setTimeout(() => reject(new Error('live feed not ready in 15 s')), 15000);
})"""


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (NaN when empty)."""
    if not values:
        return math.nan
    s = sorted(values)
    return round(s[max(0, math.ceil(p / 100 * len(s)) - 1)], 1)


class Probes:
    def __init__(self, nats_url: str, ns: str, base: str, key: str, feed_subject: str, poll_s: float,
                 plain_page: bool = False, replicas: int = 1) -> None:
        self.nats_url, self.ns, self.base, self.key = nats_url, ns, base, key
        self.replicas = replicas  # the streams' (connect provisions: it must not change them)
        self.plain_page = plain_page  # listen from a page without the dashboard's scripts
        self.feed_subject, self.poll_s = feed_subject, poll_s
        self.prefix = f"fr{uuid.uuid4().hex[:6]}"
        self.sent: dict[str, float] = {}  # name -> wall clock just before its publish
        self.seen: dict[str, dict[str, float]] = {"api": {}, "browser": {}, "sse client": {}}
        self.dropped = 0
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Probes:
        import aiohttp
        from b9_common.service import connect
        from b9_common.settings import CommonSettings
        from playwright.async_api import async_playwright

        settings = CommonSettings(nats_url=self.nats_url, b9_namespace=self.ns, stream_replicas=self.replicas)
        self.rt = await connect(settings, "bench-probe", "0")
        self._stack.push_async_callback(self.rt.close)
        self.http = await self._stack.enter_async_context(
            aiohttp.ClientSession(headers={"Authorization": f"Bearer {self.key}"}))
        pw = await self._stack.enter_async_context(async_playwright())
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        self._stack.push_async_callback(browser.close)
        page = await (await browser.new_context(base_url=self.base)).new_page()
        await page.expose_function("b9seen", self._browser_saw)
        await page.expose_function("b9dropped", self._dropped)
        await page.goto("/")
        await page.get_by_label("API key").fill(self.key)
        await page.get_by_label("API key").press("Enter")
        # signed in and the dashboard's own feed open (the sign-in page has a "main h1" too: waiting
        # for that, the probe's EventSource could go out before the login's cookie, get a 401 and
        # never be ready)
        await page.locator('.live-dot[data-state="live"]').wait_for()
        await page.locator("main h1").first.wait_for()
        if self.plain_page:  # same origin and session cookie, no dashboard (nor its own live feed)
            await page.goto("/health")
        await page.evaluate(LISTEN, {"url": f"/api/v1/events?subject={self.feed_subject}",
                                     "type": self.feed_subject, "prefix": self.prefix})
        ready = asyncio.Event()
        self._tasks.append(asyncio.create_task(self._sse(ready)))
        await asyncio.wait_for(ready.wait(), 15)
        return self

    async def _sse(self, ready: asyncio.Event) -> None:
        """The same feed read by a plain HTTP client: the server's part without the browser's."""
        import msgspec

        seen = self.seen["sse client"]
        async with self.http.get(f"{self.base}/api/v1/events?subject={self.feed_subject}") as r:
            event = ""
            async for raw in r.content:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "ready":
                        ready.set()
                elif line.startswith("data:") and event == self.feed_subject:
                    now = time.time()
                    name = (msgspec.json.decode(line[5:].strip()).get("key") or {}).get("username", "")
                    if name in self.sent:
                        seen.setdefault(name, now)

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
            # aiohttp turns a cancel during a read into TimeoutError (its timer's exit)
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await t
        await self._stack.aclose()

    def _browser_saw(self, name: str, at_ms: float) -> None:
        if name in self.sent:
            self.seen["browser"].setdefault(name, at_ms / 1000)

    def _dropped(self, n: int) -> None:
        self.dropped += int(n)

    async def _poll(self) -> None:
        url = f"{self.base}/api/v1/users?q={self.prefix}&sort=last_scraped&per_page=100"
        api = self.seen["api"]
        while True:
            t0 = time.monotonic()
            with contextlib.suppress(Exception):
                async with self.http.get(url) as r:
                    items = (await r.json())["items"] if r.status == 200 else []
                now = time.time()
                for item in items:
                    if item["username"] in self.sent:
                        api.setdefault(item["username"], now)
            await asyncio.sleep(max(0.0, self.poll_s - (time.monotonic() - t0)))

    async def run(self, per_second: float, seconds: float) -> None:
        """Publish ``per_second`` probes for ``seconds`` while polling the API."""
        from b9_common.events import UserFetched

        self._tasks.append(asyncio.create_task(self._poll()))
        t0, i = time.monotonic(), 0
        while (elapsed := time.monotonic() - t0) < seconds:
            name = f"{self.prefix}_{i}"
            env = self.rt.publisher.envelope(UserFetched(username=name, link_karma=i))
            self.sent[name] = time.time()
            await self.rt.publisher.publish_envelope(env)
            i += 1
            await asyncio.sleep(max(0.0, t0 + i / per_second - time.monotonic()))
        del elapsed

    async def settle(self, within: float) -> None:
        """Until every probe was seen both ways, or ``within`` seconds."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(len(s) == len(self.sent) for s in self.seen.values()):
                return
            await asyncio.sleep(0.1)

    def latencies(self, kind: str) -> list[float]:
        """Milliseconds from publish to seen, for the probes seen."""
        return [1000 * (at - self.sent[name]) for name, at in self.seen[kind].items()]
