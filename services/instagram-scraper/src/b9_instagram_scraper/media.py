"""Media items (reels and posts) from provider pages -> ``IgMedia`` with per-item engagement.

Accepts the private-API media object the provider returns (``items[].media`` for reels,
merged with the parent item's metrics; plain ``items[]`` for feeds) and the GraphQL node
shape (``edge_media_preview_like``, ``taken_at_timestamp``, ...), so legacy nodes parse too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from b9_common.events import IgMedia
from b9_common.events.instagram import MediaKind, PostType

CAPTION_MAX = 2000
URL_MAX = 4096
_HASHTAG = re.compile(r"#(\w+)", re.UNICODE)
_MENTION = re.compile(r"@([A-Za-z0-9_.]+)")
_METRICS = (
    "play_count",
    "ig_play_count",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "save_count",
    "reshare_count",
)


def _uniq_lower(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        v = v.lower().rstrip(".")
        if v:
            seen.setdefault(v, None)
    return list(seen)


def hashtags(text: str) -> list[str]:
    """Hashtags without '#', lower case, first-seen order, once each."""
    return _uniq_lower(_HASHTAG.findall(text))


def mentions(text: str) -> list[str]:
    return _uniq_lower(_MENTION.findall(text))


def _int(value: Any) -> int:
    if isinstance(value, dict):
        value = value.get("count")
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _first_int(item: dict[str, Any], *keys: str) -> int:
    for k in keys:
        if item.get(k) is not None:
            return _int(item.get(k))
    return 0


def _url(value: Any) -> str | None:
    return value[:URL_MAX] if isinstance(value, str) and value else None


def _candidate(item: dict[str, Any]) -> str | None:
    iv = item.get("image_versions2")
    cands = iv.get("candidates") if isinstance(iv, dict) else None
    if isinstance(cands, list) and cands and isinstance(cands[0], dict):
        return _url(cands[0].get("url"))
    return _url(item.get("display_url") or item.get("thumbnail_src") or item.get("display_src"))


def _video(item: dict[str, Any]) -> str | None:
    vv = item.get("video_versions")
    if isinstance(vv, list) and vv and isinstance(vv[0], dict):
        return _url(vv[0].get("url"))
    return _url(item.get("video_url"))


def _caption(item: dict[str, Any]) -> str:
    cap = item.get("caption")
    if isinstance(cap, dict):
        return str(cap.get("text") or "")
    if isinstance(cap, str):
        return cap
    edges = (item.get("edge_media_to_caption") or {}).get("edges")
    if isinstance(edges, list) and edges:
        node = edges[0].get("node") if isinstance(edges[0], dict) else None
        if isinstance(node, dict):
            return str(node.get("text") or "")
    return ""


def _taken_at(item: dict[str, Any]) -> datetime | None:
    for key in ("taken_at", "taken_at_timestamp", "device_timestamp", "date"):
        ts = item.get(key)
        if isinstance(ts, int | float) and not isinstance(ts, bool) and ts > 0:
            while ts > 1e11:  # device_timestamp may be in ms or µs
                ts /= 1000
            return datetime.fromtimestamp(ts, UTC)
    return None


def merge_item(item: dict[str, Any]) -> dict[str, Any]:
    """``{"media": {...}, <metrics>}`` -> the media object, with parent metrics filling gaps."""
    media = item.get("media")
    if not isinstance(media, dict):
        node = item.get("node")
        return node if isinstance(node, dict) else item
    merged = dict(media)
    for key in _METRICS:
        if merged.get(key) is None and item.get(key) is not None:
            merged[key] = item[key]
    return merged


def _post_type(m: dict[str, Any], kind: MediaKind) -> PostType:
    if kind == "reel" or m.get("product_type") == "clips":
        return "reel"
    typename = str(m.get("__typename") or "").removeprefix("XDT")
    media_type = m.get("media_type")
    if media_type == 8 or typename == "GraphSidecar" or m.get("carousel_media"):
        return "carousel"
    if media_type == 2 or typename == "GraphVideo" or m.get("is_video") is True:
        return "video"
    return "image"


def _carousel_urls(m: dict[str, Any]) -> list[str]:
    urls: list[str] = []
    children = m.get("carousel_media")
    if isinstance(children, list):
        for child in children:
            if isinstance(child, dict):
                url = _candidate(child)
                if url:
                    urls.append(url)
    edges = (m.get("edge_sidecar_to_children") or {}).get("edges")
    if isinstance(edges, list):
        for e in edges:
            node = e.get("node") if isinstance(e, dict) else None
            url = _candidate(node) if isinstance(node, dict) else None
            if url:
                urls.append(url)
    return urls


def parse_media(item: dict[str, Any], kind: MediaKind, followers: int) -> IgMedia | None:
    """One item -> ``IgMedia`` (None when it has no id at all)."""
    m = merge_item(item)
    pk = m.get("pk") or m.get("id")
    if pk is None or pk == "":
        return None
    pk_s = str(pk).split("_")[0]
    caption = _caption(m)
    likes = _first_int(m, "like_count", "edge_media_preview_like", "edge_liked_by", "likes")
    comments = _first_int(
        m,
        "comment_count",
        "edge_media_to_comment",
        "edge_media_to_parent_comment",
        "edge_media_preview_comment",
        "comments",
    )
    plays = _first_int(m, "play_count", "ig_play_count", "video_play_count", "video_view_count")
    engagement = likes + comments
    post_type = _post_type(m, kind)
    thumb = _candidate(m)
    carousel = _carousel_urls(m)
    duration = m.get("video_duration") or m.get("media_duration")
    dims_raw = m.get("dimensions")
    dims: dict[str, Any] = dims_raw if isinstance(dims_raw, dict) else {}
    width = m.get("original_width") or dims.get("width")
    height = m.get("original_height") or dims.get("height")
    return IgMedia(
        media_pk=pk_s,
        kind=kind,
        media_id=str(m["id"]) if m.get("id") is not None else None,
        shortcode=m.get("code") or m.get("shortcode"),
        product_type=m.get("product_type"),
        post_type=post_type,
        taken_at=_taken_at(m),
        caption=caption[:CAPTION_MAX],
        hashtags=hashtags(caption),
        mentions=mentions(caption),
        play_count=plays,
        view_count=_first_int(m, "view_count", "video_view_count"),
        like_count=likes,
        comment_count=comments,
        share_count=_first_int(m, "share_count", "reshare_count"),
        save_count=_first_int(m, "save_count"),
        engagement_count=engagement,
        engagement_rate=engagement / followers * 100 if followers > 0 else 0.0,
        duration=float(duration) if isinstance(duration, int | float) and duration >= 0 else None,
        video_url=_video(m),
        thumbnail_url=thumb,
        image_urls=carousel or ([thumb] if thumb and post_type != "reel" else []),
        carousel_media_count=len(carousel) or _int(m.get("carousel_media_count")),
        width=int(width) if isinstance(width, int) and width >= 0 else None,
        height=int(height) if isinstance(height, int) and height >= 0 else None,
        is_paid_partnership=m.get("is_paid_partnership") is True,
    )
