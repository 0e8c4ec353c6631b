"""Settings validation and the mapping from creator.scraped to media items."""

from __future__ import annotations

import pytest
from b9_common.events import CreatorScraped, IgMedia
from b9_common.settings import ConfigError, load_settings
from b9_media.handlers import items_of_creator
from b9_media.settings import Settings


def test_defaults_are_safe_and_store_is_local() -> None:
    s = load_settings(Settings, {})
    assert s.media_store_url.startswith("file:///") and s.media_store_url.endswith("/.b9/media")
    assert not s.media_allow_http and not s.media_allow_private_addresses
    assert s.allowed_hosts() == ("*.cdninstagram.com", "*.fbcdn.net")


@pytest.mark.parametrize(("env", "var"), [
    ({"MEDIA_STORE_URL": "ftp://x"}, "MEDIA_STORE_URL"),
    ({"MEDIA_STORE_URL": "file://relative"}, "MEDIA_STORE_URL"),
    ({"MEDIA_ALLOWED_NETWORKS": "not-a-cidr"}, "MEDIA_ALLOWED_NETWORKS"),
    ({"MEDIA_MAX_IMAGE_BYTES": "0"}, "MEDIA_MAX_IMAGE_BYTES"),
    ({"MEDIA_MAX_IMAGE_BYTES": "lots"}, "MEDIA_MAX_IMAGE_BYTES"),
    ({"MEDIA_IMAGE_FORMAT": "gif"}, "MEDIA_IMAGE_FORMAT"),
    ({"S3_ENDPOINT_URL": "minio:9000"}, "S3_ENDPOINT_URL"),
])
def test_bad_values_name_the_variable(env: dict[str, str], var: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_settings(Settings, env)
    assert exc.value.variable == var


def test_creator_items_cover_profile_reels_and_carousels() -> None:
    c = CreatorScraped(
        ig_user_id="7", username="bob",
        profile_pic_url="https://scontent.cdninstagram.com/v/t51/123_456_n.jpg?stp=1&oh=abc",
        reels=[IgMedia(media_pk="r1", kind="reel", video_url="https://v.cdninstagram.com/r1.mp4",
                       thumbnail_url="https://s.cdninstagram.com/r1.jpg")],
        posts=[IgMedia(media_pk="p1", kind="post", post_type="carousel",
                       image_urls=["https://s.cdninstagram.com/a.jpg",
                                   "https://s.cdninstagram.com/b.jpg"])])
    got = [(i.kind, i.source_id, i.owner) for i in items_of_creator(c)]
    assert got == [("profile_picture", "profile:7:123_456_n.jpg", "7"), ("video", "r1:video", "7"),
                   ("thumbnail", "r1:thumbnail", "7"), ("photo", "p1:0", "7"),
                   ("photo", "p1:1", "7")]
