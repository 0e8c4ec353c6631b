"""A creator's reel that is also in their posts timeline is one item for the categorizer (#20.1):
its caption once, one image for it, so other posts' captions and images are not crowded out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from b9_categorizer.content import MAX_IMAGES, creator_images, creator_input
from b9_common.events import CreatorScraped, IgMedia

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _item(pk: str, kind: str, hours: int) -> IgMedia:
    return IgMedia(media_pk=pk, kind=kind, taken_at=T0 - timedelta(hours=hours),  # type: ignore[arg-type]
                   caption=f"caption {pk}", thumbnail_url=f"https://cdn.example/t/{pk}.jpg",
                   image_urls=[f"https://cdn.example/i/{pk}.jpg"] if kind == "post" else [])


def test_items_in_both_lists_count_once() -> None:
    reels = [_item(f"r{k}", "reel", k) for k in range(12)]  # the 12 newest items are reels
    posts = [msgspec.structs.replace(r, kind="post", image_urls=[f"https://cdn.example/i/{r.media_pk}.jpg"])
             for r in reels[:6]]  # 6 of them are in the timeline too
    posts += [_item(f"p{k}", "post", 100 + k) for k in range(6)]  # older plain posts
    c = CreatorScraped(ig_user_id="1", username="u", profile_pic_url="https://cdn.example/pp.jpg",
                       reels=reels, posts=posts)
    inp = creator_input(c)
    assert len(inp.captions) == len(set(inp.captions)) == 12
    assert inp.captions == [f"caption r{k}" for k in range(12)]
    images = creator_images(c)
    assert len(images) == 1 + MAX_IMAGES and len(set(images)) == len(images)
    # post images first (the shared items' post copies), never the same item's thumbnail too
    assert images[1:] == [f"https://cdn.example/i/r{k}.jpg" for k in range(MAX_IMAGES)]
