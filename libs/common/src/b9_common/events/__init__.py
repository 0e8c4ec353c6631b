"""The event catalogue. Import payload types from here."""

from b9_common.events.catalogue import EVENTS, EventSpec, decoder_for, spec_for, spec_of
from b9_common.events.commands import (
    CategorizeItem,
    CategorizeRequested,
    InstagramScrapeRequested,
    MediaItem,
    MediaRequested,
    RedditScrapeRequested,
)
from b9_common.events.derived import (
    CreatorCategorized,
    MediaFailed,
    MediaStored,
    SubredditCategorized,
)
from b9_common.events.envelope import Envelope, encode, make_envelope, new_id, now
from b9_common.events.instagram import (
    BioLink,
    CreatorAnalytics,
    CreatorDiscovered,
    CreatorScraped,
    FollowerGrowth,
    IgMedia,
    RelatedProcessed,
)
from b9_common.events.ops import ScrapeAttempted
from b9_common.events.reddit import (
    PostingRequirements,
    PostsFetched,
    RedditPost,
    SubredditDiscovered,
    SubredditFetched,
    SubredditMetrics,
    SubredditRule,
    UserFetched,
)

__all__ = [
    "EVENTS",
    "BioLink",
    "CategorizeItem",
    "CategorizeRequested",
    "CreatorAnalytics",
    "CreatorCategorized",
    "CreatorDiscovered",
    "CreatorScraped",
    "Envelope",
    "EventSpec",
    "FollowerGrowth",
    "IgMedia",
    "InstagramScrapeRequested",
    "MediaFailed",
    "MediaItem",
    "MediaRequested",
    "MediaStored",
    "PostingRequirements",
    "PostsFetched",
    "RedditPost",
    "RedditScrapeRequested",
    "RelatedProcessed",
    "ScrapeAttempted",
    "SubredditCategorized",
    "SubredditDiscovered",
    "SubredditFetched",
    "SubredditMetrics",
    "SubredditRule",
    "UserFetched",
    "decoder_for",
    "encode",
    "make_envelope",
    "new_id",
    "now",
    "spec_for",
    "spec_of",
]
