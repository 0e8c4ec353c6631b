"""Profile and media parsing: built provider fixtures and the real 2017 samples, one struct."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import ig_fixtures as fx
import msgspec
import pytest
from b9_instagram_scraper.links import classify_url
from b9_instagram_scraper.media import CAPTION_MAX, hashtags, mentions, parse_media
from b9_instagram_scraper.profile import (
    Profile,
    ProfileShapeError,
    parse_profile,
    related_usernames,
)

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "instagram" / "legacy_2017"


def _legacy(name: str) -> dict:
    return json.loads((LEGACY / name).read_text())


def test_legacy_2017_profile_parses_into_the_profile_struct() -> None:
    p = parse_profile(_legacy("profile_a1_grossertim_envelope.json"))
    assert isinstance(p, Profile)
    assert (p.ig_user_id, p.username, p.full_name) == ("1948321393", "grossertim", "Tim Großmann")
    assert (p.followers_count, p.following_count, p.media_count) == (4472, 1116, 177)
    assert p.external_url == "https://youtube.com/channel/UC9_Bk9247GgJ3k9O7yxctFg"
    assert p.external_url_type == "youtube"
    assert p.biography.startswith("Computer Science Student")
    assert p.profile_pic_url and "s320x320" in p.profile_pic_url  # the HD picture preferred
    assert not p.is_private and not p.is_verified


def test_provider_profile_and_web_profile_info_give_the_same_struct() -> None:
    body = fx.profile("alice", "5550001", 100_000)
    flat = parse_profile(body)
    wrapped = parse_profile(
        {"data": {"user": {k: v for k, v in body.items() if k != "status"}}, "status": "ok"}
    )
    assert flat == wrapped
    assert (flat.followers_count, flat.following_count, flat.media_count) == (100_000, 321, 14)
    assert flat.external_url_type == "linktree" and flat.highlight_reel_count == 3
    assert [(b.url, b.link_type) for b in flat.bio_links] == [
        ("https://linktr.ee/alice", "linktree")
    ]
    assert flat.is_professional and flat.has_clips


def test_private_api_spelling() -> None:
    p = parse_profile(
        {
            "pk": 42,
            "username": "x",
            "follower_count": 10,
            "following_count": 2,
            "media_count": 3,
            "is_business": True,
            "hd_profile_pic_url_info": {"url": "https://cdn/x.jpg"},
        }
    )
    assert (p.ig_user_id, p.followers_count, p.following_count, p.media_count) == ("42", 10, 2, 3)
    assert p.is_business and p.profile_pic_url == "https://cdn/x.jpg"


def test_profile_without_user_is_rejected() -> None:
    with pytest.raises(ProfileShapeError):
        parse_profile({"status": True})
    with pytest.raises(ProfileShapeError):
        parse_profile([1, 2])


def test_legacy_graphql_node_parses_as_media() -> None:
    node = _legacy("graphql_profile_posts_grossertim_element1.json")
    m = parse_media(node, "post", 4472)
    assert m is not None
    assert (m.media_pk, m.shortcode, m.like_count, m.comment_count) == (
        "1648378574712314574",
        "BbgN5SJF5rO",
        299,
        11,
    )
    assert m.taken_at == datetime.fromtimestamp(1510722060, UTC)
    assert m.post_type == "image" and m.engagement_count == 310
    assert m.engagement_rate == pytest.approx(310 / 4472 * 100)
    assert "vegan" in m.hashtags and "burger" in m.hashtags and m.mentions == ["eatvegeway"]
    assert m.thumbnail_url and m.thumbnail_url.endswith("_n.jpg")


def test_legacy_2017_profile_node_and_post_page() -> None:
    old = parse_media(_legacy("profile_a1_grossertim_element1.json"), "post", 0)
    assert old is not None and (old.like_count, old.comment_count, old.shortcode) == (
        298,
        11,
        "BbgN5SJF5rO",
    )
    assert old.taken_at == datetime.fromtimestamp(1510722060, UTC) and old.engagement_rate == 0
    page = _legacy("post_page_a1_envelope.json")["graphql"]["shortcode_media"]
    m = parse_media(page, "post", 1000)
    assert m is not None and (m.like_count, m.comment_count) == (21427, 454)
    assert m.hashtags == ["traderjoes"] and (m.width, m.height) == (1080, 1080)
    assert m.shortcode == "BcQcdiXltba" and m.post_type == "image"


def test_reel_item_merges_parent_metrics_and_reads_urls() -> None:
    item = fx.alice()["reels"][0]
    m = parse_media(item, "reel", fx.ALICE_FOLLOWERS)
    assert m is not None
    assert (m.media_pk, m.play_count, m.like_count, m.comment_count) == (
        "310000",
        100_000,
        5_000,
        200,
    )
    assert (m.save_count, m.share_count) == (300, 100)  # from the parent item
    assert m.video_url and m.video_url.endswith("310000.mp4") and m.thumbnail_url
    assert m.post_type == "reel" and m.duration == 14.5 and m.image_urls == []
    assert m.hashtags == ["fitness", "gym"] and m.mentions == ["coach.anna"]
    assert m.engagement_rate == pytest.approx(5_200 / 100_000 * 100)


def test_post_types_carousel_and_caption_truncation() -> None:
    posts = [parse_media(i, "post", 100) for i in fx.alice()["posts"]]
    assert [p.post_type for p in posts if p] == [
        "image",
        "carousel",
        "video",
        "image",
        "carousel",
        "image",
        "image",
    ]
    carousel = posts[1]
    assert (
        carousel is not None
        and carousel.carousel_media_count == 3
        and len(carousel.image_urls) == 3
    )
    assert posts[0] is not None and len(posts[0].caption) == CAPTION_MAX
    assert posts[2] is not None and posts[2].view_count == 777 and posts[2].video_url


def test_hashtags_and_mentions() -> None:
    assert hashtags("#Vegan #vegan #café #a_b.") == ["vegan", "café", "a_b"]
    assert mentions("hi @Some.One. and @x_y, @some.one") == ["some.one", "x_y"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://onlyfans.com/abc", "onlyfans"),
        ("linktr.ee/abc", "linktree"),
        ("https://allmylinks.com/a", "allmylinks"),
        ("https://beacons.ai/a", "beacons"),
        ("https://bio.link/a", "biolink"),
        ("https://fansly.com/a", "fansly"),
        ("https://fans.ly/a", "fansly"),
        ("https://mym.fans/a", "mym"),
        ("https://www.patreon.com/a", "patreon"),
        ("https://cash.app/$a", "cashapp"),
        ("https://paypal.me/a", "paypal"),
        ("https://x.com/a", "twitter"),
        ("https://twitter.com/a", "twitter"),
        ("https://youtu.be/a", "youtube"),
        ("https://m.youtube.com/a", "youtube"),
        ("https://www.tiktok.com/@a", "tiktok"),
        ("https://snapchat.com/add/a", "snapchat"),
        ("https://t.me/a", "telegram"),
        ("https://discord.gg/a", "discord"),
        ("https://janedoe.com", "personal_site"),
        ("https://dropbox.com/x", "personal_site"),
        ("not a url", "other"),
        ("", None),
        (None, None),
    ],
)
def test_link_classification(url: str | None, kind: str | None) -> None:
    assert classify_url(url) == kind


def test_related_usernames() -> None:
    body = {
        "data": {
            "user": {
                "edge_related_profiles": {
                    "edges": [
                        {"node": {"username": "a"}},
                        {"node": {"username": "B"}},
                        {"node": {"username": "b"}},
                        {"node": {}},
                    ]
                }
            }
        }
    }
    assert related_usernames(body) == ["a", "B"]
    assert related_usernames({"data": {}}) == []


def test_oversized_event_keeps_every_item_and_fits() -> None:
    from b9_common.events import CreatorScraped
    from b9_instagram_scraper.scrape import MAX_EVENT_BYTES, fit_payload

    data = fx.bulk("carol", "5550003", 90, 30)
    items = [parse_media(i, "reel", 10) for i in data["reels"]]
    for m in items:
        assert m is not None
        m.caption = "é🙂" * 1000  # 2,000 characters, ~6 KB of JSON each
    event = CreatorScraped(ig_user_id="5550003", username="carol", reels=items * 2)  # type: ignore[arg-type]
    assert len(msgspec.json.encode(event)) > MAX_EVENT_BYTES
    fitted = fit_payload(event)
    assert len(msgspec.json.encode(fitted)) <= MAX_EVENT_BYTES and len(fitted.reels) == 180
