"""A stand-in run through the real service runtime (``serve``) on the cluster (persistence is
always the real service: tests fail when it cannot be imported).

- ``scraper(...)``: a reddit-scraper replica without Reddit: it takes
  ``scrape.requested.reddit`` commands from the work queue and publishes one
  ``scrape.attempted`` fact per command, with an id derived from the command (a re-run
  after a redelivery publishes the same id, which JetStream drops).
"""

from __future__ import annotations

from collections import Counter

from b9_common.events import Envelope, RedditScrapeRequested, ScrapeAttempted
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef
from b9_common.settings import CommonSettings


def scraper(handled: Counter[str]) -> ServiceDef:
    async def bootstrap(settings: CommonSettings, rt: Runtime) -> App:
        async def handle(env: Envelope[RedditScrapeRequested]) -> None:
            await rt.publisher.publish(
                ScrapeAttempted(
                    scraper="reddit",
                    target_kind="subreddit",
                    target=env.data.name,
                    outcome="success",
                    calls=1,
                    replica=rt.replica,
                ),
                id_=f"attempt-{env.id}",
            )
            handled[rt.replica] += 1

        spec = ConsumerSpec(
            name="reddit-scraper-commands", stream="COMMANDS", subjects=("scrape.requested.reddit",)
        )
        return App(consumers=[ConsumerDef(spec, handler=handle, concurrency=16)])

    return ServiceDef(
        name="reddit-scraper", version="standin", settings_cls=CommonSettings, bootstrap=bootstrap
    )
