"""The taxonomy: a versioned TOML data file (shipped default, or ``TAXONOMY_PATH``).

It holds the Reddit tags (``category:value``) with the category priority used for the
primary category, the keywords/negations of the rule-based classifier, and the Instagram
visual categories with their limits and the defaults of the confidence rule.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from b9_common.settings import ConfigError

DEFAULT_FILE = "taxonomy.toml"


@dataclass(frozen=True)
class VisualCategory:
    name: str
    values: tuple[str, ...]
    max: int
    default: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    version: str
    # digest of the file's bytes: an edit without a version bump still changes cache keys
    fingerprint: str
    priority: tuple[str, ...]
    max_tags: int
    tags: tuple[str, ...]
    keywords: dict[str, tuple[str, ...]]
    negations: dict[str, tuple[str, ...]]
    visual: tuple[VisualCategory, ...]
    visual_keywords: dict[str, tuple[str, ...]]
    sfw_tags: frozenset[str] = frozenset()
    fallback_tag: str = ""
    confidence_threshold: float = 0.75
    name: str = ""
    rank: dict[str, int] = field(default_factory=dict)

    def primary_category(self, tags: list[str]) -> str | None:
        """The category of highest priority among the tags' (the first one on a tie)."""
        rank = self.rank
        n = len(rank)
        best, best_rank = None, n + 1
        for t in tags:
            cat = t.partition(":")[0]
            r = rank.get(cat, n)
            if r < best_rank:
                best, best_rank = cat, r
        return best

    def visual_tags(self) -> list[str]:
        return [f"{c.name}:{v}" for c in self.visual for v in c.values]


def _tuple_map(
    raw: dict[str, object], where: str, allowed: set[str] | None
) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for tag, words in raw.items():
        if allowed is not None and tag not in allowed:
            raise ValueError(f"{where}: {tag!r} is not a tag of the taxonomy")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{where}.{tag}: must be a list of strings")
        out[tag] = tuple(w.lower() for w in words)
    return out


def parse_taxonomy(data: bytes) -> Taxonomy:
    """Build a Taxonomy from TOML bytes (ValueError naming the problem)."""
    doc = tomllib.loads(data.decode("utf-8"))
    version = str(doc.get("version", "")).strip()
    if not version:
        raise ValueError("missing `version`")
    reddit = doc.get("reddit", {})
    priority = tuple(reddit.get("priority", ()))
    tag_words = reddit.get("tags", {})
    tags = tuple(tag_words)
    if not tags:
        raise ValueError("no [reddit.tags]")
    for t in tags:
        cat, sep, val = t.partition(":")
        if not sep or not val or cat not in priority:
            raise ValueError(
                f"tag {t!r} must be 'category:value' with a category listed in reddit.priority"
            )
    allowed = set(tags)
    ig = doc.get("instagram", {})
    visual: list[VisualCategory] = []
    for name, spec in ig.get("categories", {}).items():
        values = tuple(spec.get("values", ()))
        default = spec.get("default")
        if not values or (default is not None and default not in values):
            raise ValueError(
                f"instagram.categories.{name}: needs values (and a default among them)"
            )
        visual.append(VisualCategory(name, values, int(spec.get("max", 1)), default))
    vis_allowed = {f"{c.name}:{v}" for c in visual for v in c.values}
    return Taxonomy(
        version=version,
        fingerprint=hashlib.blake2b(data, digest_size=8).hexdigest(),
        priority=priority,
        max_tags=int(reddit.get("max_tags", 2)),
        tags=tags,
        keywords=_tuple_map(tag_words, "reddit.tags", allowed),
        negations=_tuple_map(reddit.get("negations", {}), "reddit.negations", allowed),
        visual=tuple(visual),
        visual_keywords=_tuple_map(ig.get("keywords", {}), "instagram.keywords", vis_allowed),
        fallback_tag=str(reddit.get("fallback_tag", "")),
        sfw_tags=frozenset(t for t in reddit.get("sfw_tags", ()) if t in allowed),
        confidence_threshold=float(ig.get("confidence_threshold", 0.75)),
        name=str(doc.get("name", "")),
        rank={c: i for i, c in enumerate(priority)},
    )


def default_taxonomy_bytes() -> bytes:
    return resources.files("b9_categorizer").joinpath(DEFAULT_FILE).read_bytes()


def load_taxonomy(path: str = "") -> Taxonomy:
    """The file at ``path`` (TAXONOMY_PATH), else the packaged default. ConfigError if invalid."""
    try:
        data = Path(path).read_bytes() if path else default_taxonomy_bytes()
    except OSError as exc:
        raise ConfigError("TAXONOMY_PATH", f"cannot read {path!r}: {exc.strerror}") from None
    try:
        return parse_taxonomy(data)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            "TAXONOMY_PATH", f"invalid taxonomy {path or DEFAULT_FILE!r}: {exc}"
        ) from None
