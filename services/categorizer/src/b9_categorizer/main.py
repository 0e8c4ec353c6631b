"""Service entry point: ``b9-categorizer`` (SERVICE is picked up by ``b9 run``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import openai
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, open_book
from b9_common.replay.owner import replayable
from b9_common.service import App, ConsumerDef, Runtime, ServiceDef, run

from b9_categorizer import __version__
from b9_categorizer.accounting import Pricing
from b9_categorizer.cache import ResultCache, open_bucket
from b9_categorizer.handlers import handle_commands, handle_scrape
from b9_categorizer.llm import OpenAITagger
from b9_categorizer.pipeline import Pipeline
from b9_categorizer.rules import RuleClassifier
from b9_categorizer.settings import Settings
from b9_categorizer.taxonomy import load_taxonomy

SCRAPE_SPEC = ConsumerSpec(
    name="categorizer",
    stream="SCRAPE",
    subjects=("subreddit.fetched", "creator.scraped"),
    max_deliver=6,
    ack_wait=120.0,
    description="categorizer: tag subreddits and creators",
)
COMMANDS_SPEC = ConsumerSpec(
    name="categorizer-commands",
    stream="COMMANDS",
    subjects=("categorize.requested",),
    max_deliver=6,  # handlers.MAX_DELIVER
    ack_wait=300.0,
    description="categorizer: the AI categorize button",
)


def build_tagger(settings: Settings, taxonomy: Any, pricing: Pricing) -> OpenAITagger | None:
    if not settings.openai_api_key:
        return None
    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key,
        base_url=settings.openai_base_url or None,
        max_retries=settings.openai_max_retries,
        timeout=settings.openai_timeout,
    )
    return OpenAITagger(
        client,
        taxonomy,
        pricing,
        model=settings.openai_model,
        vision_model=settings.openai_vision_model,
        batch_size=settings.openai_batch_size,
        concurrency=settings.openai_concurrency,
        answer_retries=settings.openai_answer_retries,
        max_tokens=settings.openai_max_completion_tokens,
    )


async def build_pipeline(settings: Settings, rt: Runtime) -> Pipeline:
    taxonomy = load_taxonomy(settings.taxonomy_path)
    pricing = Pricing(settings.price_table())
    tagger = build_tagger(settings, taxonomy, pricing)
    kv = await open_bucket(rt.js, rt.topology)
    return Pipeline(RuleClassifier(taxonomy), tagger, ResultCache(kv), rt.publisher)


def consumer_defs(settings: Settings, pipeline: Pipeline, reporter: Reporter | None = None) -> list[ConsumerDef]:
    # With a model, a batch of deliveries becomes several requests: keep batches moderate.
    batch = (
        settings.categorizer_batch
        if pipeline.tagger is None
        else min(settings.categorizer_batch, 64)
    )
    return [
        ConsumerDef(
            SCRAPE_SPEC,
            batch_handler=partial(handle_scrape, pipeline),
            batch=batch,
            batch_concurrency=2,
        ),
        ConsumerDef(
            COMMANDS_SPEC,
            batch_handler=partial(handle_commands, pipeline, reporter=reporter),
            batch=4,
            batch_concurrency=1,
        ),
    ]


async def bootstrap(settings: Settings, rt: Runtime) -> App:
    pipeline = await build_pipeline(settings, rt)
    closers = []
    if pipeline.tagger is not None:
        closers.append(pipeline.tagger.client.close)

    def status() -> dict[str, Any]:
        method, model, _ = pipeline.subreddit_model
        s = pipeline.stats
        return {
            "status": "ok",
            "detail": f"{method} {model}, taxonomy {pipeline.taxonomy.version}",
            "published": s.published,
            "unchanged": s.unchanged,
            "failed": s.failed,
            "usage": pipeline.tagger.pricing.snapshot() if pipeline.tagger else {},
        }

    reporter = Reporter(await open_book(rt.js, rt.topology), rt.replica)
    return App(consumers=consumer_defs(settings, pipeline, reporter), closers=closers, status=status)


# replayable: also runs replay.requested.categorizer (b9_common.replay.owner)
SERVICE = replayable(ServiceDef(
    name="categorizer", version=__version__, settings_cls=Settings, bootstrap=bootstrap
))


def main() -> None:
    run(SERVICE)
