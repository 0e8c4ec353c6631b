"""The categorizer's handlers through the fakes: rules path, cache, commands, followed requests."""

from __future__ import annotations

from functools import partial

import pytest
from b9_categorizer.cache import ResultCache
from b9_categorizer.handlers import handle_commands, handle_scrape
from b9_categorizer.pipeline import Pipeline
from b9_categorizer.rules import RuleClassifier
from b9_categorizer.taxonomy import load_taxonomy
from b9_common.events import CategorizeRequested, CreatorScraped, SubredditFetched
from b9_common.events.commands import CategorizeItem
from b9_common.jetstream.topology import ConsumerSpec
from b9_common.ops.requests import Reporter, RequestBook
from b9_common.testing import FakeKV, FakePublisher, run_batch

SCRAPE = ConsumerSpec(name="categorizer", stream="SCRAPE", subjects=(), max_deliver=6)
COMMANDS = ConsumerSpec(name="categorizer-commands", stream="COMMANDS", subjects=(), max_deliver=6)
COSPLAY = SubredditFetched(name="cosplaygirls", title="Cosplay girls", public_description="cosplay photos and costumes",
                           subscribers=120_000)


@pytest.fixture
def pub() -> FakePublisher:
    return FakePublisher(source="categorizer@test")


@pytest.fixture
def pipeline(pub: FakePublisher) -> Pipeline:
    return Pipeline(RuleClassifier(load_taxonomy()), None, ResultCache(None), pub)


async def test_a_fetched_subreddit_is_tagged_once_and_unchanged_content_is_skipped(pipeline: Pipeline,
                                                                                    pub: FakePublisher) -> None:
    first = await run_batch(partial(handle_scrape, pipeline), [COSPLAY], spec=SCRAPE)
    assert [o.outcome for o in first] == ["ack"]
    [result] = pub.payloads("subreddit.categorized")
    assert result.name == "cosplaygirls" and result.method == "rules" and result.tags
    again = await run_batch(partial(handle_scrape, pipeline), [COSPLAY], spec=SCRAPE)
    assert [(o.outcome, o.reason) for o in again] == [("skip", "unchanged")]
    assert len(pub.sent) == 1


async def test_one_result_per_subreddit_in_a_batch_and_the_event_id_is_the_content(pipeline: Pipeline,
                                                                                   pub: FakePublisher) -> None:
    outs = await run_batch(partial(handle_scrape, pipeline), [COSPLAY, COSPLAY], spec=SCRAPE)
    assert [o.outcome for o in outs] == ["ack", "ack"] and len(pub.sent) == 1
    other = FakePublisher()
    await run_batch(partial(handle_scrape, Pipeline(pipeline.rules, None, ResultCache(None), other)), [COSPLAY],
                    spec=SCRAPE)
    assert other.sent[0].headers == pub.sent[0].headers  # a re-publish is a JetStream duplicate


async def test_what_cannot_be_tagged_is_skipped_with_the_reason(pipeline: Pipeline, pub: FakePublisher) -> None:
    banned = SubredditFetched(name="gone", availability="banned")
    private = CreatorScraped(ig_user_id="42", username="hidden", is_private=True)
    outs = await run_batch(partial(handle_scrape, pipeline), [banned, private], spec=SCRAPE)
    assert [(o.outcome, o.reason) for o in outs] == [("skip", "subreddit banned"), ("skip", "creator private")]
    assert pub.sent == []


async def test_results_that_cannot_be_published_are_retried_and_not_cached(pipeline: Pipeline,
                                                                           pub: FakePublisher) -> None:
    pub.fail = "no stream accepts it"
    outs = await run_batch(partial(handle_scrape, pipeline), [COSPLAY], spec=SCRAPE, num_delivered=2)
    assert outs[0].outcome == "retry" and outs[0].delay == 2.0
    assert outs[0].reason.startswith("could not publish results: no stream accepts it")
    pub.fail = None
    assert [o.outcome for o in await run_batch(partial(handle_scrape, pipeline), [COSPLAY], spec=SCRAPE)] == ["ack"]


async def test_a_forced_command_tags_again_and_reports_its_request(pipeline: Pipeline, pub: FakePublisher) -> None:
    await run_batch(partial(handle_scrape, pipeline), [COSPLAY], spec=SCRAPE)
    book = RequestBook(FakeKV())  # type: ignore[arg-type]
    await book.open({"id": "req1", "kind": "categorize", "target": "job1"})
    item = CategorizeItem(kind="subreddit", key="cosplaygirls", name="cosplaygirls", title=COSPLAY.title,
                          description=COSPLAY.public_description)
    cmd = CategorizeRequested(items=[item], force=True, request_id="req1")
    handler = partial(handle_commands, pipeline, reporter=Reporter(book, "cat-1"))
    [out] = await run_batch(handler, [cmd], spec=COMMANDS)
    assert out.outcome == "ack" and len(pub.payloads("subreddit.categorized")) == 2
    record = await book.get("req1") or {}
    assert record["status"] == "done" and record["counts"]["tagged"] == 1, record
    # Redelivered, the command's force no longer applies: the item is unchanged.
    [again] = await run_batch(partial(handle_commands, pipeline), [cmd], spec=COMMANDS, num_delivered=2)
    assert again.outcome == "ack" and len(pub.sent) == 2
