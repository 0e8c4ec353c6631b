"""Entry point: ``SERVICE`` for the b9 runner and ``main()`` for the console script.

bootstrap wires the adapters (control watch, request budget, provider, KV buckets, directory)
into the use cases (``Scraper``), the command consumer and the cycle loop.
"""

from __future__ import annotations

import logging
from typing import Any

from b9_common.events.control import InstagramControl, control_key
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, open_book
from b9_common.scraping.control import ControlWatch
from b9_common.scraping.gate import CommandsFirst
from b9_common.scraping.ratelimit import HOUR, Budget, follow_budget
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run

from b9_instagram_scraper import __version__
from b9_instagram_scraper.commands import CommandHandler
from b9_instagram_scraper.cycle import Cycle
from b9_instagram_scraper.directory import CreatorDirectory, NullDirectory
from b9_instagram_scraper.directory_pg import PgDirectory
from b9_instagram_scraper.kvstate import Claims, KnownStore, StateStore, open_buckets
from b9_instagram_scraper.provider import InstagramProvider
from b9_instagram_scraper.rapidapi import NullProvider, RapidApiProvider
from b9_instagram_scraper.scrape import Scraper
from b9_instagram_scraper.settings import Settings

log = logging.getLogger(__name__)
NAME = "instagram-scraper"
MIN_INTERVAL = 1 / 55  # the original paced all provider calls at most 55 per second
# The hourly budget's bucket holds six minutes of it: any hour spends at most 1.1x
# requests_per_hour (capacity + an hour's refill), the long-run rate is the budget.
BURST_SECONDS = HOUR / 10
COMMANDS = ConsumerSpec(
    name="instagram-scraper",
    stream="COMMANDS",
    subjects=("scrape.requested.instagram",),
    max_deliver=5,
    ack_wait=120.0,
    description="instagram-scraper: manual add / related discovery",
)


def make_provider(settings: Settings, budget: Budget, **overrides: Any) -> InstagramProvider:
    if not settings.configured:
        return NullProvider()
    return RapidApiProvider(
        settings.instagram_api_base,
        settings.instagram_api_key.strip(),
        settings.api_host,
        budget=budget,
        timeout=settings.instagram_timeout,
        **overrides,
    )


async def bootstrap(
    settings: Settings,
    rt: Runtime,
    *,
    provider_overrides: dict[str, Any] | None = None,
    directory: CreatorDirectory | None = None,
    idle_seconds: float = 60.0,
) -> App:
    control = ControlWatch(InstagramControl())
    # the defaults are written when the key is absent (as the dashboard first showed them)
    control_loop = await control.follow(await rt.topology.control_kv(rt.js), control_key("instagram"),
                                        publish_defaults=True)
    state_kv, known_kv, claims_kv = await open_buckets(rt.js, rt.topology)
    # one bucket shared by every replica (key "budget" in ig_state); calls still go while the
    # cycle is disabled: commands are answered then
    budget = Budget(lambda: control.config.requests_per_hour / HOUR, control=control, kv=state_kv,
                    burst_seconds=BURST_SECONDS, min_interval=MIN_INTERVAL)
    follow_budget(control, "instagram", lambda cfg: cfg.requests_per_hour / 60)
    provider = make_provider(settings, budget, **(provider_overrides or {}))
    if directory is None:
        directory = PgDirectory(settings.database_url) if settings.database_url else NullDirectory()
    scraper = Scraper(
        provider=provider,
        sink=rt.publisher,
        state=StateStore(state_kv),
        known=KnownStore(known_kv),
        directory=directory,
        control=control,
        replica=rt.replica,
    )
    gate = CommandsFirst()
    cycle = Cycle(
        scraper,
        directory,
        Claims(claims_kv, rt.replica),
        control,
        gate,
        configured=provider.configured,
        idle_seconds=idle_seconds,
    )

    def status() -> dict[str, Any]:
        cfg = control.config
        if not provider.configured:
            state = "not_configured"
        elif not cfg.enabled:
            state = "disabled"
        elif budget.exhausted():
            state = "budget_exhausted"
        else:
            state = cycle.state
        return {
            "status": state,
            "enabled": cfg.enabled,
            "configured": provider.configured,
            "cycle": cycle.cycle,
            "scraped_this_pass": cycle.scraped_this_pass,
            "calls_last_hour": budget.calls_last_hour(),
            "requests_per_hour": cfg.requests_per_hour,
            "commands_active": gate.active,
            "outcomes": dict(scraper.totals),
            "directory": type(directory).__name__,
            "last_error": cycle.last_error,
        }

    return App(
        consumers=[
            ConsumerDef(COMMANDS, handler=CommandHandler(
                scraper, provider, gate, Reporter(await open_book(rt.js, rt.topology), rt.replica)), concurrency=4)
        ],
        loops=[control_loop, cycle.run],
        closers=[provider.close, directory.close],
        status=status,
    )


SERVICE = ServiceDef(name=NAME, version=__version__, settings_cls=Settings, bootstrap=bootstrap)


def main() -> None:
    run(SERVICE)


if __name__ == "__main__":
    main()
