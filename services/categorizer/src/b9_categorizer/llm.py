"""The OpenAI path: structured outputs over the official async client.

- subreddits go several per request (``OPENAI_BATCH_SIZE``), requests are bounded by a
  semaphore (``OPENAI_CONCURRENCY``);
- 429/5xx/timeouts are retried by the client itself (``OPENAI_MAX_RETRIES``, honouring
  ``retry-after``/``retry-after-ms``); if they persist the items come back as ``Failed(retry)``
  and the consumer naks them (DLQ after max deliveries, with the reason);
- an answer that is not valid JSON, or misses items, is asked again for the missing items
  (``OPENAI_ANSWER_RETRIES`` times), then those items fail permanently (-> DLQ).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
import openai
from b9_common.ops import tracing

from b9_categorizer.accounting import Pricing, split
from b9_categorizer.content import CreatorInput, SubredditInput
from b9_categorizer.prompts import (
    creator_schema,
    creator_system,
    creator_user,
    subreddit_schema,
    subreddit_system,
    subreddit_user,
)
from b9_categorizer.taxonomy import Taxonomy

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Tagged:
    tags: list[str]
    confidence: float | None
    tokens_in: int
    tokens_out: int
    cost_usd: float
    per_category: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Failed:
    retry: bool  # transient (nak) or permanent (DLQ)
    reason: str
    delay: float | None = None


Outcome = Tagged | Failed


class _SubResult(msgspec.Struct):
    name: str
    tags: list[str]
    confidence: float = 0.0


class _SubAnswer(msgspec.Struct):
    results: list[_SubResult]


class _IgAnswer(msgspec.Struct):
    tags: dict[str, list[str]]
    confidence: dict[str, float]
    reasoning: str = ""


def api_failure(exc: openai.OpenAIError) -> Failed:
    """What an error left after the client's own retries means for the items."""
    if isinstance(
        exc, (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)
    ):
        return Failed(
            True, f"openai {type(exc).__name__} (check OPENAI_API_KEY/OPENAI_MODEL)", 60.0
        )
    if isinstance(exc, (openai.BadRequestError, openai.UnprocessableEntityError)):
        return Failed(False, f"openai rejected the request: {exc}"[:500])
    delay = None
    if isinstance(exc, openai.APIStatusError):
        raw = exc.response.headers.get("retry-after")
        try:
            delay = float(raw) if raw else None
        except ValueError:
            delay = None
    return Failed(True, f"openai {type(exc).__name__}: {exc}"[:300], delay)


def apply_confidence_rule(
    taxonomy: Taxonomy, tags: dict[str, list[str]], confidence: dict[str, float]
) -> list[str]:
    """The original's rule: a category below the threshold gets its default, or nothing."""
    out: list[str] = []
    for c in taxonomy.visual:
        values = [v for v in dict.fromkeys(tags.get(c.name, ())) if v in c.values][: c.max]
        if confidence.get(c.name, 0.0) < taxonomy.confidence_threshold or not values:
            values = [c.default] if c.default else []
        out += [f"{c.name}:{v}" for v in values]
    return out


class OpenAITagger:
    def __init__(
        self,
        client: openai.AsyncOpenAI,
        taxonomy: Taxonomy,
        pricing: Pricing,
        *,
        model: str,
        vision_model: str = "",
        batch_size: int = 10,
        concurrency: int = 4,
        answer_retries: int = 2,
        max_tokens: int = 2000,
    ) -> None:
        self.client, self.taxonomy, self.pricing = client, taxonomy, pricing
        self.model, self.vision_model = model, vision_model
        self.batch_size, self.answer_retries, self.max_tokens = (
            batch_size,
            answer_retries,
            max_tokens,
        )
        self._sem = asyncio.Semaphore(concurrency)
        self._tagset = frozenset(taxonomy.tags)
        self._sub_system = subreddit_system(taxonomy)
        self._sub_format = subreddit_schema(taxonomy)
        self._ig_system = creator_system(taxonomy)
        self._ig_format = creator_schema(taxonomy)

    async def _complete(
        self, model: str, system: str, user: Any, response_format: dict[str, Any]
    ) -> tuple[str, int, int, str]:
        async with self._sem:
            create: Any = self.client.chat.completions.create
            with tracing.upstream_call("openai", "chat.completions", {"gen_ai.request.model": model}):
                resp = await create(
                    model=model,
                    response_format=response_format,
                    messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                    max_completion_tokens=self.max_tokens,
                )
        tin = resp.usage.prompt_tokens if resp.usage else 0
        tout = resp.usage.completion_tokens if resp.usage else 0
        self.pricing.record(model, tin, tout)
        choice = resp.choices[0] if resp.choices else None
        msg = choice.message if choice else None
        if msg is not None and getattr(msg, "refusal", None):
            return "", tin, tout, f"refused: {msg.refusal}"
        return (
            (msg.content or "") if msg else "",
            tin,
            tout,
            (choice.finish_reason if choice else "none"),
        )

    async def subreddits(self, items: list[SubredditInput]) -> dict[str, Outcome]:
        chunks = [items[i : i + self.batch_size] for i in range(0, len(items), self.batch_size)]
        out: dict[str, Outcome] = {}
        for part in await asyncio.gather(*(self._chunk(c) for c in chunks)):
            out.update(part)
        return out

    def _parse_subs(
        self, content: str, pending: dict[str, SubredditInput]
    ) -> tuple[dict[str, Any], str]:
        try:
            answer = msgspec.json.decode(content, type=_SubAnswer)
        except msgspec.DecodeError as exc:
            return {}, f"malformed answer: {exc}"
        got: dict[str, Any] = {}
        problem = ""
        for r in answer.results:
            key = r.name.strip().lower().removeprefix("r/")
            if key not in pending or key in got:
                continue
            tags = [t for t in dict.fromkeys(r.tags) if t in self._tagset][: self.taxonomy.max_tags]
            if not tags:
                problem = f"no valid tag for {r.name!r}"
                continue
            got[key] = (tags, min(1.0, max(0.0, r.confidence)))
        return got, problem

    async def _chunk(
        self, chunk: list[SubredditInput], attempts: int | None = None
    ) -> dict[str, Outcome]:
        """Tag one request's worth of items; a request that answers none of several items is
        split into one request per item (one bad item must not sink its neighbours)."""
        out: dict[str, Outcome] = {}
        pending = {it.key: it for it in chunk}
        carry_in = carry_out = 0
        problem = ""
        total = self.answer_retries + 1 if attempts is None else attempts
        for attempt in range(total):
            try:
                content, tin, tout, finish = await self._complete(
                    self.model,
                    self._sub_system,
                    subreddit_user(list(pending.values())),
                    self._sub_format,
                )
            except openai.OpenAIError as exc:
                self.pricing.unattributed(self.model, carry_in, carry_out)
                fail = api_failure(exc)
                return out | {k: fail for k in pending}
            tin, tout = tin + carry_in, tout + carry_out
            got, problem = (
                self._parse_subs(content, pending) if content else ({}, f"empty answer ({finish})")
            )
            if got:
                for (key, (tags, conf)), ti, to in zip(
                    got.items(), split(tin, len(got)), split(tout, len(got)), strict=True
                ):
                    out[key] = Tagged(tags, conf, ti, to, self.pricing.cost(self.model, ti, to))
                    del pending[key]
                carry_in = carry_out = 0
            else:
                carry_in, carry_out = tin, tout
                if len(pending) > 1 and attempt + 1 < total:
                    log.info("openai answer unusable for %d items, asking one by one", len(pending))
                    self.pricing.unattributed(self.model, carry_in, carry_out)
                    singles = await asyncio.gather(
                        *(self._chunk([it], total - attempt - 1) for it in pending.values())
                    )
                    for part in singles:
                        out |= part
                    return out
            if not pending:
                return out
            problem = (
                problem or f"answer missed {len(pending)} of the items (finish_reason={finish})"
            )
            log.info("openai answer incomplete, asking again: %s", problem)
        self.pricing.unattributed(self.model, carry_in, carry_out)
        reason = f"openai answer malformed after {self.answer_retries + 1} attempts: {problem}"
        return out | {k: Failed(False, reason[:500]) for k in pending}

    async def creator(self, item: CreatorInput) -> Outcome:
        model = self.vision_model
        carry_in = carry_out = 0
        problem = ""
        for _attempt in range(self.answer_retries + 1):
            try:
                content, tin, tout, finish = await self._complete(
                    model, self._ig_system, creator_user(item), self._ig_format
                )
            except openai.OpenAIError as exc:
                self.pricing.unattributed(model, carry_in, carry_out)
                return api_failure(exc)
            tin, tout = tin + carry_in, tout + carry_out
            try:
                ans = msgspec.json.decode(content, type=_IgAnswer)
            except msgspec.DecodeError as exc:
                carry_in, carry_out, problem = tin, tout, f"malformed answer ({finish}): {exc}"
                continue
            conf = {
                c.name: round(min(1.0, max(0.0, float(ans.confidence.get(c.name, 0.0)))), 3)
                for c in self.taxonomy.visual
            }
            tags = apply_confidence_rule(self.taxonomy, ans.tags, conf)
            return Tagged(tags, None, tin, tout, self.pricing.cost(model, tin, tout), conf)
        self.pricing.unattributed(model, carry_in, carry_out)
        return Failed(
            False,
            f"openai answer malformed after {self.answer_retries + 1} attempts: {problem}"[:500],
        )
