"""External-link and bio-link classification (the original's list of types).

The original matched substrings of the whole URL (so ``dropbox.com`` counted as ``twitter``
through ``x.com``). Here the *host* is matched against each type's domains, which gives the
same answer for real links without those false positives.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from b9_common.events import BioLink

# Order matters only where domains could overlap; first match wins.
LINK_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("onlyfans", ("onlyfans.com",)),
    ("linktree", ("linktr.ee", "linktree.com")),
    ("allmylinks", ("allmylinks.com", "all.my")),
    ("beacons", ("beacons.ai", "beacons.page")),
    ("biolink", ("bio.link",)),
    ("fansly", ("fansly.com", "fans.ly")),
    ("mym", ("mym.fans",)),
    ("patreon", ("patreon.com",)),
    ("cashapp", ("cash.app", "cashapp.com")),
    ("paypal", ("paypal.com", "paypal.me")),
    ("twitter", ("twitter.com", "x.com", "t.co")),
    ("youtube", ("youtube.com", "youtu.be")),
    ("tiktok", ("tiktok.com",)),
    ("snapchat", ("snapchat.com",)),
    ("telegram", ("t.me", "telegram.me", "telegram.org")),
    ("discord", ("discord.gg", "discord.com", "discordapp.com")),
)
ALL_TYPES = (*(t for t, _ in LINK_TYPES), "personal_site", "other")


def _host(url: str) -> str:
    raw = url.strip()
    if "://" not in raw:
        raw = f"https://{raw}"
    try:
        host = urlsplit(raw).hostname or ""
    except ValueError:
        return ""
    return host.lower().removeprefix("www.")


def classify_url(url: str | None) -> str | None:
    """The link type of ``url`` (one of ``ALL_TYPES``), or None for an empty URL."""
    if not url or not url.strip():
        return None
    host = _host(url)
    if not host:
        return "other"
    for link_type, domains in LINK_TYPES:
        if any(host == d or host.endswith(f".{d}") for d in domains):
            return link_type
    # A real domain that is none of the above: the creator's own site.
    if "." in host and not host.replace(".", "").isdigit():
        return "personal_site"
    return "other"


def parse_bio_links(raw: Any) -> list[BioLink]:
    """``bio_links[{url,title}]`` -> classified ``BioLink``s (entries without a URL dropped)."""
    out: list[BioLink] = []
    if not isinstance(raw, list):
        return out
    for item in raw:
        if not isinstance(item, dict):
            continue
        url = item.get("url") or item.get("lynx_url")
        if not isinstance(url, str) or not url.strip():
            continue
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        out.append(
            BioLink(url=url[:4096], title=title or "", link_type=classify_url(url) or "other")
        )
    return out
