"""The rule-based classifier: keywords and phrases per tag, one precompiled regex.

Formula (deterministic, named ``rules-<taxonomy version>`` in results):

- text is lower-cased; a keyword matches as whole words (any non-alphanumeric run
  separates words) with an optional plural ``s``/``es``; one regex pass per field;
- the subreddit name is split at camelCase; a one-word name is also searched for
  keywords inside it (``brunetteass``): 4+ letter keywords anywhere, shorter ones only at
  its start or end;
- score per tag: name hit 3, title hit 2, each description/rules hit 1 (at most 4 per
  tag; rules scanned up to 1000 characters); a negation phrase (``no sellers``) vetoes its
  tag; a subreddit known to be SFW (over18 false) can only get the taxonomy's ``sfw_tags``;
- tags: the best-scoring tag (score >= 2; ties go to the higher-priority category, then to
  the earlier hit; the catch-all ``fallback_tag`` loses ties), plus a second tag from
  another category when it scores >= 2 and at
  least half the best (the original: "prefer 1 tag, 2 only if essential");
- confidence = best / (best + 2), at most 0.95; no tag -> confidence 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from b9_categorizer.content import CreatorInput, SubredditInput
from b9_categorizer.taxonomy import Taxonomy

_SEP = r"[^a-z0-9]+"
_TOKEN = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
W_NAME, W_TITLE, W_BODY, BODY_CAP = 3.0, 2.0, 1.0, 4.0
MIN_SCORE, SECOND_MIN = 2.0, 2.0
RULES_SCAN_CHARS = 1000
VETO = "!"


def norm_key(text: str) -> str:
    """A keyword (or matched text) as lower-case words joined by one space."""
    return " ".join(_TOKEN.findall(text.lower()))


def trie_pattern(words: list[str]) -> str:
    """A regex alternation factored by common prefixes (so each position tries few branches)."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [
            (_SEP if ch == " " else re.escape(ch)) + build(node[ch]) for ch in sorted(node) if ch
        ]
        if not alts:
            return ""
        group = "(?:" + "|".join(alts) + ")" if len(alts) > 1 or "" in node else alts[0]
        return group + "?" if "" in node else group

    return build(trie)


class Matcher:
    """One precompiled regex over every keyword; ``hits(lowered_text)`` -> tags in text order.

    A keyword is matched whole-word with an optional plural; the alternation is a prefix
    trie, so at a word start the longest keyword wins ("no sellers" before "sellers").
    """

    def __init__(self, keywords: dict[str, tuple[str, ...]], negations: dict[str, tuple[str, ...]]):
        self.lookup: dict[str, list[str]] = {}
        for table, prefix in ((negations, VETO), (keywords, "")):
            for tag, words in table.items():
                for w in words:
                    key = norm_key(w)
                    if key and prefix + tag not in self.lookup.get(key, ()):
                        self.lookup.setdefault(key, []).append(prefix + tag)
        body = trie_pattern(list(self.lookup)) or "(?!)"
        self.word_re = re.compile(rf"(?<![a-z0-9])({body})(?:e?s)?(?![a-z0-9])")
        # inside one-word names: long keywords anywhere, short ones at the edges
        flat: dict[str, list[str]] = {}
        for w, tags in self.lookup.items():
            if not tags[0].startswith(VETO):
                flat.setdefault(w.replace(" ", ""), []).extend(tags)
        self.flat = flat
        long_ = trie_pattern([w for w in flat if len(w) >= 4]) or "(?!)"
        short = trie_pattern([w for w in flat if len(w) < 4]) or "(?!)"
        self.compound_re = re.compile(rf"({long_})|^({short})|({short})$")

    def hits(self, text: str) -> list[str]:
        """Tags of the keywords in ``text`` (already lower-cased), one entry per occurrence."""
        out: list[str] = []
        lookup = self.lookup
        for m in self.word_re.findall(text):
            tags = lookup.get(m)
            if tags is None:
                tags = lookup.get(norm_key(m), [])
            out.extend(tags)
        return out

    def compound_hits(self, word: str) -> list[str]:
        out: list[str] = []
        for groups in self.compound_re.findall(word):
            for g in groups:
                if g:
                    out.extend(self.flat.get(g, ()))
        return out


@dataclass(slots=True)
class RuleResult:
    tags: list[str]
    primary_category: str | None
    confidence: float


class RuleClassifier:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.model = f"rules-{taxonomy.version}"
        self.matcher = Matcher(taxonomy.keywords, taxonomy.negations)
        self.visual = Matcher(taxonomy.visual_keywords, {})
        self._rank = taxonomy.rank

    def name_hits(self, name: str) -> list[str]:
        split = norm_key(name if name.islower() else _CAMEL.sub(" ", name))  # no capital, no camelCase
        hits = self.matcher.hits(split)
        if " " not in split:
            hits += self.matcher.compound_hits(split)
        return hits

    def classify(self, item: SubredditInput) -> RuleResult:
        scores: dict[str, float] = {}
        body: dict[str, float] = {}
        vetoed: set[str] = set()
        for tag in dict.fromkeys(self.name_hits(item.name)):
            scores[tag] = scores.get(tag, 0.0) + W_NAME
        for tag in dict.fromkeys(self.matcher.hits(item.title.lower())):
            scores[tag] = scores.get(tag, 0.0) + W_TITLE
        text = item.description
        if item.rules_text:
            text = f"{text}\n{item.rules_text[:RULES_SCAN_CHARS]}"
        for tag in self.matcher.hits(text.lower()):
            body[tag] = body.get(tag, 0.0) + W_BODY
        for tag, s in body.items():
            scores[tag] = scores.get(tag, 0.0) + min(s, BODY_CAP)
        for tag in [t for t in scores if t[0] == VETO]:
            vetoed.add(tag[1:])
            del scores[tag]
        if item.over18 is False:
            sfw = self.taxonomy.sfw_tags
            vetoed.update(t for t in scores if t not in sfw)
        return self._select(scores, vetoed)

    def _select(self, scores: dict[str, float], vetoed: set[str]) -> RuleResult:
        if not scores or max(scores.values()) < MIN_SCORE:  # nothing can win: skip the sort
            return RuleResult([], None, 0.0)
        rank, n, fallback = self._rank, len(self._rank), self.taxonomy.fallback_tag
        order = {t: i for i, t in enumerate(scores)}
        cands = sorted(
            (t for t in scores if t not in vetoed),
            key=lambda t: (-scores[t], t == fallback, rank.get(t.partition(":")[0], n), order[t]),
        )
        if not cands or scores[cands[0]] < MIN_SCORE:
            return RuleResult([], None, 0.0)
        top = cands[0]
        tags = [top]
        cat = top.partition(":")[0]
        for t in cands[1 : self.taxonomy.max_tags + 4]:
            if len(tags) >= self.taxonomy.max_tags:
                break
            if t.partition(":")[0] != cat and scores[t] >= max(SECOND_MIN, 0.5 * scores[top]):
                tags.append(t)
        best = scores[top]
        conf = round(min(0.95, best / (best + 2.0)), 3)
        return RuleResult(tags, self.taxonomy.primary_category(tags), conf)

    def classify_creator(self, item: CreatorInput) -> tuple[list[str], dict[str, float]]:
        """Text fallback for creators: bio hits weigh 2, each caption with a hit 1.

        Category confidence = 0.5 + 0.15 * weight (at most 0.95); only categories at or
        above the taxonomy's threshold (0.75) keep their tags; no visual defaults are
        guessed, since nothing was looked at.
        """
        weight: dict[str, float] = {}
        for tag in dict.fromkeys(self.visual.hits(item.biography.lower())):
            weight[tag] = weight.get(tag, 0.0) + 2.0
        for caption in item.captions:
            for tag in dict.fromkeys(self.visual.hits(caption.lower())):
                weight[tag] = weight.get(tag, 0.0) + 1.0
        conf: dict[str, float] = {}
        by_cat: dict[str, list[str]] = {}
        for tag in sorted(weight, key=lambda t: -weight[t]):
            cat = tag.partition(":")[0]
            conf[cat] = max(conf.get(cat, 0.0), round(min(0.95, 0.5 + 0.15 * weight[tag]), 3))
            by_cat.setdefault(cat, []).append(tag)
        tags: list[str] = []
        for c in self.taxonomy.visual:
            if conf.get(c.name, 0.0) >= self.taxonomy.confidence_threshold:
                tags += [
                    t
                    for t in by_cat[c.name]
                    if 0.5 + 0.15 * weight[t] >= self.taxonomy.confidence_threshold
                ][: c.max]
        return tags, conf
