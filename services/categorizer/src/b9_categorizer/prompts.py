"""Prompts and structured-output schemas. Bump a PROMPT_VERSION when its text changes:
it is part of the cache key, so the next fetch or replay re-tags with the new prompt."""

from __future__ import annotations

from typing import Any

from b9_categorizer.content import CreatorInput, SubredditInput
from b9_categorizer.taxonomy import Taxonomy

SUBREDDIT_PROMPT_VERSION = "reddit-v1"
CREATOR_PROMPT_VERSION = "ig-v2.1"  # the original's unified tagging prompt v2.1

_SUB_SYSTEM = """You tag Reddit communities for a creator-marketing agency, using only the tags
of a fixed taxonomy (written category:value).
For EVERY subreddit in the user message return one result with its exact `name`, 1 or 2
tags and your confidence between 0 and 1.
- Prefer 1 tag; use 2 only if essential.
- Priority: niche and focus first, then body and demographics (body, ethnicity, age),
  then style. The primary category is the first of: {priority}.
- "No sellers" (or no OnlyFans/promotion) in the rules means NOT niche:sellers.
- Use niche:general only when nothing more specific fits.
Examples: r/gonewild -> ["niche:amateur"]; r/BustyPetite -> ["body:petite", "breasts:large"];
r/FitNakedGirls -> ["niche:fitness"]; r/Femdom -> ["style:femdom"].
Taxonomy:
{tags}"""

_IG_SYSTEM = """You tag an Instagram creator's visual appearance from a profile picture and recent
images, for a creator-marketing agency. For every category give the values that apply
(at most {limits}) and a confidence between 0 and 1 for the category. Only describe what
is visible; a category you cannot judge gets a low confidence. Categories and values:
{values}"""


def _tag_listing(taxonomy: Taxonomy) -> str:
    by_cat: dict[str, list[str]] = {}
    for t in taxonomy.tags:
        cat, _, val = t.partition(":")
        by_cat.setdefault(cat, []).append(val)
    return "\n".join(f"{c}: {', '.join(v)}" for c, v in by_cat.items())


def subreddit_system(taxonomy: Taxonomy) -> str:
    return _SUB_SYSTEM.format(priority=" > ".join(taxonomy.priority), tags=_tag_listing(taxonomy))


def subreddit_user(items: list[SubredditInput]) -> str:
    blocks = []
    for it in items:
        blocks.append(
            f"name: {it.name}\ntitle: {it.title or 'N/A'}\n"
            f"description: {it.description or 'N/A'}\nrules: {it.rules_text or 'N/A'}"
        )
    return f"Tag these {len(items)} subreddits:\n\n" + "\n---\n".join(blocks)


def subreddit_schema(taxonomy: Taxonomy) -> dict[str, Any]:
    """Structured output: tags are an enum of the taxonomy, so no other tag can come back."""
    item = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "tags", "confidence"],
        "properties": {
            "name": {"type": "string"},
            "tags": {
                "type": "array",
                "items": {"type": "string", "enum": list(taxonomy.tags)},
                "minItems": 1,
                "maxItems": taxonomy.max_tags,
            },
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": item}},
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "subreddit_tags", "strict": True, "schema": schema},
    }


def creator_system(taxonomy: Taxonomy) -> str:
    limits = ", ".join(f"{c.name} {c.max}" for c in taxonomy.visual)
    values = "\n".join(f"{c.name}: {', '.join(c.values)}" for c in taxonomy.visual)
    return _IG_SYSTEM.format(limits=limits, values=values)


def creator_user(item: CreatorInput) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [
        {
            "type": "text",
            "text": f"Creator @{item.username}. Bio: {item.biography or 'N/A'}. "
            f"The first image is the profile picture, the others are recent posts.",
        }
    ]
    for url in item.image_urls:
        parts.append({"type": "image_url", "image_url": {"url": url, "detail": "low"}})
    return parts


def creator_schema(taxonomy: Taxonomy) -> dict[str, Any]:
    cats = [c.name for c in taxonomy.visual]
    tags = {
        c.name: {
            "type": "array",
            "items": {"type": "string", "enum": list(c.values)},
            "maxItems": c.max,
        }
        for c in taxonomy.visual
    }
    conf = {c: {"type": "number", "minimum": 0, "maximum": 1} for c in cats}
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["tags", "confidence", "reasoning"],
        "properties": {
            "tags": {
                "type": "object",
                "additionalProperties": False,
                "required": cats,
                "properties": tags,
            },
            "confidence": {
                "type": "object",
                "additionalProperties": False,
                "required": cats,
                "properties": conf,
            },
            "reasoning": {"type": "string"},
        },
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "creator_tags", "strict": True, "schema": schema},
    }
