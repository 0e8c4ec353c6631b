"""Names and vocabulary of the synthetic data set (`b9 seed`)."""

from __future__ import annotations

from b9_common.events.reddit import ContentType

WORDS = ("fit", "gym", "yoga", "cosplay", "anime", "gamer", "petite", "curvy", "goth", "alt",
         "tattoo", "redhead", "blonde", "brunette", "asian", "latina", "ebony", "milf", "college",
         "beach", "hiking", "outdoor", "selfie", "feet", "legs", "booty", "thick", "slim", "pale",
         "tan", "nerd", "art", "music", "travel", "food", "pets", "cars", "photo", "style", "dance")
NOUNS = ("girls", "lovers", "hub", "club", "pics", "daily", "world", "zone", "nation", "life",
         "gw", "porn", "irl", "central", "posting", "fans", "spot", "heaven", "corner", "only")
TAGS = ("niche:fitness", "niche:cosplay", "niche:gaming", "niche:anime", "niche:yoga",
        "body:petite", "body:curvy", "body:thick", "style:goth", "style:alt", "hair:redhead",
        "hair:blonde", "ethnicity:asian", "ethnicity:latina", "age:college", "niche:general")
NICHES = ("fitness", "cosplay", "gaming", "yoga", "goth", "travel", "art", "dance")
CONTENT: tuple[ContentType, ...] = ("image", "image", "image", "video", "gallery", "text", "link")
RULES = (
    ("Verification required", "Verify with a handwritten sign before posting."),
    ("No selling", "No links to paid content, no prices, no promotion in titles."),
    ("OC only", "Post only content you made yourself."),
    ("Minimum karma", "Accounts need some karma before posting here."),
    ("Account age", "Accounts younger than a week are filtered."),
    ("One post a day", "At most one post per 24 hours."),
    ("Titles", "Describe the picture; no clickbait, no emoji-only titles."),
    ("No reposts", "Content posted here in the last month is removed."),
    ("Be respectful", "No harassment in the comments."),
    ("Tag NSFW", "Mark explicit content as NSFW."),
)


def subreddit_name(i: int) -> str:
    a, b, c = i % len(WORDS), (i // len(WORDS)) % len(NOUNS), i // (len(WORDS) * len(NOUNS))
    return f"{WORDS[a]}{NOUNS[b]}" + (str(c) if c else "")


def username(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]}_{NOUNS[(i // len(WORDS)) % len(NOUNS)]}{i // 800 or ''}"
