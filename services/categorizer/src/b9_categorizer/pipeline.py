"""The categorizer's work, independent of where the items came from.

Items (subreddits or creators) arrive with a *mark*: the delivery itself for SCRAPE events,
or one item of a ``categorize.requested`` command. Each item is deduplicated by key, hashed,
looked up in the cache (unchanged -> skip), tagged by the rules or the model, and its result
is published; marks record retry / reject / skip for what could not be published.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from b9_common.errors import PublishError, Retry
from b9_common.events import CreatorCategorized, Envelope, SubredditCategorized
from b9_common.events.derived import Method
from b9_common.events.envelope import now
from b9_common.jetstream.publisher import Publisher

from b9_categorizer.cache import ResultCache
from b9_categorizer.content import CreatorInput, SubredditInput, content_hash
from b9_categorizer.llm import Failed, OpenAITagger, Outcome, Tagged
from b9_categorizer.prompts import CREATOR_PROMPT_VERSION, SUBREDDIT_PROMPT_VERSION
from b9_categorizer.rules import RuleClassifier

log = logging.getLogger(__name__)


class Mark(Protocol):
    def retry(self, reason: str, delay: float | None = None) -> None: ...
    def reject(self, reason: str) -> None: ...
    def skip(self, reason: str = "unchanged") -> None: ...


@dataclass(slots=True)
class Work:
    """One item to categorize and the marks (deliveries or command items) waiting on it."""

    item: Any  # SubredditInput | CreatorInput
    marks: list[Mark]
    trace: str | None = None
    hash: str = ""


@dataclass
class Stats:
    published: int = 0
    unchanged: int = 0
    failed: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


def _dedupe(pairs: Sequence[tuple[Mark, Any, str | None]]) -> list[Work]:
    """Latest item per key; older copies of the same key in the batch are superseded."""
    works: dict[str, Work] = {}
    for mark, item, trace in pairs:
        w = works.get(item.key)
        if w is None:
            works[item.key] = Work(item, [mark], trace)
        else:
            w.item, w.trace = item, trace
            w.marks.append(mark)
    return list(works.values())


def event_id(kind: str, digest: str) -> str:
    """Deterministic id from the content hash (which covers the item's key), shaped as a
    UUID: re-publishing the same result is dropped by JetStream's duplicate window."""
    h = (
        digest
        if kind == "s"
        else hashlib.blake2b(f"{kind}:{digest}".encode(), digest_size=16).hexdigest()
    )
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class Pipeline:
    def __init__(
        self,
        rules: RuleClassifier,
        tagger: OpenAITagger | None,
        cache: ResultCache,
        publisher: Publisher,
    ) -> None:
        self.rules, self.tagger, self.cache, self.publisher = rules, tagger, cache, publisher
        self.taxonomy = rules.taxonomy
        self._tax_id = f"{self.taxonomy.version}/{self.taxonomy.fingerprint}"
        self.stats = Stats()

    # -- subreddits -----------------------------------------------------------------
    @property
    def subreddit_model(self) -> tuple[Method, str, str]:
        """(method, model, prompt version) of the subreddit path."""
        if self.tagger is not None:
            return "openai", self.tagger.model, SUBREDDIT_PROMPT_VERSION
        return "rules", self.rules.model, ""

    @property
    def creator_model(self) -> tuple[Method, str, str]:
        if self.tagger is not None and self.tagger.vision_model:
            return "openai", self.tagger.vision_model, CREATOR_PROMPT_VERSION
        return "rules", self.rules.model, ""

    async def _filter_unchanged(self, kind: str, works: list[Work], shared: bool) -> list[Work]:
        seen = await self.cache.unchanged(
            kind, [(w.item.key, w.hash) for w in works], shared=shared
        )
        todo = []
        for w, same in zip(works, seen, strict=True):
            if same:
                self.stats.unchanged += 1
                for m in w.marks:
                    m.skip("unchanged")
            else:
                todo.append(w)
        return todo

    async def subreddits(
        self, pairs: Sequence[tuple[Mark, SubredditInput, str | None]], *, force: bool = False
    ) -> None:
        method, model, prompt = self.subreddit_model
        works = _dedupe(pairs)
        for w in works:
            w.hash = content_hash(
                w.item.digest_parts(), taxonomy=self._tax_id, model=model, prompt=prompt
            )
        shared = method == "openai"
        if not force:
            works = await self._filter_unchanged("s", works, shared)
        if not works:
            return
        if self.tagger is not None:
            outcomes = await self.tagger.subreddits([w.item for w in works])
        else:
            outcomes = self._classify(works)
        tax = self.taxonomy
        envelope = self.publisher.envelope
        at = now()  # one timestamp per batch: results of one batch are made at the same time
        envs: list[Envelope[Any]] = []
        done: list[Work] = []
        for w in works:
            out = outcomes.get(w.item.key) or Failed(False, "no outcome")
            if isinstance(out, Failed):
                self._fail(w, out)
                continue
            payload = SubredditCategorized(
                name=w.item.name,
                tags=out.tags,
                primary_category=tax.primary_category(out.tags),
                confidence=out.confidence,
                taxonomy_version=tax.version,
                model=model,
                method=method,
                prompt_version=prompt,
                content_hash=w.hash,
                tokens_in=out.tokens_in,
                tokens_out=out.tokens_out,
                cost_usd=out.cost_usd,
            )
            envs.append(
                envelope(payload, trace=w.trace, occurred_at=at, id_=None if force else event_id("s", w.hash))
            )
            done.append(w)
        await self._publish(envs, done, "s", method, shared)

    def _classify(self, works: list[Work]) -> dict[str, Outcome]:
        classify = self.rules.classify
        outcomes: dict[str, Outcome] = {}
        for w in works:
            r = classify(w.item)
            outcomes[w.item.key] = Tagged(r.tags, r.confidence, 0, 0, 0.0)
        return outcomes

    # -- creators -------------------------------------------------------------------
    async def creators(
        self, pairs: Sequence[tuple[Mark, CreatorInput, str | None]], *, force: bool = False
    ) -> None:
        method, model, prompt = self.creator_model
        works = _dedupe(pairs)
        for w in works:
            w.hash = content_hash(
                w.item.digest_parts(), taxonomy=self._tax_id, model=model, prompt=prompt
            )
        shared = method == "openai"
        if not force:
            works = await self._filter_unchanged("c", works, shared)
        outcomes: dict[str, Outcome] = {}
        if method == "openai":
            assert self.tagger is not None
            tagger = self.tagger
            for w in works:
                if not w.item.image_urls:
                    outcomes[w.item.key] = Failed(
                        False, "no images to tag (no profile picture or posts)"
                    )
            todo = [w for w in works if w.item.key not in outcomes]
            results = await asyncio.gather(*(tagger.creator(w.item) for w in todo))
            outcomes.update((w.item.key, r) for w, r in zip(todo, results, strict=True))
        else:
            for w in works:
                tags, conf = self.rules.classify_creator(w.item)
                outcomes[w.item.key] = Tagged(tags, None, 0, 0, 0.0, conf)
        envs: list[Envelope[Any]] = []
        done: list[Work] = []
        for w in works:
            item: CreatorInput = w.item
            out = outcomes[item.key]
            if isinstance(out, Failed):
                self._fail(w, out)
                continue
            payload = CreatorCategorized(
                ig_user_id=item.key,
                username=item.username,
                tags=out.tags,
                confidence=out.per_category,
                taxonomy_version=self.taxonomy.version,
                model=model,
                method=method,
                prompt_version=prompt,
                content_hash=w.hash,
                tokens_in=out.tokens_in,
                tokens_out=out.tokens_out,
                cost_usd=out.cost_usd,
            )
            envs.append(
                self.publisher.envelope(
                    payload, trace=w.trace, id_=None if force else event_id("c", w.hash)
                )
            )
            done.append(w)
        await self._publish(envs, done, "c", method, shared)

    # -- shared ---------------------------------------------------------------------
    def _fail(self, w: Work, f: Failed) -> None:
        self.stats.failed += 1
        for m in w.marks:
            if f.retry:
                m.retry(f.reason, f.delay)
            else:
                m.reject(f.reason)

    async def _publish(
        self, envs: list[Envelope[Any]], done: list[Work], kind: str, method: str, shared: bool
    ) -> None:
        if not envs:
            return
        try:
            await self.publisher.publish_many(envs)
        except PublishError as exc:
            raise Retry(f"could not publish results: {exc}", 2.0) from exc
        self.stats.published += len(envs)
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + len(envs)
        try:
            await self.cache.remember(kind, [(w.item.key, w.hash) for w in done], shared=shared)
        except Exception as exc:  # results are out; worst case the item is tagged again later
            log.warning("could not update the categorizer cache: %s", exc)
