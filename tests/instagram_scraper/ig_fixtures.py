"""BUILT Instagram provider fixtures (not recorded responses).

No modern response may be committed under a licence that allows it (see
tests/fixtures/instagram/README.md), so these are built by hand from the shapes in
tests/fixtures/instagram/SHAPES.md and the field list of the original scraper: the provider's flat ``/profile`` body
(``status``, ``id``, ``edge_followed_by.count``, ``bio_links[{url,title}]``, ...), ``/reels``
items as ``{"media": {...private-API media...}, <parent metrics>}`` and ``/user-feeds`` items as
private-API media objects (``media_type`` 1/2/8, ``carousel_media[]``, ``image_versions2``).
Numbers are chosen so every analytics figure can be computed by hand (see test_ig_analytics.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

DAY = 86_400
# The fixed "now" of the analytics fixtures: 2025-06-30 12:00 UTC (a Monday).
NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
NEWEST = datetime(2025, 6, 28, 18, 0, tzinfo=UTC)  # Saturday 18:00, 1.75 days before NOW


def profile(
    username: str,
    ig_id: str,
    followers: int,
    *,
    private: bool = False,
    following: int = 321,
    media_count: int = 14,
    external_url: str | None = "https://linktr.ee/{u}",
    bio_links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The provider's ``/profile`` body (flat user object with ``status: true``)."""
    ext = external_url.format(u=username) if external_url else None
    return {
        "status": True,
        "id": ig_id,
        "fbid": f"1784{ig_id}",
        "eimu_id": f"1784{ig_id}9",
        "username": username,
        "full_name": username.title(),
        "biography": f"built fixture for {username} ✨",
        "external_url": ext,
        "bio_links": bio_links
        if bio_links is not None
        else (
            [
                {
                    "title": "links",
                    "lynx_url": "https://l.instagram.com/?u=x",
                    "url": ext,
                    "link_type": "external",
                }
            ]
            if ext
            else []
        ),
        "profile_pic_url": f"https://scontent.cdninstagram.com/v/built/{ig_id}_s150.jpg",
        "profile_pic_url_hd": f"https://scontent.cdninstagram.com/v/built/{ig_id}_s320.jpg",
        "is_verified": False,
        "is_private": private,
        "is_business_account": False,
        "is_professional_account": True,
        "has_clips": True,
        "has_guides": False,
        "has_channel": False,
        "has_onboarded_to_text_post_app": True,
        "highlight_reel_count": 3,
        "edge_followed_by": {"count": followers},
        "edge_follow": {"count": following},
        "edge_owner_to_timeline_media": {"count": media_count, "edges": []},
    }


def reel(
    pk: str,
    owner: str,
    views: int,
    likes: int,
    comments: int,
    saves: int,
    shares: int,
    taken_at: datetime,
    caption: str = "",
) -> dict[str, Any]:
    """A ``/reels`` item: the media object nested under ``media``; saves and shares sit at the
    parent level (the original merged nested media with parent-level metrics)."""
    return {
        "media": {
            "pk": pk,
            "id": f"{pk}_{owner}",
            "code": f"C{pk[-6:]}",
            "product_type": "clips",
            "media_type": 2,
            "taken_at": int(taken_at.timestamp()),
            "caption": {"text": caption},
            "play_count": views,
            "ig_play_count": views,
            "like_count": likes,
            "comment_count": comments,
            "has_audio": True,
            "video_duration": 14.5,
            "video_versions": [
                {"url": f"https://scontent.cdninstagram.com/v/built/{pk}.mp4", "width": 720}
            ],
            "image_versions2": {
                "candidates": [{"url": f"https://scontent.cdninstagram.com/v/built/{pk}.jpg"}]
            },
            "is_paid_partnership": False,
            "is_unified_video": False,
            "is_dash_eligible": 1,
            "number_of_qualities": 3,
            "has_shared_to_fb": 0,
        },
        "save_count": saves,
        "share_count": shares,
    }


def post(
    pk: str,
    owner: str,
    likes: int,
    comments: int,
    taken_at: datetime,
    *,
    media_type: int = 1,
    children: int = 0,
    caption: str = "",
) -> dict[str, Any]:
    """A ``/user-feeds`` item (private-API media object)."""
    item: dict[str, Any] = {
        "pk": pk,
        "id": f"{pk}_{owner}",
        "code": f"P{pk[-6:]}",
        "media_type": media_type,
        "product_type": "carousel_container" if media_type == 8 else "feed",
        "taken_at": int(taken_at.timestamp()),
        "caption": {"text": caption},
        "like_count": likes,
        "comment_count": comments,
        "comments_disabled": False,
        "original_width": 1080,
        "original_height": 1350,
        "accessibility_caption": "built",
        "image_versions2": {
            "candidates": [{"url": f"https://scontent.cdninstagram.com/v/built/{pk}.jpg"}]
        },
    }
    if media_type == 2:
        item["view_count"] = 777
        item["video_versions"] = [{"url": f"https://scontent.cdninstagram.com/v/built/{pk}.mp4"}]
    if media_type == 8:
        item["carousel_media"] = [
            {
                "media_type": 1 if i % 2 == 0 else 2,
                "image_versions2": {
                    "candidates": [
                        {"url": f"https://scontent.cdninstagram.com/v/built/{pk}_{i}.jpg"}
                    ]
                },
            }
            for i in range(children)
        ]
    return item


def _times() -> list[datetime]:
    """14 timestamps, newest first: every 2 days back from NEWEST, the oldest gap 3 days."""
    out = [NEWEST - timedelta(days=2 * i) for i in range(13)]
    out.append(out[-1] - timedelta(days=3))
    return out


ALICE_ID = "5550001"
ALICE_FOLLOWERS = 100_000
# (views, likes, comments, saves, shares)
ALICE_REELS = [
    (100_000, 5_000, 200, 300, 100),  # exactly 5 x the average of non-zero views (20,000)
    (4_000, 400, 20, 10, 0),
    (4_000, 300, 10, 0, 5),
    (4_000, 200, 0, 0, 0),
    (4_000, 100, 10, 10, 5),
    (4_000, 0, 0, 0, 0),
    (0, 0, 0, 0, 0),  # no views yet: skipped by the averages
]
# (likes, comments, media_type, children)
ALICE_POSTS = [
    (4_500, 500, 1, 0),  # engagement 5,000 = exactly 5 x the average non-zero engagement (1,000)
    (180, 20, 8, 3),
    (190, 10, 2, 0),
    (200, 0, 1, 0),
    (150, 50, 8, 2),
    (100, 100, 1, 0),
    (0, 0, 1, 0),
]


def alice() -> dict[str, Any]:
    times = _times()
    reels = [
        reel(
            f"31{i:04d}",
            ALICE_ID,
            *vals,
            taken_at=times[2 * i],
            caption=f"reel {i} #Fitness #gym @coach.anna. #fitness",
        )
        for i, vals in enumerate(ALICE_REELS)
    ]
    posts = [
        post(
            f"32{i:04d}",
            ALICE_ID,
            likes,
            comments,
            times[2 * i + 1],
            media_type=mt,
            children=ch,
            caption=f"post {i} #ootd" + " long" * (600 if i == 0 else 0),
        )
        for i, (likes, comments, mt, ch) in enumerate(ALICE_POSTS)
    ]
    return {"profile": profile("alice", ALICE_ID, ALICE_FOLLOWERS), "reels": reels, "posts": posts}


def bob() -> dict[str, Any]:
    """Reels at the views edge: 50,000 (viral) and 49,999 (not: under the minimum)."""
    views = [50_000, 49_999] + [1] * 9  # average 100,008 / 11 = 9,091.6; 5x = 45,458
    reels = [
        reel(f"41{i:04d}", "5550002", v, 10, 1, 0, 0, NEWEST - timedelta(hours=i))
        for i, v in enumerate(views)
    ]
    return {"profile": profile("bob", "5550002", 20_000), "reels": reels, "posts": []}


def bulk(username: str, ig_id: str, n_reels: int, n_posts: int) -> dict[str, Any]:
    reels = [
        reel(f"6{ig_id[-3:]}{i:04d}", ig_id, 1000 + i, 10, 1, 0, 0, NEWEST - timedelta(hours=i))
        for i in range(n_reels)
    ]
    posts = [
        post(f"7{ig_id[-3:]}{i:04d}", ig_id, 10, 1, NEWEST - timedelta(hours=i))
        for i in range(n_posts)
    ]
    return {"profile": profile(username, ig_id, 5_000), "reels": reels, "posts": posts}


def private(username: str, ig_id: str) -> dict[str, Any]:
    return {
        "profile": profile(
            username, ig_id, 1_234, private=True, external_url="https://onlyfans.com/{u}"
        ),
        "reels": [],
        "posts": [],
    }
