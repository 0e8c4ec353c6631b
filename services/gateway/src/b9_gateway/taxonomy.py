"""The Reddit tag taxonomy used to validate manual tag edits and serve /categorization/tags
(82 tags in 11 categories, ``category:value``; primary category by fixed category order).

Kept here because services never import each other; if the categorizer's taxonomy moves
to libs/common, this module should read it from there."""

from __future__ import annotations

TAXONOMY_VERSION = "reddit-v1"

CATEGORIES: dict[str, tuple[str, ...]] = {
    "niche": (
        "cosplay",
        "gaming",
        "anime",
        "fitness",
        "yoga",
        "outdoors",
        "bdsm",
        "amateur",
        "verified",
        "sellers",
        "cnc",
        "voyeur",
        "rating",
        "general",
    ),
    "focus": (
        "breasts",
        "ass",
        "pussy",
        "legs",
        "thighs",
        "feet",
        "face",
        "belly",
        "curves",
        "full_body",
    ),
    "body": (
        "petite",
        "slim",
        "athletic",
        "average",
        "curvy",
        "thick",
        "slim_thick",
        "bbw",
        "ssbbw",
    ),
    "ass": ("small", "bubble", "big", "jiggly"),
    "breasts": ("small", "medium", "large", "huge", "natural", "enhanced", "perky"),
    "age": ("college", "adult", "milf", "mature", "gilf"),
    "ethnicity": ("asian", "latina", "ebony", "white", "indian", "middle_eastern", "mixed"),
    "style": (
        "alt",
        "goth",
        "egirl",
        "tattooed",
        "pierced",
        "natural",
        "bimbo",
        "tomboy",
        "femdom",
        "submissive",
        "lingerie",
        "uniform",
    ),
    "hair": ("blonde", "redhead", "brunette", "colored"),
    "special": ("hairy", "flexible", "tall", "short", "breeding", "slutty", "clothed", "bent_over"),
    "content": ("oc", "professional"),
}
PRIMARY_ORDER = (
    "niche",
    "focus",
    "body",
    "ethnicity",
    "age",
    "style",
    "ass",
    "breasts",
    "special",
    "hair",
    "content",
)
ALL_TAGS: frozenset[str] = frozenset(f"{c}:{v}" for c, vals in CATEGORIES.items() for v in vals)
MAX_TAGS = 10


def unknown_tags(tags: list[str]) -> list[str]:
    return [t for t in tags if t not in ALL_TAGS]


def primary_category(tags: list[str]) -> str | None:
    cats = {t.split(":", 1)[0] for t in tags}
    return next((c for c in PRIMARY_ORDER if c in cats), None)


def normalize(tags: list[str]) -> list[str]:
    """Deduplicated, in taxonomy order."""
    seen = dict.fromkeys(t.strip().lower() for t in tags)
    order = {c: i for i, c in enumerate(PRIMARY_ORDER)}
    return sorted(seen, key=lambda t: (order.get(t.split(":", 1)[0], 99), t))
