"""Verification detection and keyword auto-review (the original's rules).

Auto-review is a *suggestion*: persistence applies it only when no review exists yet.
"""

from __future__ import annotations

from b9_common.events import SubredditFetched

VERIFICATION_WORDS = ("verification", "verified", "verify")
NON_RELATED = "Non Related"

# Keyword groups of the original (substring match on lowercased rules + description).
NON_RELATED_KEYWORDS: tuple[str, ...] = (
    # hentai / anime
    "hentai", "anime", "manga", "waifu", "cartoon porn", "rule34", "rule 34", "doujin", "ecchi",
    "futanari", "yaoi", "yuri", "lolicon", "shotacon",
    # extreme fetishes
    "scat", "gore", "vore", "guro", "necro", "bestiality", "zoophilia", "furry", "inflation fetish",
    "diaper", "abdl", "piss", "watersports",
    # "nudity required" phrasing (no selling; strict nudity-only boards)
    "nudity is required", "nudity required", "must be nude", "no clothes allowed",
    # careers / jobs
    "career advice", "job posting", "resume", "hiring", "job interview", "recruiter",
    # cooking / food
    "recipe", "cooking", "baking", "meal prep", "cuisine",
    # gaming discussion
    "gameplay", "video game", "gaming discussion", "esports", "speedrun", "patch notes",
    "playstation", "xbox", "nintendo", "steam deck",
    # politics / news
    "politics", "political", "election", "democrat", "republican", "congress", "senate",
    "legislation",
    # pet care
    "pet care", "veterinar", "dog training", "cat care", "aquarium", "reptile care",
    # academic / homework
    "homework", "academic", "thesis", "dissertation", "university course", "exam prep",
    "scientific paper", "peer review",
)


def text_of(sub: SubredditFetched) -> str:
    parts = [sub.description, sub.public_description, sub.submit_text]
    for r in sub.rules:
        parts += [r.short_name, r.description]
    return "\n".join(parts).lower()


def verification_required(sub: SubredditFetched) -> bool:
    text = text_of(sub)
    return any(w in text for w in VERIFICATION_WORDS)


def matched_keyword(sub: SubredditFetched) -> str | None:
    text = text_of(sub)
    return next((k for k in NON_RELATED_KEYWORDS if k in text), None)


def suggested_review(sub: SubredditFetched) -> str | None:
    """'Non Related' when a keyword matches, else None (left to a person)."""
    return NON_RELATED if matched_keyword(sub) is not None else None
